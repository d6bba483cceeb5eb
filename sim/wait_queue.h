// WaitQueue: wait_queue_head_t, the tasks blocked on one condition, in FIFO
// order (kernel/sched/wait.c); and might_sleep(), the check every sleeping
// primitive makes first:
//   sleep-in-atomic  a sleeping primitive used with a spinlock held or from
//                    IRQ context
#pragma once

#include <cstdint>
#include <vector>

#include "sim/scheduler.h"
#include "sim/shared.h"
#include "sim/task.h"

namespace xfsim::sim {

inline constexpr ViolationKind kSleepInAtomic{
    "sleep-in-atomic", "a sleeping primitive is used with a spinlock held or from an IRQ handler",
    ReportTitle::kSleepInAtomic};
inline constexpr const ViolationKind* kMightSleepOracles[] = {&kSleepInAtomic};

class WaitQueue {
 public:
  WaitQueue(Scheduler& scheduler, const char* name) : scheduler_(&scheduler), name_(name), waiters_(scheduler) {}

  // wait_event-like: the caller re-checks its condition in a loop.
  Scheduler::BlockAwaiter wait(const char* site, int64_t timeout_ms = -1) {
    return scheduler_->block_on(*this, site, timeout_ms);
  }
  void wake_one();
  void wake_all();
  bool empty() const { return waiters_.read().empty(); }
  Scheduler& scheduler() const { return *scheduler_; }
  const char* name() const { return name_; }
  // The queue's resource in step footprints (sim/footprint.h), which the
  // state whose changes it announces shares (SharesResource).
  uint32_t resource() const { return waiters_.resource(); }

 private:
  friend class Scheduler;
  void add(TaskId task) { waiters_.write().push_back(task); }  // in the step that blocks
  void remove(TaskId task);

  Scheduler* scheduler_;
  const char* name_;
  Shared<std::vector<TaskId>> waiters_;  // FIFO
};

// Reported when a sleeping primitive is used in atomic context.
void might_sleep(Scheduler& scheduler, const char* site);

}  // namespace xfsim::sim
