// Fault injection (sim/fault.h): scripted faults hit the nth call at their
// site and no other; dfs with a fault bound explores every placement of that
// many failures, and none without one; random faults stay within the bound;
// an injected fault is in the trace.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/dfs_strategy.h"
#include "sim/fault.h"
#include "sim/random_strategy.h"
#include "sim/replay_strategy.h"
#include "sim/scheduler.h"

namespace xfsim::sim {
namespace {

constexpr FaultSite kAlloc{"kzalloc@test_probe", "allocating the test object", -12};
constexpr FaultSite kRegister{"register@test_probe", "registering it", -19};

// One task calls kAlloc, kRegister and kAlloc again, a scheduling point
// between calls; `seen` records what each call returned.
Task<> probe(Scheduler& s, std::vector<int>& seen) {
  seen.push_back(s.should_fail(kAlloc));
  co_await s.point("probe_1");
  seen.push_back(s.should_fail(kRegister));
  co_await s.point("probe_2");
  seen.push_back(s.should_fail(kAlloc));
}

std::vector<int> run_probe(Strategy& strategy, const std::vector<ScriptedFault>& scripted, Trace& trace) {
  std::vector<int> seen;
  Scheduler s(strategy, trace);
  s.set_scripted_faults(scripted);
  s.spawn("probe", TaskKind::kKthread, probe(s, seen));
  EXPECT_EQ(s.run({}), RunStatus::kFinished);
  return seen;
}

TEST(Fault, AScriptedFaultFailsTheNthCallAtItsSiteOnly) {
  RandomStrategy strategy(1);
  Trace trace;
  const std::vector<ScriptedFault> scripted{{"kzalloc@test_probe", 2, 0}};
  EXPECT_EQ(run_probe(strategy, scripted, trace), (std::vector<int>{0, 0, -12}));  // the site's own error
  const std::vector<ScriptedFault> with_error{{"register@test_probe", 1, -5}};
  trace.clear();
  EXPECT_EQ(run_probe(strategy, with_error, trace), (std::vector<int>{0, -5, 0}));
  size_t faults = 0;
  for (const TraceEntry& entry : trace.entries) {
    if (entry.type != TraceEntry::Type::kFault) continue;
    ++faults;
    EXPECT_STREQ(entry.site, "register@test_probe");
    EXPECT_EQ(entry.choice, 1u);  // the first call at the site
    EXPECT_EQ(entry.error, -5);
    EXPECT_FALSE(entry.preemption);  // scripted, not chosen by the strategy
  }
  EXPECT_EQ(faults, 1u);
  trace.clear();
  EXPECT_EQ(run_probe(strategy, {}, trace), (std::vector<int>{0, 0, 0}));
}

// Every result vector a dfs search reaches.
std::set<std::vector<int>> dfs_outcomes(uint32_t fault_bound, uint64_t* schedules) {
  std::set<std::vector<int>> outcomes;
  DfsStrategy dfs(2, false, false, fault_bound);
  uint64_t n = 0;
  for (; !dfs.exhausted(); ++n) {
    dfs.begin_schedule(n);
    Trace trace;
    outcomes.insert(run_probe(dfs, {}, trace));
    dfs.end_schedule();
    EXPECT_LT(n, 100u);
  }
  *schedules = n;
  return outcomes;
}

TEST(Fault, DfsWithAFaultBoundFailsEveryCallAndEveryPairOnce) {
  uint64_t schedules = 0;
  EXPECT_EQ(dfs_outcomes(0, &schedules), (std::set<std::vector<int>>{{0, 0, 0}}));
  EXPECT_EQ(schedules, 1u);
  EXPECT_EQ(dfs_outcomes(1, &schedules),
            (std::set<std::vector<int>>{{0, 0, 0}, {-12, 0, 0}, {0, -19, 0}, {0, 0, -12}}));
  EXPECT_EQ(schedules, 4u);
  EXPECT_EQ(dfs_outcomes(2, &schedules).size(), 7u);  // none, three singles, three pairs
  EXPECT_EQ(schedules, 7u);
}

TEST(Fault, RandomFaultsStayWithinTheBoundAndReplayAsScripted) {
  bool some_failed = false;
  for (uint64_t i = 0; i < 64; ++i) {
    RandomStrategy random(7, /*fault_bound=*/1);
    random.begin_schedule(i);
    Trace trace;
    std::vector<int> seen;
    Scheduler s(random, trace);
    s.spawn("probe", TaskKind::kKthread, probe(s, seen));
    ASSERT_EQ(s.run({}), RunStatus::kFinished);
    const size_t failed = static_cast<size_t>(std::count_if(seen.begin(), seen.end(), [](int r) { return r != 0; }));
    EXPECT_LE(failed, 1u);
    ASSERT_EQ(s.injected_faults().size(), failed);
    if (failed == 0) continue;
    some_failed = true;
    const InjectedFault& fault = s.injected_faults()[0];
    EXPECT_TRUE(fault.explored);
    // The same fault, scripted, under a replay of the schedule: the same run.
    const std::vector<ScriptedFault> scripted{{fault.site->name, fault.nth, fault.error}};
    ReplayStrategy replay(trace.schedule());
    Trace again;
    EXPECT_EQ(run_probe(replay, scripted, again), seen);
    EXPECT_EQ(again.trace_hash(), trace.trace_hash());
  }
  EXPECT_TRUE(some_failed);
}

}  // namespace
}  // namespace xfsim::sim
