// Completion: struct completion (kernel/sched/completion.c). complete() wakes
// one waiter, complete_all() all of them and leaves the completion done for
// later waiters too, until reinit().
#pragma once

#include <cstdint>

#include "sim/shared.h"
#include "sim/task.h"
#include "sim/wait_queue.h"

namespace xfsim::sim {

class Completion {
 public:
  Completion(Scheduler& scheduler, const char* name)
      : queue_(scheduler, name), done_(scheduler, SharesResource{queue_.resource()}) {}
  void complete();
  void complete_all();
  void reinit() { done_.write() = 0; }
  // wait_for_completion_timeout: true if completed, false on timeout.
  Task<bool> wait_for_completion_timeout(const char* site, int64_t timeout_ms);
  // wait_for_completion (and _interruptible: the model sends no signals):
  // no bound, so a completion nobody completes is a deadlock.
  Task<> wait_for_completion(const char* site);
  bool done() const { return done_.read() > 0; }
  // try_wait_for_completion: takes one completion if there is one.
  bool try_wait_for_completion();

 private:
  WaitQueue queue_;
  Shared<uint32_t> done_;  // what queue_ announces: one resource
  static constexpr uint32_t kCompleteAll = 0x7fffffff;
};

}  // namespace xfsim::sim
