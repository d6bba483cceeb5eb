// The sleeping and the spinning lock, struct mutex (kernel/locking/mutex.c)
// and spinlock_t (kernel/locking/spinlock.c), on one core: a lockdep class,
// an owner and a queue of waiters. Taking either is a scheduling point (the
// kernel may be preempted, or another CPU take the lock, there); a contended
// one waits on its queue until released. They differ in what the holder may
// do: a mutex holder may sleep, a spinlock holder is atomic (spin_lock_irqsave
// counts the same).
//   deadlock            a task takes a lock it already holds
//   bad-unlock-balance  a task releases a lock it does not hold
// (lock-order-inversion is lockdep's, sim/lockdep.h; sleep-in-atomic
// might_sleep's, sim/wait_queue.h.)
#pragma once

#include <cstdint>

#include "sim/scheduler.h"
#include "sim/shared.h"
#include "sim/task.h"
#include "sim/wait_queue.h"

namespace xfsim::sim {

class LockCore {
 public:
  bool is_locked() const { return owner_.read() != kNoTask; }
  TaskId owner() const { return owner_.read(); }

 protected:
  enum class Kind : uint8_t { kMutex, kSpin };
  LockCore(Scheduler& scheduler, const char* lock_class, Kind kind);
  ~LockCore() = default;
  Task<> acquire(const char* site);
  void release();

 private:
  Scheduler& scheduler_;
  uint32_t class_id_;
  Kind kind_;
  WaitQueue queue_;
  Shared<TaskId> owner_;  // what queue_ announces: one resource
};

class Mutex final : public LockCore {
 public:
  Mutex(Scheduler& scheduler, const char* lock_class) : LockCore(scheduler, lock_class, Kind::kMutex) {}
  Task<> lock(const char* site) { return acquire(site); }  // mutex_lock: may sleep
  void unlock() { release(); }
};

// A contended spinlock spins: the task waits without sleeping, which is not a
// sleep-in-atomic.
class SpinLock final : public LockCore {
 public:
  SpinLock(Scheduler& scheduler, const char* lock_class) : LockCore(scheduler, lock_class, Kind::kSpin) {}
  Task<> lock(const char* site) { return acquire(site); }  // spin_lock / spin_lock_irqsave
  void unlock() { release(); }                             // spin_unlock / spin_unlock_irqrestore
};

}  // namespace xfsim::sim
