// Work: struct work_struct on a workqueue (system_wq, system_unbound_wq):
// queue_work hands it to a kworker task at once; flush_work waits until the
// last queueing has run. DelayedWork: struct delayed_work on system_wq. A timer queues the work; a
// kworker task runs it. cancel() (cancel_delayed_work) stops a pending timer
// or a queued work that has not started; cancel_sync()
// (cancel_delayed_work_sync) also waits for a running one, so nothing of the
// work runs after it returns.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sim/scheduler.h"
#include "sim/shared.h"
#include "sim/wait_queue.h"

namespace xfsim::sim {

class DelayedWork {
 public:
  using Fn = std::function<Task<>()>;
  // keepalive=false for periodic work (a connector poll) that must not keep
  // a finished run going.
  DelayedWork(Scheduler& scheduler, std::string worker_name, Fn fn, bool keepalive = true);
  DelayedWork(const DelayedWork&) = delete;
  DelayedWork& operator=(const DelayedWork&) = delete;

  // schedule_delayed_work: false (and no change) if already pending.
  bool schedule(uint64_t delay_ms);
  // cancel_delayed_work: true if it was pending (armed or queued).
  bool cancel();
  Task<> cancel_sync(const char* site);
  bool pending() const { return timer_armed_ || queued_; }
  bool running() const { return running_; }

 private:
  Task<> run(uint64_t generation);

  Scheduler& scheduler_;
  std::string worker_name_;
  Fn fn_;
  bool keepalive_;
  bool timer_armed_ = false;
  bool queued_ = false;
  bool running_ = false;
  uint64_t generation_ = 0;  // which queueing a spawned worker belongs to
  Scheduler::TimerId timer_ = 0;
  WaitQueue done_;
};

class Work {
 public:
  using Fn = std::function<Task<>()>;
  Work(Scheduler& scheduler, std::string worker_name, Fn fn);
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;

  // queue_work / schedule_work: false (and no change) if already pending.
  bool queue();
  // flush_work: waits until the work queued before the call has finished.
  Task<> flush(const char* site);

 private:
  Task<> run();
  struct State {
    bool queued = false;
    bool running = false;
  };

  Scheduler& scheduler_;
  std::string worker_name_;
  Fn fn_;
  WaitQueue done_;
  Shared<State> state_;  // announced by done_: one resource
};

}  // namespace xfsim::sim
