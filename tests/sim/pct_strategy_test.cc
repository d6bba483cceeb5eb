// sim/pct_strategy: PCT, deterministic in its seed and the schedule's index.
#include <gtest/gtest.h>

#include "sim/pct_strategy.h"
#include "tests/sim/testing.h"

namespace xfsim::sim {
namespace {

using testing::interleave;

TEST(Pct, DeterministicPerSeedAndScheduleIndex) {
  PctStrategy one(5, 3), two(5, 3);
  one.begin_schedule(4);
  two.begin_schedule(4);
  EXPECT_EQ(interleave(one), interleave(two));
}

}  // namespace
}  // namespace xfsim::sim
