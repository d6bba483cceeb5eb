// RandomStrategy: uniform choice among runnable tasks at every decision.
#pragma once

#include "sim/prng.h"
#include "sim/strategy.h"

namespace xfsim::sim {

class RandomStrategy final : public Strategy {
 public:
  explicit RandomStrategy(uint64_t seed) : seed_(seed), prng_(seed) {}
  void begin_schedule(uint64_t schedule_index) override { prng_.reseed(Prng::schedule_seed(seed_, schedule_index)); }
  Choice choose(const Decision& decision) override {
    return Choice::run(static_cast<size_t>(prng_.below(decision.runnable.size())));
  }
  const char* name() const override { return "random"; }

 private:
  uint64_t seed_;
  Prng prng_;
};

}  // namespace xfsim::sim
