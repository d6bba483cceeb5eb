// sim/assert: XFSIM_ASSERT, the harness's own invariants, whatever NDEBUG says.
#include <gtest/gtest.h>

#include "sim/assert.h"
#include "sim/random_strategy.h"
#include "sim/scheduler.h"

namespace xfsim::sim {
namespace {

Task<> assert_after_one_step(Scheduler& s) {
  co_await s.point("assert_after_one_step");
  XFSIM_ASSERT(s.step() > 100, "step was {}", s.step());
}

TEST(AssertDeathTest, AHarnessInvariantAbortsNamingConditionPlaceStepAndTask) {
  EXPECT_DEATH(
      {
        RandomStrategy strategy(1);
        Trace trace;
        Scheduler s(strategy, trace);
        s.spawn("victim", TaskKind::kKthread, assert_after_one_step(s));
        s.run({});
      },
      "assertion `s.step\\(\\) > 100` failed at .*assert_test.cc:[0-9]+ \\(step 2, t=0 ms, task victim\\): step was 2");
}

TEST(AssertDeathTest, HoldsWhatever_NDEBUG_Says) {
#ifndef NDEBUG
  GTEST_SKIP() << "this build keeps assert() too; the -c opt build is the one that matters";
#endif
  EXPECT_DEATH(XFSIM_ASSERT(1 + 1 == 3), "1 \\+ 1 == 3");
}

}  // namespace
}  // namespace xfsim::sim
