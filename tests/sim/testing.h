// What the engine's unit tests share (tests/sim/*_test.cc; the fakes' tests
// build on it, tests/fakes/testing.h): small tasks, a two-task run whose log
// shows the interleaving a strategy chose, and a scheduler with a verdict.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/random_strategy.h"
#include "sim/scheduler.h"
#include "sim/strategy.h"
#include "sim/trace.h"
#include "sim/wait_queue.h"

namespace xfsim::testing {

// Returns a + b after one scheduling point.
sim::Task<int> add_after_point(sim::Scheduler& s, int a, int b);

// `steps` times: a scheduling point, then appends name + the step's number
// (from 1) to the log (which stands outside the model).
sim::Task<> worker(sim::Scheduler& s, std::vector<std::string>& log, std::string name, int steps);

// Runs workers a and b (3 steps each) to their end under `strategy`: the log
// is the interleaving it chose.
std::vector<std::string> interleave(sim::Strategy& strategy);

// Waits on `q` for up to `timeout` ms (-1: for ever); `woke` says whether it was woken.
sim::Task<> sleeper(sim::Scheduler&, sim::WaitQueue& q, bool& woke, int64_t timeout);

// A scheduler (random strategy, seed 1) with its verdict: the first
// violation's kind, or "clean".
struct Bench {
  sim::RandomStrategy strategy{1};
  sim::Trace trace;
  sim::Scheduler scheduler{strategy, trace};

  std::string verdict() const;
  std::string run();
};

}  // namespace xfsim::testing
