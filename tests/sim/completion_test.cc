// sim/completion: the waits the atomic commit uses (wait_for_completion
// without a bound, try_wait_for_completion).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/completion.h"
#include "sim/dfs_strategy.h"
#include "sim/random_strategy.h"
#include "sim/scheduler.h"

namespace xfsim::sim {
namespace {

Task<> complete_later(Scheduler& s, Completion& c) {
  co_await s.point("before_complete");
  c.complete_all();
}

Task<> wait_forever(Completion& c, bool& woke) {
  co_await c.wait_for_completion("wait_for_completion");
  woke = true;
}

// wait_for_completion has no bound: completed, it returns; never completed,
// the run is a deadlock (not a time-out). try_wait_for_completion never
// sleeps and sees a complete_all for good.
TEST(Completion, WaitForCompletionWaitsWithoutABound) {
  {
    RandomStrategy strategy(1);
    Trace trace;
    Scheduler s(strategy, trace);
    Completion c(s, "c");
    EXPECT_FALSE(c.try_wait_for_completion());
    bool woke = false;
    s.spawn("waiter", TaskKind::kKthread, wait_forever(c, woke));
    s.spawn("completer", TaskKind::kKthread, complete_later(s, c));
    EXPECT_EQ(s.run({}), RunStatus::kFinished);
    EXPECT_TRUE(woke);
    EXPECT_TRUE(c.try_wait_for_completion());
    EXPECT_TRUE(c.try_wait_for_completion());
  }
  {
    RandomStrategy strategy(1);
    Trace trace;
    Scheduler s(strategy, trace);
    Completion c(s, "never");
    bool woke = false;
    s.spawn("waiter", TaskKind::kKthread, wait_forever(c, woke));
    EXPECT_EQ(s.run({}), RunStatus::kViolation);
    EXPECT_EQ(s.violations().front().kind_name(), "deadlock");
    EXPECT_FALSE(woke);
  }
}

}  // namespace
}  // namespace xfsim::sim
