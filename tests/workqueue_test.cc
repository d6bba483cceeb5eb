// sim::Work (work_struct: queue_work, flush_work) and the completion waits the
// atomic commit uses (wait_for_completion without a bound,
// try_wait_for_completion).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/completion.h"
#include "sim/dfs_strategy.h"
#include "sim/random_strategy.h"
#include "sim/scheduler.h"
#include "sim/workqueue.h"

namespace xfsim::sim {
namespace {

Task<> queue_and_flush(Scheduler& s, Work& work, std::vector<std::string>& log) {
  log.push_back("queue");
  EXPECT_TRUE(work.queue());
  EXPECT_FALSE(work.queue());  // already queued: no second worker
  co_await work.flush("flush_work");
  log.push_back("flushed");
  co_await s.point("after_flush");
}

Task<> bystander(Scheduler& s) {
  for (int i = 0; i < 3; ++i) co_await s.point("bystander");
}

// The work runs in its own worker task, once, and flush_work returns only
// after it has finished, in every interleaving of the bounded space.
TEST(Work, RunsOnceInAWorkerAndFlushWaitsForIt) {
  DfsStrategy strategy(/*preemption_bound=*/3, /*branch_on_block=*/true, /*sleep_sets=*/false);
  uint64_t schedules = 0;
  while (!strategy.exhausted()) {
    strategy.begin_schedule(schedules++);
    Trace trace;
    Scheduler s(strategy, trace);
    std::vector<std::string> log;
    Work work(s, "kworker/test", [&]() -> Task<> {
      log.push_back("run:" + s.current_name());
      co_await s.point("in_work");
      log.push_back("done");
    });
    s.spawn("caller", TaskKind::kUser, queue_and_flush(s, work, log));
    s.spawn("bystander", TaskKind::kKthread, bystander(s));
    ASSERT_EQ(s.run({}), RunStatus::kFinished);
    strategy.end_schedule();
    EXPECT_EQ(log, (std::vector<std::string>{"queue", "run:kworker/test", "done", "flushed"}));
    ASSERT_LT(schedules, 1000u);
  }
  EXPECT_GT(schedules, 1u);
}

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
