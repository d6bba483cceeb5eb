// sim/replay_strategy: a recorded schedule replayed, an impossible one refused.
#include <gtest/gtest.h>

#include "sim/random_strategy.h"
#include "sim/replay_strategy.h"
#include "sim/scheduler.h"
#include "tests/sim/testing.h"

namespace xfsim::sim {
namespace {

using testing::interleave;
using testing::worker;

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

}  // namespace
}  // namespace xfsim::sim
