// harness/world: one run of a scenario (run_once): the same seed gives the same
// trace bytes, a replay the same decisions and verdict, an impossible schedule a
// verdict rather than a crash; and the correct driver is never flagged.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "harness/explore.h"
#include "harness/scenario.h"
#include "harness/trace_file.h"
#include "harness/world.h"
#include "sim/random_strategy.h"
#include "sim/replay_strategy.h"
#include "tests/harness/testing.h"

namespace xfsim::harness {
namespace {

using testing::variant;

std::string run_to_trace(const Scenario& s, const char* v, uint64_t seed, RunResult* out = nullptr) {
  sim::RandomStrategy strategy(seed);
  strategy.begin_schedule(0);
  sim::Trace trace;
  RunResult result = run_once(s, variant(v), strategy, trace);
  if (out) *out = result;
  return render_trace(s, TraceOrigin{v, "random", seed, 0}, trace, result);
}

TEST(Determinism, SameScenarioAndSeedGiveIdenticalTraceBytes) {
  const Scenario s = load_scenario("scenarios/lifecycle/standard.json");
  for (uint64_t seed : {1u, 2u, 99u}) EXPECT_EQ(run_to_trace(s, "correct", seed), run_to_trace(s, "correct", seed));
  EXPECT_NE(run_to_trace(s, "correct", 1), run_to_trace(s, "correct", 2));
}

TEST(Determinism, ReplayOfATraceGivesTheSameDecisionsAndVerdict) {
  const Scenario s = load_scenario("scenarios/bugs/publish_before_construct.json");
  CampaignOptions options = options_from(s);
  const CampaignResult campaign = explore(s, variant("publish_before_construct"), options);
  ASSERT_TRUE(campaign.first() != nullptr);
  const Finding finding = *campaign.first();
  sim::ReplayStrategy replay(finding.schedule);
  sim::Trace trace;
  const RunResult again = run_once(s, variant("publish_before_construct"), replay, trace);
  EXPECT_EQ(trace.schedule(), finding.schedule);
  EXPECT_EQ(again.verdict(), "use-after-free");
  EXPECT_EQ(again.first()->step, finding.result.first()->step);
  EXPECT_EQ(again.first()->signature(), finding.signature);
}

TEST(Replay, ImpossibleScheduleIsReportedNotCrashed) {
  const Scenario s = load_scenario("scenarios/smoke/clean.json");
  sim::ReplayStrategy replay(std::vector<uint32_t>(50, 42));  // task 42 never exists
  sim::Trace trace;
  const RunResult result = run_once(s, variant("correct"), replay, trace);
  EXPECT_EQ(result.verdict(), "impossible-schedule");
  EXPECT_NE(result.strategy_error.find("not runnable"), std::string::npos);
}

// The correct driver is never flagged, whatever the seed.
RC_GTEST_PROP(Property, CorrectDriverIsNeverFlaggedOnTheSmokeScenario, (uint64_t seed)) {
  static const Scenario s = load_scenario("scenarios/smoke/clean.json");
  sim::RandomStrategy strategy(seed);
  strategy.begin_schedule(0);
  sim::Trace trace;
  trace.logging = false;
  const RunResult result = run_once(s, variant("correct"), strategy, trace);
  RC_ASSERT(result.verdict() == std::string("clean"));
}

}  // namespace
}  // namespace xfsim::harness
