// Blocking primitives the fakes and the driver model build on, named after the
// kernel's: wait_queue_head (WaitQueue), struct completion, struct mutex,
// spinlock_t. Every acquire is a scheduling point (the kernel may be preempted
// or race with another CPU there) and every lock has a lockdep class:
//   lock-order-inversion  two classes taken in both orders (possibly by
//                         different tasks at different times, as lockdep does)
//   sleep-in-atomic       a sleeping primitive used with a spinlock held or
//                         from IRQ context
//   deadlock              reported by the scheduler when every task is blocked
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/scheduler.h"
#include "sim/task.h"

namespace xfsim::sim {

inline constexpr ViolationKind kLockOrderInversion{
    "lock-order-inversion", "two lock classes are taken in both orders (lockdep)", ReportTitle::kCircularLocking};
inline constexpr ViolationKind kBadUnlockBalance{
    "bad-unlock-balance", "a lock is released by a task that does not hold it (lockdep)", ReportTitle::kBadUnlock};
inline constexpr ViolationKind kSleepInAtomic{
    "sleep-in-atomic", "a sleeping primitive is used with a spinlock held or from an IRQ handler",
    ReportTitle::kSleepInAtomic};
// Every kind the engine declares, for `xfsim oracles`.
inline constexpr const ViolationKind* kEngineOracles[] = {&kDeadlock, &kLockHeldAtExit, &kLockOrderInversion,
                                                          &kBadUnlockBalance, &kSleepInAtomic};

class WaitQueue {
 public:
  WaitQueue(Scheduler& scheduler, const char* name)
      : scheduler_(&scheduler), name_(name), resource_(scheduler.new_resource()) {}

  // wait_event-like: the caller re-checks its condition in a loop.
  Scheduler::BlockAwaiter wait(const char* site, int64_t timeout_ms = -1) {
    touch();
    return scheduler_->block_on(*this, site, timeout_ms);
  }
  // The queue, and the state whose changes it announces, as one resource of
  // a step's footprint (sim/footprint.h).
  void touch() const { scheduler_->touch(resource_); }
  void wake_one();
  void wake_all();
  bool empty() const { return waiters_.empty(); }
  Scheduler& scheduler() const { return *scheduler_; }
  const char* name() const { return name_; }

 private:
  friend class Scheduler;
  void add(TaskId task) { waiters_.push_back(task); }
  void remove(TaskId task);

  Scheduler* scheduler_;
  const char* name_;
  uint32_t resource_;
  std::vector<TaskId> waiters_;  // FIFO
};

// struct completion: complete() wakes one waiter, complete_all() all of them
// and leaves the completion done for later waiters too.
class Completion {
 public:
  Completion(Scheduler& scheduler, const char* name) : queue_(scheduler, name) {}
  void complete();
  void complete_all();
  void reinit() { done_ = 0; }
  // wait_for_completion_timeout: true if completed, false on timeout.
  Task<bool> wait_for_completion_timeout(const char* site, int64_t timeout_ms);
  bool done() const { return done_ > 0; }

 private:
  WaitQueue queue_;
  uint32_t done_ = 0;
  static constexpr uint32_t kCompleteAll = 0x7fffffff;
};

// Lock classes and the dependency graph between them (lockdep). A class is
// named by a string literal (the kernel keys it by a static lock_class_key);
// two locks with the same name are one class.
class Lockdep {
 public:
  explicit Lockdep(Scheduler& scheduler) : scheduler_(scheduler), resource_(scheduler.new_resource()) {}
  uint32_t class_id(const char* name);
  // Checks held → acquired edges before `task` takes `lock_class`.
  void before_acquire(TaskId task, uint32_t lock_class, const char* site);
  void acquired(TaskId task, uint32_t lock_class);
  void released(TaskId task, uint32_t lock_class);

 private:
  static constexpr size_t kMaxClasses = 64;    // reach_ is one 64-bit set per class
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
  bool reachable(uint32_t from, uint32_t to) const;
  void add_edge(uint32_t from, uint32_t to);
  // The recorded edges of a path from `from` to `to`, as report lines.
  std::vector<std::string> chain(uint32_t from, uint32_t to) const;
  HeldStack& held(TaskId task);
  Scheduler& scheduler_;
  uint32_t resource_;                    // the class graph, in step footprints
  std::vector<const char*> names_;       // by class id
  std::vector<uint64_t> reach_;          // class → bitset of classes ever taken after it (transitively)
  std::vector<HeldStack> held_by_task_;  // by TaskId; acquisition order
  std::vector<Edge> edges_;
};

class Mutex {
 public:
  Mutex(Scheduler& scheduler, const char* lock_class);
  Task<> lock(const char* site);  // mutex_lock: may sleep
  void unlock();
  bool is_locked() const { return owner_ != kNoTask; }
  TaskId owner() const { return owner_; }

 private:
  Scheduler& scheduler_;
  uint32_t class_id_;
  TaskId owner_ = kNoTask;
  WaitQueue queue_;
};

// spinlock_t. spin_lock_irqsave also counts: the holder is atomic (may not
// sleep). A contended spinlock spins (the task waits without sleeping, which
// is not a sleep-in-atomic). Alike Mutex in shape, a class of its own as in
// the kernel: the lines that differ (might_sleep, atomic) are the point.
class SpinLock {
 public:
  SpinLock(Scheduler& scheduler, const char* lock_class);
  Task<> lock(const char* site);  // spin_lock / spin_lock_irqsave
  void unlock();                  // spin_unlock / spin_unlock_irqrestore
  bool is_locked() const { return owner_ != kNoTask; }
  TaskId owner() const { return owner_; }

 private:
  Scheduler& scheduler_;
  uint32_t class_id_;
  TaskId owner_ = kNoTask;
  WaitQueue queue_;
};

// Reported when a sleeping primitive is used in atomic context.
void might_sleep(Scheduler& scheduler, const char* site);

}  // namespace xfsim::sim
