#include "sim/completion.h"

namespace xfsim::sim {

void Completion::complete() {
  uint32_t& done = done_.write();
  if (done != kCompleteAll) ++done;
  queue_.wake_one();
}

void Completion::complete_all() {
  done_.write() = kCompleteAll;
  queue_.wake_all();
}

Task<bool> Completion::wait_for_completion_timeout(const char* site, int64_t timeout_ms) {
  auto& scheduler = queue_.scheduler();
  might_sleep(scheduler, site);
  const uint64_t deadline = scheduler.now_ms() + static_cast<uint64_t>(timeout_ms);
  // The waiter takes the completion: every look at it is a write, even one
  // that finds it done for all.
  while (done_.write() == 0) {
    const int64_t left = static_cast<int64_t>(deadline) - static_cast<int64_t>(scheduler.now_ms());
    if (left <= 0) co_return false;
    co_await queue_.wait(site, left);
  }
  uint32_t& done = done_.write();
  if (done != kCompleteAll) --done;
  co_return true;
}

}  // namespace xfsim::sim
