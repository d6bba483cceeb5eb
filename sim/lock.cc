#include "sim/lock.h"

#include <string>

#include <fmt/format.h>

#include "sim/lockdep.h"

namespace xfsim::sim {

LockCore::LockCore(Scheduler& scheduler, const char* lock_class, Kind kind)
    : scheduler_(scheduler),
      class_id_(scheduler.lockdep().class_id(lock_class)),
      kind_(kind),
      queue_(scheduler, lock_class),
      owner_(scheduler, SharesResource{queue_.resource()}, kNoTask) {}

Task<> LockCore::acquire(const char* site) {
  const TaskId self = scheduler_.current();
  if (kind_ == Kind::kMutex) might_sleep(scheduler_, site);
  scheduler_.lockdep().before_acquire(self, class_id_, site);
  co_await scheduler_.point(site);
  // Looking at the owner is a write: the lock is taken, or waited for.
  while (owner_.write() != kNoTask) {
    if (owner_.write() == self) {
      scheduler_.report(kDeadlock, site,
                        fmt::format("{} {} {} it already holds", scheduler_.task_name(self),
                                    kind_ == Kind::kMutex ? "locks mutex" : "spins on", queue_.name()));
      co_await scheduler_.point(site);  // the run ends here
    }
    co_await queue_.wait(site);  // a mutex sleeps, a spinlock spins
  }
  owner_.write() = self;
  if (kind_ == Kind::kSpin) scheduler_.enter_atomic();
  scheduler_.lockdep().acquired(self, class_id_);
}

void LockCore::release() {
  const TaskId owner = owner_.read();
  if (owner != scheduler_.current()) {
    // lockdep's "bad unlock balance": the model releases a lock it does not hold.
    scheduler_.report(kBadUnlockBalance, kind_ == Kind::kMutex ? "mutex_unlock" : "spin_unlock",
                      fmt::format("{} releases {} held by {}", scheduler_.current_name(), queue_.name(),
                                  owner == kNoTask ? std::string("nobody") : scheduler_.task_name(owner)));
    return;
  }
  scheduler_.lockdep().released(owner, class_id_);
  if (kind_ == Kind::kSpin) scheduler_.exit_atomic();
  owner_.write() = kNoTask;
  queue_.wake_one();
}

}  // namespace xfsim::sim
