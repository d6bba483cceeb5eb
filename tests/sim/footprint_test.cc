// sim/footprint and sim/shared: step footprints, which steps they call
// independent, the accessors that record them, and what a footprint left out
// costs (tests/commutation.h, the check campaign_test runs on every scenario).
#include <set>

#include <gtest/gtest.h>

#include "sim/dfs_strategy.h"
#include "sim/footprint.h"
#include "sim/scheduler.h"
#include "sim/shared.h"
#include "sim/strategy.h"
#include "tests/commutation.h"

namespace xfsim::sim {
namespace {

TEST(Footprint, WritesConflictWithEverythingReadsOnlyWithWrites) {
  Footprint read_a, write_a, read_b;
  read_a.touch(kFirstDynamicResource, false);
  write_a.touch(kFirstDynamicResource, true);
  read_b.touch(kFirstDynamicResource + 1, false);
  EXPECT_TRUE(read_a.independent_of(read_a));
  EXPECT_FALSE(read_a.independent_of(write_a));
  EXPECT_FALSE(write_a.independent_of(read_a));
  EXPECT_TRUE(write_a.independent_of(read_b));
  Footprint local, remote;
  local.touch(machine_resource(kHomeDomain), true);
  remote.touch(machine_resource(kHomeDomain + 1), true);
  EXPECT_TRUE(local.independent_of(remote));
  EXPECT_FALSE(local.independent_of(local));
}

// Records every step's footprint; the lowest runnable task goes.
class FootprintRecorder final : public Strategy {
 public:
  Choice choose(const Decision&) override { return Choice::run(0); }
  StrategyNeeds needs() const override { return {.footprints = true}; }
  void after_step(TaskId, const Footprint& footprint) override { steps.push_back(footprint); }
  const char* name() const override { return "recorder"; }
  std::vector<Footprint> steps;
};

Task<> reach_shared(Scheduler& s, Shared<int>& x, int& seen) {
  co_await s.point("read");
  seen = x.read();
  co_await s.point("write");
  x.write() = seen + 1;
  co_await s.point("neither");
}

TEST(Footprint, SharedRecordsAReadOrAWriteInTheStepThatReachesIt) {
  FootprintRecorder recorder;
  Trace trace;
  Scheduler s(recorder, trace);
  Shared<int> x(s);
  Shared<int> same(s, SharesResource{x.resource()});
  EXPECT_EQ(same.resource(), x.resource());
  int seen = -1;
  s.spawn("t", TaskKind::kKthread, reach_shared(s, x, seen));
  ASSERT_EQ(s.run({}), RunStatus::kFinished);
  const uint64_t bit = Footprint::bit(x.resource()), machine = Footprint::bit(machine_resource(kHomeDomain));
  ASSERT_EQ(recorder.steps.size(), 4u);  // up to each point, and the end
  EXPECT_EQ(recorder.steps[1].reads, bit);
  EXPECT_EQ(recorder.steps[1].writes, machine);
  EXPECT_EQ(recorder.steps[2].reads, 0u);
  EXPECT_EQ(recorder.steps[2].writes, bit | machine);
  EXPECT_EQ(recorder.steps[3].writes, machine);
  EXPECT_EQ(seen, 0);
}

// Two machines share `x`: the guest writes it, the backend looks at it and
// goes one way or the other. With `forget`, the backend looks at a copy kept
// outside the accessor (state a fake forgot to wrap), so its step leaves the
// footprint out.
struct TwoMachines {
  explicit TwoMachines(Scheduler& s) : x(s) {}
  Shared<int> x;
  int unwrapped = 0;
};

Task<> guest_writes(Scheduler& s, TwoMachines& m) {
  co_await s.point("before_write");
  m.x.write() = 1;
  m.unwrapped = 1;
  co_await s.point("after_write");
}

Task<> backend_looks(Scheduler& s, TwoMachines& m, bool forget) {
  co_await s.point("before_look");
  const int seen = forget ? m.unwrapped : m.x.read();
  if (seen == 1) {
    co_await s.point("saw_one");
  } else {
    co_await s.point("saw_zero");
  }
}

RunStatus run_two_machines(Strategy& strategy, Trace& trace, bool forget) {
  Scheduler s(strategy, trace);
  TwoMachines m(s);
  s.spawn("guest", TaskKind::kKthread, guest_writes(s, m));
  s.spawn("backend", TaskKind::kUser, backend_looks(s, m, forget), false, s.add_domain("other"));
  return s.run({});
}

// Every class of interleavings (per-task histories) a search reaches.
std::set<uint64_t> classes_reached(bool sleep_sets, bool forget) {
  std::set<uint64_t> classes;
  DfsStrategy dfs(10, /*branch_on_block=*/true, sleep_sets);
  for (uint64_t n = 0; !dfs.exhausted(); ++n) {
    dfs.begin_schedule(n);
    Trace trace;
    if (run_two_machines(dfs, trace, forget) != RunStatus::kPruned) classes.insert(testing::per_task_history(trace));
    dfs.end_schedule();
    EXPECT_LT(n, 1000u);
  }
  return classes;
}

// The checks campaign_test runs on every scenario, shown to bite: a footprint
// left out loses a class of interleavings to sleep sets (whether or not a
// finding goes with it), and the commutation check names the steps.
TEST(Footprint, AForgottenFootprintLosesInterleavingsAndTheCommutationCheckNamesTheSteps) {
  for (bool forget : {false, true}) {
    const std::set<uint64_t> full = classes_reached(false, forget), reduced = classes_reached(true, forget);
    EXPECT_EQ(full.size(), 2u);  // the backend saw 0, or saw 1
    if (forget) {
      EXPECT_LT(reduced.size(), full.size());
    } else {
      EXPECT_EQ(reduced, full);
    }
    const testing::RunFollowing run = [forget](const std::vector<uint32_t>& schedule) {
      testing::ScheduleFollower follower(schedule);
      Trace trace;
      const RunStatus status = run_two_machines(follower, trace, forget);
      return testing::record(status, trace, follower);
    };
    // Both start; the guest writes, then the backend looks.
    const testing::RecordedRun recorded = run({0, 1, 0, 1, 0, 1});
    ASSERT_EQ(recorded.status, RunStatus::kFinished);
    const std::vector<std::string> found = testing::non_commuting_steps(run, recorded);
    if (forget) {
      ASSERT_EQ(found.size(), 1u);
      EXPECT_NE(found[0].find("before_look"), std::string::npos) << found[0];
    } else {
      EXPECT_TRUE(found.empty()) << found[0];
    }
  }
}

}  // namespace
}  // namespace xfsim::sim
