// sim/dfs_strategy: bounded exhaustive search, with and without branching on
// blocks, and its sleep sets (partial-order reduction).
#include <set>

#include <gtest/gtest.h>

#include "sim/dfs_strategy.h"
#include "sim/scheduler.h"
#include "sim/shared.h"
#include "tests/sim/testing.h"

namespace xfsim::sim {
namespace {

using testing::interleave;

TEST(Dfs, CoversAllInterleavingsOfTwoTasksWithinTheBound) {
  std::set<std::vector<std::string>> seen;
  DfsStrategy dfs(10, /*branch_on_block=*/true);
  uint64_t schedules = 0;
  while (!dfs.exhausted()) {
    dfs.begin_schedule(schedules++);
    seen.insert(interleave(dfs));
    dfs.end_schedule();
    ASSERT_LT(schedules, 10000u);
  }
  // Two tasks of 3 atomic appends each: C(6,3) = 20 interleavings of the
  // visible log; dfs may visit some twice through invisible steps.
  EXPECT_EQ(seen.size(), 20u);
}

TEST(Dfs, PreemptionBoundZeroRunsEachTaskToItsEnd) {
  std::set<std::vector<std::string>> seen;
  DfsStrategy dfs(0, /*branch_on_block=*/true);
  uint64_t schedules = 0;
  while (!dfs.exhausted()) {
    dfs.begin_schedule(schedules++);
    seen.insert(interleave(dfs));
    dfs.end_schedule();
  }
  EXPECT_EQ(seen.size(), 2u);  // a then b, or b then a
}

TEST(Dfs, WithoutBranchingOnBlocksBoundZeroIsOneScheduleAndBoundOneAddsEachPreemption) {
  for (uint32_t bound : {0u, 1u}) {
    std::set<std::vector<std::string>> seen;
    DfsStrategy dfs(bound);
    uint64_t schedules = 0;
    while (!dfs.exhausted()) {
      dfs.begin_schedule(schedules++);
      seen.insert(interleave(dfs));
      dfs.end_schedule();
      ASSERT_LT(schedules, 1000u);
    }
    // Bound 0: a runs to its end, then b. Bound 1: one preemption of a after
    // each of its 0..2 appends (b then finishes first), i.e. 4 logs in all.
    EXPECT_EQ(seen.size(), bound == 0 ? 1u : 4u) << "bound " << bound;
  }
}

// A task of `steps` steps, each writing `state`, appending to the log (which
// stands outside the model: it records the order of the steps).
Task<> toucher(Scheduler& s, std::vector<std::string>& log, std::string name, int steps, Shared<int>& state) {
  for (int i = 0; i < steps; ++i) {
    co_await s.point("toucher");
    ++state.write();
    log.push_back(name + std::to_string(i));
  }
}

struct SleepSetRun {
  std::set<std::vector<std::string>> completed_logs;  // runs that were not pruned
  uint64_t schedules = 0;
};

// A local task and a remote one (different machines: only the resources they
// touch can make their steps dependent).
SleepSetRun explore_two_machines(bool sleep_sets, bool shared_resource) {
  SleepSetRun out;
  DfsStrategy dfs(10, /*branch_on_block=*/true, sleep_sets);
  while (!dfs.exhausted()) {
    dfs.begin_schedule(out.schedules++);
    Trace trace;
    Scheduler s(dfs, trace);
    Shared<int> a(s), own_b(s);
    Shared<int>& b = shared_resource ? a : own_b;
    std::vector<std::string> log;
    s.spawn("local", TaskKind::kKthread, toucher(s, log, "l", 3, a));
    s.spawn("remote", TaskKind::kKthread, toucher(s, log, "r", 3, b), false, s.add_domain("remote"));
    const RunStatus status = s.run({});
    if (status == RunStatus::kFinished) {
      out.completed_logs.insert(log);
    } else {
      EXPECT_EQ(status, RunStatus::kPruned);
    }
    dfs.end_schedule();
    EXPECT_LT(out.schedules, 10000u);
  }
  return out;
}

TEST(Dfs, SleepSetsSkipReorderingsOfCommutingStepsAndKeepConflictingOnes) {
  const SleepSetRun full = explore_two_machines(false, false);
  EXPECT_EQ(full.completed_logs.size(), 20u);  // C(6,3) orders of the log
  // Independent steps: every order is one Mazurkiewicz trace, explored once.
  const SleepSetRun independent = explore_two_machines(true, false);
  EXPECT_EQ(independent.completed_logs.size(), 1u);
  EXPECT_LT(independent.schedules, full.schedules);
  // Every step touches the same resource: no order may be skipped.
  const SleepSetRun conflicting = explore_two_machines(true, true);
  EXPECT_EQ(conflicting.completed_logs, full.completed_logs);
}

}  // namespace
}  // namespace xfsim::sim
