#include "sim/wait_queue.h"

#include <algorithm>

#include <fmt/format.h>

namespace xfsim::sim {

void WaitQueue::wake_one() {
  touch();
  if (waiters_.empty()) return;
  const TaskId task = waiters_.front();
  waiters_.erase(waiters_.begin());
  scheduler_->wake_task(task);
}

void WaitQueue::wake_all() {
  touch();
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (TaskId task : waiters) scheduler_->wake_task(task);
}

void WaitQueue::remove(TaskId task) {
  touch();
  auto it = std::find(waiters_.begin(), waiters_.end(), task);
  if (it != waiters_.end()) waiters_.erase(it);
}

void might_sleep(Scheduler& scheduler, const char* site) {
  if (scheduler.in_atomic()) {
    scheduler.report(kSleepInAtomic, site,
                     fmt::format("{} may sleep but {} is in atomic context ({})", site, scheduler.current_name(),
                                 scheduler.current_kind() == TaskKind::kIrq ? "IRQ handler" : "spinlock held"),
                     site);
  }
}

}  // namespace xfsim::sim
