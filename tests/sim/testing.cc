#include "tests/sim/testing.h"

#include <gtest/gtest.h>

namespace xfsim::testing {

using sim::Scheduler;
using sim::Task;

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

std::vector<std::string> interleave(sim::Strategy& strategy) {
  sim::Trace trace;
  Scheduler s(strategy, trace);
  std::vector<std::string> log;
  s.spawn("a", sim::TaskKind::kKthread, worker(s, log, "a", 3));
  s.spawn("b", sim::TaskKind::kKthread, worker(s, log, "b", 3));
  EXPECT_EQ(s.run({}), sim::RunStatus::kFinished);
  return log;
}

Task<> sleeper(Scheduler&, sim::WaitQueue& q, bool& woke, int64_t timeout) {
  woke = co_await q.wait("sleeper", timeout);
}

std::string Bench::verdict() const {
  return scheduler.has_violation() ? scheduler.violations().front().kind_name() : "clean";
}

std::string Bench::run() {
  scheduler.run({});
  return verdict();
}

}  // namespace xfsim::testing
