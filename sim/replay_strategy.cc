#include "sim/replay_strategy.h"

#include <algorithm>

#include <fmt/format.h>

namespace xfsim::sim {

namespace {
size_t non_preemptive(const Decision& decision) {
  auto it = std::find(decision.runnable.begin(), decision.runnable.end(), decision.previous);
  return it == decision.runnable.end() ? 0 : static_cast<size_t>(it - decision.runnable.begin());
}
}  // namespace

Choice ReplayStrategy::choose(const Decision& decision) {
  if (decision.step >= schedule_.size()) {
    return Choice::run(non_preemptive(decision));
  }
  const uint32_t wanted = schedule_[decision.step];
  auto it = std::find(decision.runnable.begin(), decision.runnable.end(), wanted);
  if (it == decision.runnable.end()) {
    if (mode_ == Mode::kLenient) return Choice::run(non_preemptive(decision));
    std::string runnable;
    for (TaskId task : decision.runnable) runnable += fmt::format("{}{}", runnable.empty() ? "" : ",", task);
    error_ = fmt::format("step {}: the schedule runs task {}, which is not runnable (runnable: {})", decision.step,
                         wanted, runnable);
    return Choice::diverged();
  }
  return Choice::run(static_cast<size_t>(it - decision.runnable.begin()));
}

}  // namespace xfsim::sim
