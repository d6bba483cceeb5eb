// sim/workqueue: delayed work, its cancel and its cancel_sync.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace xfsim::sim
