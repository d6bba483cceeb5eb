// RandomStrategy: uniform choice among runnable tasks at every decision.
#pragma once

#include "sim/prng.h"
#include "sim/strategy.h"

namespace xfsim::sim {

class RandomStrategy final : public Strategy {
 public:
  explicit RandomStrategy(uint64_t seed) : seed_(seed), prng_(seed) {}
  // Each schedule of a campaign draws from its own stream: schedule i of seed
  // S is the same whether or not schedules 0..i-1 ran (resumable campaigns,
  // sharding).
  void begin_schedule(uint64_t schedule_index) override {
    uint64_t x = seed_ ^ (schedule_index * 0x9e3779b97f4a7c15ULL);
    prng_.reseed(Prng::splitmix64(x));
  }
  Choice choose(const Decision& decision) override {
    return Choice::run(static_cast<size_t>(prng_.below(decision.runnable.size())));
  }
  const char* name() const override { return "random"; }

 private:
  uint64_t seed_;
  Prng prng_;
};

}  // namespace xfsim::sim
