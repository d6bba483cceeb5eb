#include "sim/lockdep.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "sim/assert.h"

namespace xfsim::sim {

uint32_t Lockdep::class_id(const char* name) {
  // A handful of classes per world: a linear search beats a map and allocates
  // nothing (names are literals; the pointer test usually settles it).
  for (uint32_t id = 0; id < names_.size(); ++id) {
    if (names_[id] == name || std::strcmp(names_[id], name) == 0) return id;
  }
  XFSIM_ASSERT(names_.size() < kMaxClasses, "lockdep: more than {} lock classes (class {})", kMaxClasses, name);
  names_.push_back(name);
  return static_cast<uint32_t>(names_.size() - 1);
}

Lockdep::HeldStack& Lockdep::held(TaskId task) {
  if (task >= held_by_task_.size()) held_by_task_.resize(task + 1);
  return held_by_task_[task];
}

bool Lockdep::reachable(const Graph& graph, uint32_t from, uint32_t to) {
  return from == to || (graph.reach[from] >> to) & 1;
}

void Lockdep::add_edge(Graph& graph, uint32_t from, uint32_t to) {
  if ((graph.reach[from] >> to) & 1) return;
  graph.edges.push_back(Edge{static_cast<uint8_t>(from), static_cast<uint8_t>(to), scheduler_.current(),
                             scheduler_.step(), scheduler_.save_stack()});
  // Transitive closure, kept up to date: whatever reaches `from` now also
  // reaches `to` and everything `to` reaches.
  const uint64_t gained = (uint64_t{1} << to) | graph.reach[to];
  for (uint32_t x = 0; x < names_.size(); ++x) {
    if (x == from || ((graph.reach[x] >> from) & 1)) graph.reach[x] |= gained;
  }
}

void Lockdep::before_acquire(TaskId task, uint32_t lock_class, const char* site) {
  const HeldStack& stack = held(task);
  if (stack.depth == 0) return;   // nothing held: no order to check or record
  Graph& graph = graph_.write();  // read, and extended below
  for (uint8_t i = 0; i < stack.depth; ++i) {
    const uint32_t held_class = stack.classes[i];
    if (held_class == lock_class) {
      scheduler_.report(kDeadlock, site,
                        fmt::format("{} takes {} recursively", scheduler_.task_name(task), names_[lock_class]),
                        fmt::format("{} recursively", names_[lock_class]));
      return;
    }
    if (reachable(graph, lock_class, held_class)) {
      // Both chains, as lockdep prints them: the order this task wants and
      // the one it contradicts, established earlier (maybe by another task).
      Violation v;
      v.kind = &kLockOrderInversion;
      v.site = site;
      v.detail =
          fmt::format("{} takes {} while holding {}, but {} was taken before {} elsewhere", scheduler_.task_name(task),
                      names_[lock_class], names_[held_class], names_[lock_class], names_[held_class]);
      v.signature_key = fmt::format("{} then {}", names_[held_class], names_[lock_class]);
      v.notes.push_back(fmt::format("{} is trying to acquire lock:\n  {}\nbut task is already holding lock:\n  {}",
                                    scheduler_.task_name(task), names_[lock_class], names_[held_class]));
      std::string existing = "which lock already depends on the new lock; the existing dependency chain is:";
      for (const std::string& line : chain(graph, lock_class, held_class)) existing += "\n" + line;
      v.notes.push_back(std::move(existing));
      scheduler_.report(std::move(v));
      return;
    }
  }
  for (uint8_t i = 0; i < stack.depth; ++i) add_edge(graph, stack.classes[i], lock_class);
}

std::vector<std::string> Lockdep::chain(const Graph& graph, uint32_t from, uint32_t to) const {
  // Breadth-first over the recorded edges: the shortest path, in edge order
  // (deterministic: edges are in the order they were made).
  std::vector<int> via(names_.size(), -1);  // class -> index of the edge that reached it
  std::vector<uint32_t> queue{from};
  std::vector<bool> seen(names_.size(), false);
  seen[from] = true;
  for (size_t head = 0; head < queue.size() && !seen[to]; ++head) {
    for (size_t e = 0; e < graph.edges.size(); ++e) {
      if (graph.edges[e].from != queue[head] || seen[graph.edges[e].to]) continue;
      seen[graph.edges[e].to] = true;
      via[graph.edges[e].to] = static_cast<int>(e);
      queue.push_back(graph.edges[e].to);
    }
  }
  std::vector<std::string> lines;
  for (uint32_t at = to; at != from && via[at] >= 0; at = graph.edges[static_cast<size_t>(via[at])].from) {
    const Edge& edge = graph.edges[static_cast<size_t>(via[at])];
    const StackRecord record = scheduler_.record_of(edge.task, edge.stack, edge.step, 0);
    std::string line = fmt::format("{} taken while holding {}, first by task {} at step {}:", names_[edge.to],
                                   names_[edge.from], record.task, edge.step);
    for (const auto& frame : record.frames) line += "\n       " + frame;
    lines.push_back(std::move(line));
  }
  std::reverse(lines.begin(), lines.end());
  for (size_t i = 0; i < lines.size(); ++i) lines[i] = fmt::format("-> #{} {}", i, lines[i]);
  if (lines.empty()) lines.push_back(fmt::format("  {} -> ... -> {}", names_[from], names_[to]));
  return lines;
}

void Lockdep::acquired(TaskId task, uint32_t lock_class) {
  HeldStack& stack = held(task);
  XFSIM_ASSERT(stack.depth < kMaxLockDepth, "lockdep: task {} holds more than {} locks", scheduler_.task_name(task),
               kMaxLockDepth);
  XFSIM_ASSERT(lock_class < names_.size());
  stack.classes[stack.depth++] = static_cast<uint8_t>(lock_class);
}

void Lockdep::released(TaskId task, uint32_t lock_class) {
  HeldStack& stack = held(task);
  // Locks need not be released in order: remove the innermost hold.
  for (int i = stack.depth - 1; i >= 0; --i) {
    if (stack.classes[i] == lock_class) {
      std::copy(stack.classes + i + 1, stack.classes + stack.depth, stack.classes + i);
      --stack.depth;
      return;
    }
  }
  XFSIM_ASSERT(false, "lockdep: {} releases {}, which it does not hold", scheduler_.task_name(task),
               names_[lock_class]);
}

}  // namespace xfsim::sim
