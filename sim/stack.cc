#include "sim/stack.h"

#include <algorithm>

namespace xfsim::sim {

StackDepot& StackDepot::instance() {
  thread_local StackDepot depot;
  return depot;
}

StackId StackDepot::save(const ShadowStack& stack) {
  if (stack.depth == 0) return kNoStack;
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (uint32_t i = 0; i < stack.depth; ++i) {
    hash = (hash ^ reinterpret_cast<uintptr_t>(stack.frames[i])) * 0x100000001b3ULL;
  }
  auto [first, last] = by_hash_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    const Entry& entry = entries_[it->second];
    if (entry.depth == stack.depth &&
        std::equal(stack.frames, stack.frames + stack.depth, frames_.begin() + entry.first)) {
      return it->second;
    }
  }
  XFSIM_ASSERT(entries_.size() < (1u << 24), "stack depot full: {} distinct stacks", entries_.size());
  const auto id = static_cast<StackId>(entries_.size());
  entries_.push_back(Entry{static_cast<uint32_t>(frames_.size()), stack.depth});
  frames_.insert(frames_.end(), stack.frames, stack.frames + stack.depth);
  by_hash_.emplace(hash, id);
  return id;
}

std::vector<std::string> StackDepot::frames(StackId id) const {
  XFSIM_ASSERT(id < entries_.size(), "stack id {} of {}", id, entries_.size());
  const Entry& entry = entries_[id];
  std::vector<std::string> out;
  for (uint32_t i = entry.depth; i-- > 0;) out.emplace_back(frames_[entry.first + i]);
  return out;
}

const char* StackDepot::innermost(StackId id) const {
  XFSIM_ASSERT(id < entries_.size(), "stack id {} of {}", id, entries_.size());
  const Entry& entry = entries_[id];
  return entry.depth == 0 ? nullptr : frames_[entry.first + entry.depth - 1];
}

}  // namespace xfsim::sim
