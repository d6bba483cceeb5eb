#include "sim/dfs_strategy.h"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

namespace xfsim::sim {

void DfsStrategy::begin_schedule(uint64_t) {
  depth_ = 0;
}

size_t DfsStrategy::choose(const Decision& decision) {
  const auto index_of = [&](TaskId task) {
    auto it = std::find(decision.runnable.begin(), decision.runnable.end(), task);
    return it == decision.runnable.end() ? decision.runnable.size()
                                         : static_cast<size_t>(it - decision.runnable.begin());
  };
  if (depth_ < frames_.size()) {
    // Re-executing the prefix: the world is deterministic, so the same
    // choice must be available again.
    const Frame& frame = frames_[depth_++];
    const size_t index = index_of(frame.order[frame.taken]);
    if (index == decision.runnable.size()) {
      error_ = fmt::format("dfs: nondeterminism at step {}: task {} no longer runnable",
                           decision.step, frame.order[frame.taken]);
      return 0;
    }
    return index;
  }
  Frame frame;
  frame.previous_runnable = decision.previous != kNoTask;
  if (frame.previous_runnable) frame.order.push_back(decision.previous);
  for (TaskId task : decision.runnable) {
    if (task != decision.previous) frame.order.push_back(task);
    if (!frame.previous_runnable && !branch_on_block_) break;  // the lowest goes; no branch
  }
  frame.preemptions_before =
      frames_.empty() || depth_ == 0
          ? 0
          : frames_[depth_ - 1].preemptions_before +
                (is_preemption(frames_[depth_ - 1], frames_[depth_ - 1].taken) ? 1 : 0);
  frames_.push_back(std::move(frame));
  ++depth_;
  return index_of(frames_.back().order[0]);
}

void DfsStrategy::end_schedule() {
  // Frames past the decisions this schedule made are stale (it ended early).
  frames_.resize(std::min(frames_.size(), depth_));
  while (!frames_.empty()) {
    Frame& frame = frames_.back();
    uint32_t next = frame.taken + 1;
    while (next < frame.order.size()) {
      const uint32_t preemptions = frame.preemptions_before + (is_preemption(frame, next) ? 1 : 0);
      if (preemptions <= bound_) break;
      ++next;
    }
    if (next < frame.order.size()) {
      frame.taken = next;
      return;
    }
    frames_.pop_back();
  }
  exhausted_ = true;
}

}  // namespace xfsim::sim
