#include "sim/wait_queue.h"

#include <algorithm>

#include <fmt/format.h>

namespace xfsim::sim {

void WaitQueue::wake_one() {
  std::vector<TaskId>& waiters = waiters_.write();
  if (waiters.empty()) return;
  const TaskId task = waiters.front();
  waiters.erase(waiters.begin());
  scheduler_->wake_task(task);
}

void WaitQueue::wake_all() {
  std::vector<TaskId>& queued = waiters_.write();
  const std::vector<TaskId> waiters = std::move(queued);
  queued.clear();
  for (TaskId task : waiters) scheduler_->wake_task(task);
}

void WaitQueue::remove(TaskId task) {
  std::vector<TaskId>& waiters = waiters_.write();
  auto it = std::find(waiters.begin(), waiters.end(), task);
  if (it != waiters.end()) waiters.erase(it);
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
