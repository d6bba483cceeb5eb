// PctStrategy: probabilistic concurrency testing (Burckhardt, Kothari,
// Musuvathi, Nagarakatte; ASPLOS 2010). Tasks get distinct random priorities;
// the highest-priority runnable task always runs; at d-1 random change points
// the running task drops to a priority below every initial one. A bug of depth
// d is found in one schedule with probability at least 1/(n * k^(d-1)) for n
// tasks and k steps.
#pragma once

#include <vector>

#include "sim/fault_dice.h"
#include "sim/prng.h"
#include "sim/strategy.h"

namespace xfsim::sim {

class PctStrategy final : public Strategy {
 public:
  PctStrategy(uint64_t seed, uint32_t depth, uint32_t fault_bound = 0);
  StrategyNeeds needs() const override { return {.faults = faults_.enabled()}; }
  bool inject_fault(const FaultPoint&) override { return faults_.roll(); }
  void begin_schedule(uint64_t schedule_index) override;
  void end_schedule() override;
  void on_spawn(TaskId task) override;
  Choice choose(const Decision& decision) override;
  const char* name() const override { return "pct"; }
  uint64_t steps_estimate() const { return steps_estimate_; }
  // A fixed k (e.g. measured once by the campaign) makes schedule i depend
  // only on (seed, i), not on the schedules run before it: shards and
  // resumed campaigns then agree. Without it, k is learned as shuttle does.
  void fix_steps_estimate(uint64_t steps) {
    steps_estimate_ = steps < 8 ? 8 : steps;
    learn_ = false;
  }

 private:
  uint64_t seed_;
  uint32_t depth_;
  Prng prng_;
  // k: the length of the last schedule (PCT needs an estimate of it; the
  // first schedule uses a guess and later ones learn it, as shuttle does).
  uint64_t steps_estimate_ = 256;
  uint64_t steps_seen_ = 0;
  bool learn_ = true;
  std::vector<uint64_t> priorities_;  // by TaskId; higher runs first
  uint64_t due_timers_priority_ = 0;  // kDueTimers, drawn like a task's
  uint64_t& priority(TaskId task) { return task == kDueTimers ? due_timers_priority_ : priorities_[task]; }
  std::vector<uint64_t> change_points_;  // sorted decision indices
  size_t next_change_ = 0;
  FaultDice faults_;
};

}  // namespace xfsim::sim
