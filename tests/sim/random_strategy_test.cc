// sim/random_strategy: one interleaving per seed, different ones across seeds.
#include <set>

#include <gtest/gtest.h>

#include "sim/random_strategy.h"
#include "tests/sim/testing.h"

namespace xfsim::sim {
namespace {

using testing::interleave;

TEST(Scheduler, SameSeedSameInterleavingDifferentSeedsDiffer) {
  RandomStrategy one(7), two(7);
  EXPECT_EQ(interleave(one), interleave(two));
  std::set<std::vector<std::string>> seen;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    RandomStrategy strategy(seed);
    seen.insert(interleave(strategy));
  }
  EXPECT_GT(seen.size(), 5u);
}

}  // namespace
}  // namespace xfsim::sim
