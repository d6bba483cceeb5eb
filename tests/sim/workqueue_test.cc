// sim/workqueue: delayed work, its cancel and its cancel_sync.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/dfs_strategy.h"
#include "sim/random_strategy.h"
#include "sim/scheduler.h"
#include "sim/workqueue.h"
#include "tests/sim/testing.h"

namespace xfsim::sim {
namespace {

using testing::Bench;

sim::Task<> count_run(int& runs) {
  ++runs;
  co_return;
}

TEST(DelayedWork, CancelStopsAPendingOrQueuedWorkAndRescheduleIsANoOpWhilePending) {
  Bench b;
  int runs = 0;
  sim::DelayedWork work(b.scheduler, "kworker/test", [&] { return count_run(runs); });
  EXPECT_TRUE(work.schedule(100));
  EXPECT_FALSE(work.schedule(50));  // already pending: no change
  EXPECT_TRUE(work.cancel());
  EXPECT_EQ(b.run(), "clean");
  EXPECT_EQ(runs, 0);
  EXPECT_TRUE(work.schedule(10));
  EXPECT_EQ(b.run(), "clean");
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(b.scheduler.now_ms(), 10u);
}

sim::Task<> cancel_sync_after_point(sim::Scheduler& s, sim::DelayedWork& work, std::vector<std::string>& log) {
  co_await s.point("canceller");
  co_await work.cancel_sync("cancel_delayed_work_sync");
  log.push_back("cancelled");
}

sim::Task<> logged_work(sim::Scheduler& s, std::vector<std::string>& log) {
  log.push_back("work start");
  co_await s.point("work");
  log.push_back("work end");
}

TEST(DelayedWork, CancelSyncNeverReturnsWhileTheWorkRuns) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    sim::RandomStrategy strategy(seed);
    sim::Trace trace;
    sim::Scheduler scheduler(strategy, trace);
    std::vector<std::string> log;
    sim::DelayedWork work(scheduler, "kworker/test", [&] { return logged_work(scheduler, log); });
    work.schedule(0);
    // The timer fires only when nothing runs: start the canceller from a timer too.
    scheduler.add_timer(0, [&] {
      scheduler.spawn("canceller", sim::TaskKind::kKthread, cancel_sync_after_point(scheduler, work, log));
    });
    ASSERT_EQ(scheduler.run({}), sim::RunStatus::kFinished);
    ASSERT_EQ(log.back(), "cancelled") << "seed " << seed;
    const bool ran = log.size() == 3;
    if (ran) {
      EXPECT_EQ(log[1], "work end") << "seed " << seed;
    } else {
      EXPECT_EQ(log.size(), 1u);
    }
  }
}

// sim::Work (work_struct: queue_work, flush_work).
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

}  // namespace
}  // namespace xfsim::sim
