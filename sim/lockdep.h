// Lockdep: lock classes and the dependency graph between them
// (kernel/locking/lockdep.c). Every acquire adds the edges "held -> acquired";
// as in the kernel, the graph is global across tasks and time:
//   lock-order-inversion  two classes taken in both orders (possibly by
//                         different tasks at different times)
//   deadlock              a task takes a class it already holds
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/scheduler.h"
#include "sim/shared.h"
#include "sim/stack.h"

namespace xfsim::sim {

inline constexpr ViolationKind kLockOrderInversion{
    "lock-order-inversion", "two lock classes are taken in both orders (lockdep)", ReportTitle::kCircularLocking};
inline constexpr ViolationKind kBadUnlockBalance{
    "bad-unlock-balance", "a lock is released by a task that does not hold it (lockdep)", ReportTitle::kBadUnlock};
inline constexpr const ViolationKind* kLockdepOracles[] = {&kLockOrderInversion, &kBadUnlockBalance};

// A class is named by a string literal (the kernel keys it by a static
// lock_class_key); two locks with the same name are one class.
class Lockdep {
 public:
  explicit Lockdep(Scheduler& scheduler) : scheduler_(scheduler), graph_(scheduler) {}
  uint32_t class_id(const char* name);
  // Checks held → acquired edges before `task` takes `lock_class`.
  void before_acquire(TaskId task, uint32_t lock_class, const char* site);
  void acquired(TaskId task, uint32_t lock_class);
  void released(TaskId task, uint32_t lock_class);

 private:
  static constexpr size_t kMaxClasses = 64;    // Graph::reach is one 64-bit set per class
  static constexpr size_t kMaxLockDepth = 16;  // locks one task holds at once
  struct HeldStack {
    uint8_t depth = 0;
    uint8_t classes[kMaxLockDepth];
  };
  // A dependency as lockdep records it: `to` was first taken while `from` was
  // held, by `task` at `step`, with this stack (printed when an inversion
  // closes a cycle through it). Only edges that added reachability are kept:
  // a handful per run.
  struct Edge {
    uint8_t from, to;
    TaskId task;
    uint64_t step;
    StackId stack;
  };
  // The dependencies lockdep records, and their transitive closure: what an
  // acquire with locks held reads and extends.
  struct Graph {
    std::array<uint64_t, kMaxClasses> reach{};  // class -> bitset of classes ever taken after it (transitively)
    std::vector<Edge> edges;
  };
  static bool reachable(const Graph& graph, uint32_t from, uint32_t to);
  void add_edge(Graph& graph, uint32_t from, uint32_t to);
  // The recorded edges of a path from `from` to `to`, as report lines.
  std::vector<std::string> chain(const Graph& graph, uint32_t from, uint32_t to) const;
  HeldStack& held(TaskId task);
  Scheduler& scheduler_;
  // Not in footprints: class names, registered when a lock is made (ids only
  // name classes inside the graph), and each task's own held stack.
  std::vector<const char*> names_;       // by class id
  std::vector<HeldStack> held_by_task_;  // by TaskId; acquisition order
  Shared<Graph> graph_;
};

}  // namespace xfsim::sim
