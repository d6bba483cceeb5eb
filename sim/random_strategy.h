// RandomStrategy: uniform choice among runnable tasks at every decision; with
// a fault bound, random faults at fallible calls (sim/fault_dice.h).
#pragma once

#include "sim/fault_dice.h"
#include "sim/prng.h"
#include "sim/strategy.h"

namespace xfsim::sim {

class RandomStrategy final : public Strategy {
 public:
  explicit RandomStrategy(uint64_t seed, uint32_t fault_bound = 0) : seed_(seed), prng_(seed), faults_(fault_bound) {}
  void begin_schedule(uint64_t schedule_index) override {
    prng_.reseed(Prng::schedule_seed(seed_, schedule_index));
    faults_.begin_schedule(seed_, schedule_index);
  }
  StrategyNeeds needs() const override { return {.faults = faults_.enabled()}; }
  bool inject_fault(const FaultPoint&) override { return faults_.roll(); }
  Choice choose(const Decision& decision) override {
    return Choice::run(static_cast<size_t>(prng_.below(decision.runnable.size())));
  }
  const char* name() const override { return "random"; }

 private:
  uint64_t seed_;
  Prng prng_;
  FaultDice faults_;
};

}  // namespace xfsim::sim
