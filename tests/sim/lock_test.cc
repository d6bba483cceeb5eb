// sim/lock: the mutex and the spinlock. Their oracle bad-unlock-balance;
// sleeping under a spinlock is might_sleep's (wait_queue_test), a task
// ending with one held the scheduler's (scheduler_test).
#include <gtest/gtest.h>

#include "sim/lock.h"
#include "sim/replay_strategy.h"
#include "sim/scheduler.h"

namespace xfsim::sim {
namespace {

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
