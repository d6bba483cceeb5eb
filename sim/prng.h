// Prng: the only source of randomness in the simulated world.
// xoshiro256** seeded through splitmix64, so one 64-bit seed names a whole
// run. Never seeded from the host.
#pragma once

#include <cstdint>

namespace xfsim::sim {

__extension__ typedef unsigned __int128 uint128;

class Prng {
 public:
  explicit Prng(uint64_t seed) { reseed(seed); }

  void reseed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& word : state_) word = splitmix64(x);
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound). bound > 0. Lemire's multiply-shift, unbiased enough
  // for scheduling and cheap on the hot path.
  uint64_t below(uint64_t bound) { return static_cast<uint64_t>((static_cast<uint128>(next()) * bound) >> 64); }

  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // The seed of schedule `schedule_index` of a campaign seeded `seed`: each
  // schedule draws from its own stream, so schedule i of seed S is the same
  // whether or not schedules 0..i-1 ran (resumable campaigns, sharding).
  // Strategies and timing mutation derive it here, and only here.
  static uint64_t schedule_seed(uint64_t seed, uint64_t schedule_index) {
    uint64_t x = seed ^ (schedule_index * 0x9e3779b97f4a7c15ULL);
    return splitmix64(x);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace xfsim::sim
