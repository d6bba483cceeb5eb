// ReplayStrategy: follows a recorded schedule (the task chosen at each step).
// A recorded task that is not runnable when its step comes makes the schedule
// impossible for this scenario: the strategy stops and says where.
#pragma once

#include <string>
#include <vector>

#include "sim/strategy.h"

namespace xfsim::sim {

class ReplayStrategy final : public Strategy {
 public:
  // `schedule[i]` is the task that ran step i (every step, including the ones
  // with a single runnable task, as written in a trace).
  // Strict replay (traces) stops at the first step that does not fit.
  // Lenient replay (minimisation) takes the previous task, else the lowest
  // runnable one, where the schedule does not fit, and goes on.
  enum class Mode { kStrict, kLenient };
  explicit ReplayStrategy(std::vector<uint32_t> schedule, Mode mode = Mode::kStrict)
      : schedule_(std::move(schedule)), mode_(mode) {}
  Choice choose(const Decision& decision) override;
  std::string divergence() const override { return error_; }
  const char* name() const override { return "replay"; }
  StrategyNeeds needs() const override { return {.every_step = true}; }
  // After the schedule runs out, the previous task goes on if it can, else the
  // lowest runnable one (no preemption): a shortened schedule stays
  // replayable, which is what minimisation relies on.

 private:
  std::vector<uint32_t> schedule_;
  Mode mode_;
  std::string error_;
};

}  // namespace xfsim::sim
