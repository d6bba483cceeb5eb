// Lifecycle coverage (harness/lifecycle_coverage.h): what the observer sees
// of a known run, that observing does not change the run, and that features
// grow and then level off over a deterministic generated campaign.
#include "harness/lifecycle_coverage.h"

#include <gtest/gtest.h>

#include "harness/explore.h"
#include "harness/fuzz_generate.h"
#include "harness/scenario.h"
#include "harness/world.h"
#include "sim/random_strategy.h"
#include "tests/harness/testing.h"

namespace xfsim::harness {
namespace {

uint64_t state(LifecycleComponent c, uint8_t value) {
  return (uint64_t{static_cast<uint8_t>(FeatureKind::kState)} << 56) | (uint64_t{static_cast<uint8_t>(c)} << 16) |
         value;
}
uint64_t transition(LifecycleComponent c, uint8_t from, uint8_t to) {
  return (uint64_t{static_cast<uint8_t>(FeatureKind::kTransition)} << 56) | (uint64_t{static_cast<uint8_t>(c)} << 16) |
         (uint64_t{from} << 8) | to;
}

// The standard lifecycle: connect, two buffers, flips, the backend
// disconnects with the device open, the device is unplugged and released.
TEST(LifecycleCoverageTest, SeesTheStandardLifecycle) {
  const Scenario scenario = load_scenario("scenarios/lifecycle/standard.json");
  sim::RandomStrategy strategy(1);
  strategy.begin_schedule(0);
  sim::Trace trace;
  trace.logging = false;
  LifecycleObserver observer;
  const RunResult result = run_once(scenario, testing::variant("correct"), strategy, trace, &observer);
  ASSERT_EQ(result.verdict(), "clean");
  EXPECT_GT(observer.samples(), 10u);
  LifecycleCoverage coverage;
  coverage.merge(observer.features());
  using C = LifecycleComponent;
  const uint8_t connected = static_cast<uint8_t>(fakes::XenbusState::Connected);
  const uint8_t closing = static_cast<uint8_t>(fakes::XenbusState::Closing);
  EXPECT_TRUE(coverage.contains(state(C::kFrontend, connected)));
  EXPECT_TRUE(coverage.contains(state(C::kBackend, closing)));
  EXPECT_TRUE(coverage.contains(transition(C::kBackend, connected, closing)));
  EXPECT_TRUE(coverage.contains(transition(C::kDrmDevice, kDrmRegistered, kDrmUnplugged)));
  EXPECT_TRUE(coverage.contains(state(C::kDrmDevice, kDrmReleased)));
  EXPECT_TRUE(coverage.contains(transition(C::kBuffer, kBufferNone, kBufferHandle)));
  EXPECT_TRUE(coverage.contains(state(C::kBuffer, kBufferFreed)));
  EXPECT_TRUE(coverage.contains(state(C::kFiles, 1)));
  EXPECT_TRUE(coverage.contains(transition(C::kFiles, 1, 0)));
  EXPECT_TRUE(coverage.contains(state(C::kMappings, 1)));
  EXPECT_TRUE(coverage.contains(state(C::kFramebuffers, 2)));
  EXPECT_TRUE(coverage.contains(state(C::kRequests, 1)));
  // Never exported in this scenario.
  EXPECT_FALSE(coverage.contains(state(C::kBuffer, kBufferExported)));
  const std::string report = coverage.report();
  EXPECT_NE(report.find("registered -> unplugged"), std::string::npos) << report;
}

// Observing reads between steps and records nothing: the run is the same
// with and without an observer.
TEST(LifecycleCoverageTest, ObservingDoesNotChangeTheRun) {
  for (const char* path : {"scenarios/lifecycle/standard.json", "scenarios/lifecycle/prime_share.json",
                           "scenarios/lifecycle/backend_death_restart.json"}) {
    const Scenario scenario = load_scenario(path);
    for (uint64_t index = 0; index < 5; ++index) {
      uint64_t hashes[2];
      for (int observed = 0; observed < 2; ++observed) {
        sim::RandomStrategy strategy(3);
        strategy.begin_schedule(index);
        sim::Trace trace;
        trace.logging = false;
        LifecycleObserver observer;
        run_once(scenario, testing::variant("upstream"), strategy, trace, observed ? &observer : nullptr);
        hashes[observed] = trace.trace_hash();
      }
      EXPECT_EQ(hashes[0], hashes[1]) << path << " schedule " << index;
    }
  }
}

// Over a deterministic campaign from generated inputs only, coverage grows
// well past what the first inputs reached, and then levels off: the last
// quarter of the executions adds less than the first.
TEST(LifecycleCoverageTest, FeaturesGrowThenSaturate) {
  GenerateOptions options;
  options.seed = 4;
  options.max_execs = 4096;
  const GenerateResult result = fuzz_generate({}, testing::variant("correct"), options);
  ASSERT_GE(result.growth.size(), 17u);
  const size_t first = result.growth[1].second, quarter = result.growth[4].second;
  const size_t three_quarters = result.growth[12].second, last = result.growth[16].second;
  EXPECT_GT(quarter, first);
  EXPECT_GT(last, quarter);
  EXPECT_LT(last - three_quarters, quarter - first);
  for (size_t i = 1; i < result.growth.size(); ++i) EXPECT_GE(result.growth[i].second, result.growth[i - 1].second);
  EXPECT_GT(result.corpus.size(), 20u);
}

// The target, in small: the corpus a short deterministic campaign
// grows from the shipped scenarios reaches strictly more lifecycle features
// than the shipped scenarios together (each run once, as `xfsim coverage`).
TEST(LifecycleCoverageTest, GeneratedCorpusCoversMoreThanTheShippedScenarios) {
  std::vector<std::string> skipped;
  const auto shipped = load_corpus("scenarios", &skipped);
  const LifecycleCoverage baseline = corpus_coverage(shipped);
  GenerateOptions options;
  options.seed = 2;
  options.max_execs = 1000;
  const GenerateResult result = fuzz_generate(shipped, testing::variant("correct"), options);
  EXPECT_GT(result.coverage.size(), 2 * baseline.size());
  size_t shared = 0;
  for (uint64_t f : baseline.features()) shared += result.coverage.contains(f);
  EXPECT_GT(shared, baseline.size() * 9 / 10);  // the seeds' own coverage is kept
}

}  // namespace
}  // namespace xfsim::harness
