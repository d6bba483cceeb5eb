#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "sim/assert.h"
#include "sim/dfs_strategy.h"
#include "sim/lock.h"
#include "sim/lockdep.h"
#include "sim/pct_strategy.h"
#include "sim/random_strategy.h"
#include "sim/replay_strategy.h"
#include "sim/scheduler.h"
#include "sim/shared.h"
#include "sim/wait_queue.h"
#include "tests/commutation.h"

namespace xfsim::sim {
namespace {

Task<int> add_after_point(Scheduler& s, int a, int b) {
  co_await s.point("add_after_point");
  co_return a + b;
}

Task<> worker(Scheduler& s, std::vector<std::string>& log, std::string name, int steps) {
  for (int i = 0; i < steps; ++i) {
    int v = co_await add_after_point(s, i, 1);
    log.push_back(name + std::to_string(v));
  }
}

TEST(Scheduler, NestedTasksReturnValuesAcrossSchedulingPoints) {
  RandomStrategy strategy(1);
  Trace trace;
  Scheduler s(strategy, trace);
  std::vector<std::string> log;
  s.spawn("a", TaskKind::kKthread, worker(s, log, "a", 3));
  EXPECT_EQ(s.run({}), RunStatus::kFinished);
  EXPECT_EQ(log, (std::vector<std::string>{"a1", "a2", "a3"}));
}

std::vector<std::string> interleave(Strategy& strategy) {
  Trace trace;
  Scheduler s(strategy, trace);
  std::vector<std::string> log;
  s.spawn("a", TaskKind::kKthread, worker(s, log, "a", 3));
  s.spawn("b", TaskKind::kKthread, worker(s, log, "b", 3));
  EXPECT_EQ(s.run({}), RunStatus::kFinished);
  return log;
}

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

TEST(Scheduler, ReplayReproducesARecordedScheduleAndRejectsAnImpossibleOne) {
  RandomStrategy random(99);
  Trace trace;
  std::vector<std::string> first;
  {
    Scheduler s(random, trace);
    s.spawn("a", TaskKind::kKthread, worker(s, first, "a", 3));
    s.spawn("b", TaskKind::kKthread, worker(s, first, "b", 3));
    s.run({});
  }
  ReplayStrategy replay(trace.schedule());
  EXPECT_EQ(interleave(replay), first);

  std::vector<uint32_t> impossible(trace.schedule().size(), 5);  // task 5 does not exist
  ReplayStrategy bad(impossible);
  Trace t2;
  Scheduler s(bad, t2);
  std::vector<std::string> log;
  s.spawn("a", TaskKind::kKthread, worker(s, log, "a", 1));
  s.spawn("b", TaskKind::kKthread, worker(s, log, "b", 1));
  EXPECT_EQ(s.run({}), RunStatus::kStrategyError);
  EXPECT_NE(s.strategy_error().find("not runnable"), std::string::npos);
}

Task<> sleeper(Scheduler&, WaitQueue& q, bool& woke, int64_t timeout) { woke = co_await q.wait("sleeper", timeout); }

TEST(Scheduler, WaitTimesOutOnTheVirtualClock) {
  RandomStrategy strategy(1);
  Trace trace;
  Scheduler s(strategy, trace);
  WaitQueue q(s, "q");
  bool woke = true;
  s.spawn("sleeper", TaskKind::kKthread, sleeper(s, q, woke, 3000));
  EXPECT_EQ(s.run({}), RunStatus::kFinished);
  EXPECT_FALSE(woke);
  EXPECT_EQ(s.now_ms(), 3000u);
}

TEST(Scheduler, DeadlockWhenEveryTaskIsBlocked) {
  RandomStrategy strategy(1);
  Trace trace;
  Scheduler s(strategy, trace);
  WaitQueue q(s, "never");
  bool woke = false;
  s.spawn("stuck", TaskKind::kKthread, sleeper(s, q, woke, -1));
  EXPECT_EQ(s.run({}), RunStatus::kViolation);
  EXPECT_EQ(s.violations().front().kind_name(), "deadlock");
}

TEST(Scheduler, DaemonBlockedForeverIsNotADeadlock) {
  RandomStrategy strategy(1);
  Trace trace;
  Scheduler s(strategy, trace);
  WaitQueue q(s, "idle");
  bool woke = false;
  s.spawn("daemon", TaskKind::kKthread, sleeper(s, q, woke, -1), /*daemon=*/true);
  EXPECT_EQ(s.run({}), RunStatus::kFinished);
}

Task<> lock_two(Scheduler& s, Mutex& first, Mutex& second) {
  XFSIM_KFUNC_AS(s, "lock_two_fn");
  co_await first.lock("lock_two");
  co_await second.lock("lock_two");
  second.unlock();
  first.unlock();
}

TEST(Lockdep, InversionReportedEvenWithoutAnActualDeadlock) {
  RandomStrategy strategy(3);
  Trace trace;
  Scheduler s(strategy, trace);
  Mutex a(s, "lock_a"), b(s, "lock_b");
  s.spawn("ab", TaskKind::kKthread, lock_two(s, a, b));
  EXPECT_EQ(s.run({}), RunStatus::kFinished);
  // Same order again: silent twin.
  s.spawn("ab2", TaskKind::kKthread, lock_two(s, a, b));
  EXPECT_EQ(s.run({}), RunStatus::kFinished);
  EXPECT_FALSE(s.has_violation());
  s.spawn("ba", TaskKind::kKthread, lock_two(s, b, a));
  // Lockdep reports and the run goes on, as in the kernel.
  EXPECT_EQ(s.run({}), RunStatus::kFinished);
  ASSERT_EQ(s.violations().size(), 1u);
  EXPECT_EQ(s.violations().front().kind_name(), "lock-order-inversion");
  EXPECT_EQ(s.violations().front().signature(), "lock-order-inversion in lock_two_fn (lock_b then lock_a)");
  // Both chains: the one this task wants and the dependency recorded before, with who made it.
  const std::string report = s.violations().front().report();
  EXPECT_NE(report.find("ba is trying to acquire lock:\n  lock_a\nbut task is already holding lock:\n  lock_b"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("-> #0 lock_b taken while holding lock_a, first by task ab at step"), std::string::npos)
      << report;
  EXPECT_NE(report.find(":\n       lock_two_fn\n"), std::string::npos) << report;
}

Task<> sleep_under_spinlock(Scheduler&, SpinLock& spin, Mutex& m, bool sleep) {
  co_await spin.lock("spin");
  if (sleep) {
    co_await m.lock("mutex_lock");
    m.unlock();
  }
  spin.unlock();
}

TEST(Lockdep, SleepInAtomicFiresUnderSpinlockAndNotOutside) {
  for (bool sleep : {false, true}) {
    RandomStrategy strategy(3);
    Trace trace;
    Scheduler s(strategy, trace);
    SpinLock spin(s, "io_lock");
    Mutex m(s, "req_io_lock");
    s.spawn("t", TaskKind::kKthread, sleep_under_spinlock(s, spin, m, sleep));
    EXPECT_EQ(s.run({}), RunStatus::kFinished);  // reported, and the run goes on
    EXPECT_EQ(s.has_violation(), sleep);
    if (sleep) {
      EXPECT_EQ(s.violations().front().kind_name(), "sleep-in-atomic");
    }
  }
}

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

TEST(Pct, DeterministicPerSeedAndScheduleIndex) {
  PctStrategy one(5, 3), two(5, 3);
  one.begin_schedule(4);
  two.begin_schedule(4);
  EXPECT_EQ(interleave(one), interleave(two));
}

}  // namespace
}  // namespace xfsim::sim

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
      "assertion `s.step\\(\\) > 100` failed at .*sim_test.cc:[0-9]+ \\(step 2, t=0 ms, task victim\\): step was 2");
}

TEST(AssertDeathTest, HoldsWhatever_NDEBUG_Says) {
#ifndef NDEBUG
  GTEST_SKIP() << "this build keeps assert() too; the -c opt build is the one that matters";
#endif
  EXPECT_DEATH(XFSIM_ASSERT(1 + 1 == 3), "1 \\+ 1 == 3");
}

TEST(AssertDeathTest, A65thLockdepClassIsAHarnessErrorNotSilentCorruption) {
  EXPECT_DEATH(
      {
        RandomStrategy strategy(1);
        Trace trace;
        Scheduler s(strategy, trace);
        std::vector<std::string> names;
        for (int i = 0; i < 65; ++i) names.push_back("class" + std::to_string(i));
        std::vector<std::unique_ptr<Mutex>> locks;
        for (const auto& name : names) locks.push_back(std::make_unique<Mutex>(s, name.c_str()));
      },
      "more than 64 lock classes");
}

Task<> unlock_foreign(Mutex& m) {
  co_await m.lock("holder");
  co_return;  // ends holding it: the other task unlocks it
}
Task<> unlock_not_held(Scheduler& s, Mutex& m) {
  co_await s.point("unlock_not_held");
  m.unlock();
}

TEST(Lockdep, UnlockingAMutexAnotherTaskHoldsIsABadUnlockBalance) {
  ReplayStrategy order({0, 0, 1, 1}, ReplayStrategy::Mode::kLenient);
  Trace trace;
  Scheduler s(order, trace);
  Mutex m(s, "m");
  s.spawn("holder", TaskKind::kKthread, unlock_foreign(m));
  s.spawn("thief", TaskKind::kKthread, unlock_not_held(s, m));
  s.run({});
  ASSERT_TRUE(s.has_violation());
  EXPECT_EQ(s.violations().front().kind_name(), "bad-unlock-balance");
  EXPECT_NE(s.violations().front().detail.find("thief releases m held by holder"), std::string::npos)
      << s.violations().front().detail;
}

}  // namespace
}  // namespace xfsim::sim

namespace xfsim::sim {
namespace {

// Kinds of the tests' own: a WARN, and a memory error (the policy stops on it
// by its flag, whatever its name).
constexpr ViolationKind kTestWarning{"warning", "a WARN_ON"};
constexpr ViolationKind kTestMemoryError{"use-after-free", "a freed object is used", ReportTitle::kKasan,
                                         /*memory_error=*/true};

Task<> report_twice_then_finish(Scheduler& s, std::vector<int>& progress, const ViolationKind& second_kind) {
  XFSIM_KFUNC_AS(s, "outer_function");
  co_await s.point("first");
  s.report(kTestWarning, "first", "a WARN_ON");
  progress.push_back(1);
  co_await s.point("second");
  {
    XFSIM_KFUNC_AS(s, "inner_function");
    s.report(second_kind, "second", "the second report");
  }
  co_await s.point("third");
  progress.push_back(2);
}

// One scheduler, under a report policy, whose tasks each report twice
// (report_twice_then_finish).
struct ReportRun {
  RandomStrategy strategy{1};
  Trace trace;
  Scheduler s{strategy, trace};
  ReportPolicy policy;
  std::vector<int> progress;
  explicit ReportRun(ReportPolicy p = ReportPolicy::defaults()) : policy(std::move(p)) { s.set_report_policy(policy); }
  RunStatus run(const ViolationKind& second_kind, int tasks = 1) {
    for (int i = 0; i < tasks; ++i) {
      s.spawn(fmt::format("t{}", i), TaskKind::kKthread, report_twice_then_finish(s, progress, second_kind));
    }
    return s.run({});
  }
};

TEST(Report, NonFatalKindsAreRecordedInOrderAndTheRunGoesOn) {
  ReportRun r;
  EXPECT_EQ(r.run(kLockOrderInversion), RunStatus::kFinished);
  EXPECT_EQ(r.progress, (std::vector<int>{1, 2}));
  const auto& v = r.s.violations();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].kind_name(), "warning");
  EXPECT_EQ(v[0].where.frames, (std::vector<std::string>{"outer_function"}));
  EXPECT_EQ(v[1].where.frames, (std::vector<std::string>{"inner_function", "outer_function"}));
  EXPECT_EQ(v[1].signature(), "lock-order-inversion in inner_function");
  EXPECT_EQ(v[1].where.context, "kthread");
}

TEST(Report, AMemoryErrorStopsTheRunByDefaultAndStopOnAllStopsAtTheFirst) {
  {
    ReportRun r;
    EXPECT_EQ(r.run(kTestMemoryError), RunStatus::kViolation);
    EXPECT_EQ(r.progress, (std::vector<int>{1}));  // never reached the third point
    EXPECT_EQ(r.s.violations().size(), 2u);
  }
  {
    ReportPolicy policy;
    policy.stop_on_all = true;
    ReportRun r(policy);
    EXPECT_EQ(r.run(kLockOrderInversion), RunStatus::kViolation);
    EXPECT_EQ(r.s.violations().size(), 1u);
    EXPECT_TRUE(r.progress.empty() || r.progress == std::vector<int>{1});
  }
  {
    ReportPolicy policy = ReportPolicy::defaults();
    policy.ignore = {"warning"};
    ReportRun r(policy);
    EXPECT_EQ(r.run(kLockOrderInversion), RunStatus::kFinished);
    ASSERT_EQ(r.s.violations().size(), 1u);
    EXPECT_EQ(r.s.violations()[0].kind_name(), "lock-order-inversion");
  }
}

TEST(Report, TheSameSignatureIsRecordedOncePerRun) {
  ReportRun r;
  EXPECT_EQ(r.run(kLockOrderInversion, /*tasks=*/2), RunStatus::kFinished);
  EXPECT_EQ(r.s.violations().size(), 2u);  // two tasks, the same two signatures
}

TEST(StackDepot, InternsStacksAndGivesThemBackInnermostFirst) {
  ShadowStack a, b;
  a.push("outer");
  a.push("inner");
  b.push("outer");
  StackDepot& depot = StackDepot::instance();
  const StackId id = depot.save(a);
  EXPECT_EQ(depot.save(a), id);
  EXPECT_NE(depot.save(b), id);
  EXPECT_EQ(depot.frames(id), (std::vector<std::string>{"inner", "outer"}));
  EXPECT_EQ(depot.save(ShadowStack{}), kNoStack);
}

}  // namespace
}  // namespace xfsim::sim

namespace xfsim::sim {
namespace {

Task<> sleep_for(Scheduler& s, int64_t ms) {
  WaitQueue never(s, "nanosleep");
  co_await never.wait("nanosleep", ms);
}

TEST(Scheduler, ATimerPastTheVirtualTimeBoundEndsTheRunInconclusiveNotAsADeadlock) {
  RandomStrategy strategy(1);
  Trace trace;
  Scheduler s(strategy, trace);
  s.spawn("sleeper", TaskKind::kUser, sleep_for(s, 200));
  RunLimits limits;
  limits.time_ms_max = 100;
  EXPECT_EQ(s.run(limits), RunStatus::kTimeLimit);
  EXPECT_FALSE(s.has_violation());
  EXPECT_STREQ(run_status_name(RunStatus::kTimeLimit), "time-limit");
}

}  // namespace
}  // namespace xfsim::sim
