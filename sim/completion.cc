#include "sim/completion.h"

#include "sim/wait.h"

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
  // The waiter takes the completion: every look at it is a write, even one
  // that finds it done for all.
  const auto completed = [this] { return done_.write() != 0; };
  if (co_await wait_event_timeout(queue_, completed, site, timeout_ms) == 0) co_return false;
  uint32_t& done = done_.write();
  if (done != kCompleteAll) --done;
  co_return true;
}

Task<> Completion::wait_for_completion(const char* site) {
  might_sleep(queue_.scheduler(), site);
  while (done_.write() == 0) co_await queue_.wait(site);
  uint32_t& done = done_.write();
  if (done != kCompleteAll) --done;
}

bool Completion::try_wait_for_completion() {
  uint32_t& done = done_.write();
  if (done == 0) return false;
  if (done != kCompleteAll) --done;
  return true;
}

}  // namespace xfsim::sim
