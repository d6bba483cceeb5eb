// sim/lockdep: lock classes and their dependency graph; lock-order-inversion
// firing and silent, and the bound on classes.
#include <memory>

#include <gtest/gtest.h>

#include "sim/lock.h"
#include "sim/lockdep.h"
#include "sim/random_strategy.h"
#include "sim/scheduler.h"
#include "sim/stack.h"

namespace xfsim::sim {
namespace {

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

}  // namespace
}  // namespace xfsim::sim
