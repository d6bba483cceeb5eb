#include "sim/workqueue.h"

namespace xfsim::sim {

DelayedWork::DelayedWork(Scheduler& scheduler, std::string worker_name, Fn fn, bool keepalive)
    : scheduler_(scheduler),
      worker_name_(std::move(worker_name)),
      fn_(std::move(fn)),
      keepalive_(keepalive),
      done_(scheduler, "cancel_delayed_work_sync") {}

bool DelayedWork::schedule(uint64_t delay_ms) {
  if (pending()) return false;
  timer_armed_ = true;
  timer_ = scheduler_.add_timer(
      delay_ms,
      [this] {
        timer_armed_ = false;
        queued_ = true;
        scheduler_.spawn(worker_name_, TaskKind::kWorker, run(++generation_));
      },
      keepalive_);
  return true;
}

bool DelayedWork::cancel() {
  const bool was_pending = pending();
  if (timer_armed_) scheduler_.cancel_timer(timer_);
  timer_armed_ = false;
  queued_ = false;  // a worker spawned for it finds nothing to do
  return was_pending;
}

Task<> DelayedWork::cancel_sync(const char* site) {
  might_sleep(scheduler_, site);
  cancel();
  while (running_) co_await done_.wait(site);
}

Task<> DelayedWork::run(uint64_t generation) {
  // Queued again while an earlier run is still going: the workqueue runs one
  // instance of a work at a time, so this one waits its turn.
  while (running_) co_await done_.wait("worker_thread");
  if (!queued_ || generation != generation_) co_return;  // cancelled (or requeued) before it ran
  queued_ = false;
  running_ = true;
  co_await fn_();
  running_ = false;
  done_.wake_all();
}

Work::Work(Scheduler& scheduler, std::string worker_name, Fn fn)
    : scheduler_(scheduler),
      worker_name_(std::move(worker_name)),
      fn_(std::move(fn)),
      done_(scheduler, "flush_work"),
      state_(scheduler, SharesResource{done_.resource()}) {}

bool Work::queue() {
  State& state = state_.write();
  if (state.queued) return false;
  state.queued = true;
  scheduler_.spawn(worker_name_, TaskKind::kWorker, run());
  return true;
}

Task<> Work::flush(const char* site) {
  might_sleep(scheduler_, site);
  while (state_.read().queued || state_.read().running) co_await done_.wait(site);
}

Task<> Work::run() {
  // One instance of a work runs at a time: a queueing made while it runs
  // waits for the running one (process_one_work's collision check).
  while (state_.read().running) co_await done_.wait("worker_thread");
  State& state = state_.write();
  if (!state.queued) co_return;  // an earlier worker ran this queueing
  state.queued = false;
  state.running = true;
  co_await fn_();
  state_.write().running = false;
  done_.wake_all();
}

}  // namespace xfsim::sim
