// sim/wait_queue: waits that time out on the virtual clock, and
// might_sleep's oracle (sleep-in-atomic), firing and silent.
#include <gtest/gtest.h>

#include "sim/lock.h"
#include "sim/random_strategy.h"
#include "sim/scheduler.h"
#include "sim/wait_queue.h"
#include "tests/sim/testing.h"

namespace xfsim::sim {
namespace {

using testing::sleeper;

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

}  // namespace
}  // namespace xfsim::sim
