// wait_event_timeout: the one loop that sleeps on a wait queue until a
// condition holds or a deadline of virtual time passes. Completions, drm_read
// and userspace's bounded waits (the hung-wait oracle) all wait through it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "sim/scheduler.h"
#include "sim/task.h"
#include "sim/wait_queue.h"

namespace xfsim::sim {

// Deadlines saturate: a bound near 2^63 ms waits "forever", never overflows;
// a bound of 0 or less is already over.
inline uint64_t deadline_after(uint64_t now_ms, int64_t bound_ms) {
  const uint64_t bound = bound_ms > 0 ? static_cast<uint64_t>(bound_ms) : 0;
  return bound > UINT64_MAX - now_ms ? UINT64_MAX : now_ms + bound;
}
inline int64_t ms_left(uint64_t deadline_ms, uint64_t now_ms) {
  return deadline_ms > now_ms ? static_cast<int64_t>(std::min<uint64_t>(deadline_ms - now_ms, INT64_MAX)) : 0;
}

// As the kernel's wait_event_timeout: `condition()` is checked first and after
// every wake-up; the result is 0 when it still fails once `timeout_ms` have
// passed, else the time that was left (at least 1). The loop adds nothing to
// a step's footprint beyond what WaitQueue::wait does: a condition whose
// reads belong in it touches them itself (as Completion's does).
template <typename Condition>
Task<int64_t> wait_event_timeout(WaitQueue& queue, Condition condition, const char* site, int64_t timeout_ms) {
  Scheduler& scheduler = queue.scheduler();
  const uint64_t deadline = deadline_after(scheduler.now_ms(), timeout_ms);
  while (!condition()) {
    const int64_t left = ms_left(deadline, scheduler.now_ms());
    if (left <= 0) co_return 0;
    co_await queue.wait(site, left);
  }
  co_return std::max<int64_t>(1, ms_left(deadline, scheduler.now_ms()));
}

}  // namespace xfsim::sim
