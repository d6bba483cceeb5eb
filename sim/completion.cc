#include "sim/completion.h"

#include "sim/wait.h"

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
  const auto completed = [this] {
    queue_.touch();  // done_
    return done_ != 0;
  };
  if (co_await wait_event_timeout(queue_, completed, site, timeout_ms) == 0) co_return false;
  if (done_ != kCompleteAll) --done_;
  co_return true;
}

}  // namespace xfsim::sim
