#include "sim/completion.h"

namespace xfsim::sim {

void Completion::complete() {
  queue_.touch();
  if (done_ != kCompleteAll) ++done_;
  queue_.wake_one();
}

void Completion::complete_all() {
  queue_.touch();
  done_ = kCompleteAll;
  queue_.wake_all();
}

Task<bool> Completion::wait_for_completion_timeout(const char* site, int64_t timeout_ms) {
  auto& scheduler = queue_.scheduler();
  might_sleep(scheduler, site);
  const uint64_t deadline = scheduler.now_ms() + static_cast<uint64_t>(timeout_ms);
  queue_.touch();
  while (done_ == 0) {
    const int64_t left = static_cast<int64_t>(deadline) - static_cast<int64_t>(scheduler.now_ms());
    if (left <= 0) co_return false;
    co_await queue_.wait(site, left);
    queue_.touch();
  }
  if (done_ != kCompleteAll) --done_;
  co_return true;
}

}  // namespace xfsim::sim
