// FaultDice: how the sampling strategies (random, pct) explore faults. Each
// fallible call fails with probability 1/one_in, at most `bound` times in a
// run, drawn from a stream of its own: with faults on, a seed's task choices
// are those it makes with faults off, up to the first fault.
#pragma once

#include <cstdint>

#include "sim/prng.h"

namespace xfsim::sim {

class FaultDice {
 public:
  explicit FaultDice(uint32_t bound, uint32_t one_in = 8) : bound_(bound), one_in_(one_in == 0 ? 1 : one_in) {}
  bool enabled() const { return bound_ > 0; }
  void begin_schedule(uint64_t seed, uint64_t schedule_index) {
    prng_.reseed(Prng::schedule_seed(seed ^ kStream, schedule_index));
    injected_ = 0;
  }
  bool roll() {
    if (injected_ >= bound_ || prng_.below(one_in_) != 0) return false;
    ++injected_;
    return true;
  }

 private:
  static constexpr uint64_t kStream = 0xfa0175eedULL;
  uint32_t bound_;
  uint32_t one_in_;
  uint32_t injected_ = 0;
  Prng prng_{0};
};

}  // namespace xfsim::sim
