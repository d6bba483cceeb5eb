// sim/scheduler: tasks and scheduling points, the virtual clock and its
// bound, the report policy, and the scheduler's own oracles (deadlock,
// lock-held-at-exit), each firing and silent.
#include <algorithm>

#include <gtest/gtest.h>

#include <set>

#include "sim/dfs_strategy.h"
#include "sim/lock.h"
#include "sim/lockdep.h"
#include "sim/random_strategy.h"
#include "sim/replay_strategy.h"
#include "sim/scheduler.h"
#include "sim/wait_queue.h"
#include "tests/sim/testing.h"

namespace xfsim::sim {
namespace {

using testing::Bench;
using testing::sleeper;
using testing::worker;

TEST(Scheduler, NestedTasksReturnValuesAcrossSchedulingPoints) {
  RandomStrategy strategy(1);
  Trace trace;
  Scheduler s(strategy, trace);
  std::vector<std::string> log;
  s.spawn("a", TaskKind::kKthread, worker(s, log, "a", 3));
  EXPECT_EQ(s.run({}), RunStatus::kFinished);
  EXPECT_EQ(log, (std::vector<std::string>{"a1", "a2", "a3"}));
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

sim::Task<> take_spinlock(sim::SpinLock& lock, bool release) {
  co_await lock.lock("spin_lock");
  if (release) lock.unlock();
}

TEST(SpinLock, ATaskEndingWithASpinlockHeldIsReported) {
  for (bool release : {true, false}) {
    Bench b;
    sim::SpinLock lock(b.scheduler, "io_lock");
    b.scheduler.spawn("t", sim::TaskKind::kKthread, take_spinlock(lock, release));
    EXPECT_EQ(b.run(), release ? "clean" : "lock-held-at-exit");
  }
}

// A task takes three steps; a timer armed for t=0 records how many it had
// taken when it fired. Without any-instant a due timer fires only once no
// task can run; with it, dfs places it before every step, and a schedule
// that chose it replays.
// One run of that world under `strategy`: how many steps the task had taken
// when the timer fired.
int run_timer_world(Strategy& strategy, Trace& trace, bool any_instant) {
  Scheduler s(strategy, trace);
  s.set_any_instant(any_instant);
  std::vector<std::string> log;
  int fired_after = -1;
  s.spawn("a", TaskKind::kKthread, worker(s, log, "a", 3));
  s.add_timer(0, [&] { fired_after = static_cast<int>(log.size()); });
  EXPECT_EQ(s.run({}), RunStatus::kFinished);
  return fired_after;
}

std::set<int> timer_positions(bool any_instant, std::vector<uint32_t>* a_schedule = nullptr) {
  std::set<int> positions;
  DfsStrategy dfs(1);
  for (uint64_t n = 0; !dfs.exhausted(); ++n) {
    dfs.begin_schedule(n);
    Trace trace;
    const int fired_after = run_timer_world(dfs, trace, any_instant);
    positions.insert(fired_after);
    if (a_schedule && fired_after == 1) *a_schedule = trace.schedule();
    dfs.end_schedule();
    EXPECT_LT(n, 100u);
  }
  return positions;
}

TEST(Scheduler, ADueTimerIsAChoiceAtEveryDecisionOnlyWithAnyInstant) {
  EXPECT_EQ(timer_positions(false), (std::set<int>{3}));
  std::vector<uint32_t> schedule;
  EXPECT_EQ(timer_positions(true, &schedule), (std::set<int>{0, 1, 2, 3}));
  ASSERT_FALSE(schedule.empty());
  EXPECT_NE(std::find(schedule.begin(), schedule.end(), kDueTimers), schedule.end());
  ReplayStrategy replay(schedule);
  Trace trace;
  EXPECT_EQ(run_timer_world(replay, trace, true), 1);
  EXPECT_EQ(trace.schedule(), schedule);
}

}  // namespace
}  // namespace xfsim::sim
