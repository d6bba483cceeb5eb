// Campaigns as sharded Bazel tests: Bazel sets TEST_SHARD_INDEX and
// TEST_TOTAL_SHARDS; random campaigns take every TOTAL-th schedule, the
// exhaustive checks take every TOTAL-th scenario. The shards never overlap,
// so a remote-execution cluster runs a campaign with no change (docs/scale-out.md).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "driver_core/variant.h"
#include "harness/explore.h"
#include "harness/scenario.h"
#include "harness/world.h"
#include "sim/dfs_strategy.h"
#include "sim/random_strategy.h"
#include "tests/commutation.h"

namespace xfsim::harness {
namespace {

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value ? std::strtoull(value, nullptr, 10) : fallback;
}

struct Shard {
  uint64_t index = env_or("TEST_SHARD_INDEX", 0);
  uint64_t total = env_or("TEST_TOTAL_SHARDS", 1);
  Shard() {
    // Tell Bazel this test knows about sharding.
    if (const char* status = std::getenv("TEST_SHARD_STATUS_FILE")) std::ofstream(status).put('\n');
  }
};

const std::vector<std::string> kLifecycle = {"backend_death_restart", "backend_hang", "be_alloc_unplug",
                                             "connect_disconnect",    "flip",         "hostile",
                                             "remove_with_zombie",    "standard",     "zombie"};

TEST(Campaign, CorrectDriverCleanOverRandomSchedulesAndTimings) {
  const Shard shard;
  const Scenario s = load_scenario("scenarios/lifecycle/standard.json");
  CampaignOptions options;
  options.strategy = "random";
  options.seed = 2026;
  options.schedules = 20000;
  options.shard_index = shard.index;
  options.shard_count = shard.total;
  options.mutate_timing = true;
  const CampaignResult campaign = explore(s, *driver::find_variant("correct"), options);
  EXPECT_GT(campaign.schedules_run, 20000 / shard.total - 1);
  ASSERT_FALSE(campaign.first() != nullptr) << campaign.first()->signature;
}

TEST(Campaign, CorrectDriverCleanUnderDfsBound2OnEveryLifecycleScenario) {
  const Shard shard;
  for (size_t i = shard.index; i < kLifecycle.size(); i += shard.total) {
    const Scenario s = load_scenario("scenarios/lifecycle/" + kLifecycle[i] + ".json");
    CampaignOptions options;
    options.strategy = "dfs";
    options.preemption_bound = 2;
    options.schedules = 1000000;
    const CampaignResult campaign = explore(s, *driver::find_variant("correct"), options);
    EXPECT_TRUE(campaign.exhausted) << kLifecycle[i];
    EXPECT_FALSE(campaign.first() != nullptr) << kLifecycle[i] << ": " << campaign.first()->signature;
  }
}

TEST(Campaign, DfsBound2FindsEveryBugZooVariant) {
  const Shard shard;
  std::vector<const driver::Variant*> zoo;
  for (const auto& v : driver::all_variants()) {
    if (v.name != "correct" && v.name != "upstream") zoo.push_back(&v);
  }
  for (size_t i = shard.index; i < zoo.size(); i += shard.total) {
    const Scenario s = load_scenario("scenarios/bugs/" + zoo[i]->name + ".json");
    CampaignOptions options;
    options.strategy = "dfs";
    options.preemption_bound = 2;
    options.schedules = 1000000;
    const CampaignResult campaign = explore(s, *zoo[i], options);
    ASSERT_TRUE(campaign.first() != nullptr) << zoo[i]->name;
    EXPECT_EQ(campaign.first()->result.verdict(), s.expect_verdict) << zoo[i]->name;
  }
}

// Every scenario file under the variants it is run with: `correct`, its own,
// and (lifecycle) `upstream`; in path order, so shards split them the same
// way every time. dfs bound 2, or 1 where one schedule is over 1,000 steps
// (lifecycle/ring_full, 40 processes: a full bound-2 search did not end in
// 30 minutes).
struct ScenarioCase {
  std::string path;
  const driver::Variant* variant;
  uint32_t bound;
};

std::vector<ScenarioCase> every_scenario_case() {
  std::vector<std::string> paths;
  for (const char* folder : {"scenarios/bugs", "scenarios/lifecycle", "scenarios/smoke"}) {
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
      if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<ScenarioCase> cases;
  for (const std::string& path : paths) {
    const Scenario s = load_scenario(path);
    sim::RandomStrategy probe(1);
    sim::Trace trace;
    trace.logging = false;
    const uint32_t bound = run_once(s, *driver::find_variant("correct"), probe, trace).steps > 1000 ? 1 : 2;
    std::vector<std::string> variants = {"correct", s.variant};
    if (path.find("/lifecycle/") != std::string::npos) variants.push_back("upstream");
    std::vector<std::string> seen;
    for (const std::string& name : variants) {
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
      seen.push_back(name);
      cases.push_back(ScenarioCase{path, driver::find_variant(name), bound});
    }
  }
  return cases;
}

// Sleep sets must not lose a finding: on every scenario under each of its
// variants the reduced search finds the same distinct violations (kind +
// site) as the full one, in no more schedules, and still covers its space.
// (That the reduced search also reaches every class of interleavings the full
// one reaches only holds without a preemption bound: with one, the reordering
// that stands for a class may need more preemptions than the bound allows
// (Coons, Musuvathi, McKinley, OOPSLA 2013), and 12 of 40 of these cases
// lose a few classes so, whatever the footprints. sim/footprint_test shows
// that comparison on an unbounded search; here completeness of footprints is
// checked step by step, below.)
TEST(Campaign, SleepSetsFindWhatTheFullDfsFindsInFewerSchedulesOnEveryScenario) {
  const Shard shard;
  const std::vector<ScenarioCase> cases = every_scenario_case();
  uint64_t full_total = 0, reduced_total = 0;
  for (size_t i = shard.index; i < cases.size(); i += shard.total) {
    const ScenarioCase& c = cases[i];
    const Scenario s = load_scenario(c.path);
    std::set<std::pair<std::string, std::string>> found[2];
    uint64_t schedules[2] = {0, 0};
    for (int reduced = 0; reduced < 2; ++reduced) {
      CampaignOptions options;
      options.strategy = "dfs";
      options.preemption_bound = c.bound;
      options.schedules = 1000000;
      options.stop_at_first = false;
      options.sleep_sets = reduced == 1;
      const CampaignResult campaign = explore(s, *c.variant, options);
      EXPECT_TRUE(campaign.exhausted) << c.path << " under " << c.variant->name;
      for (const Finding& f : campaign.findings) found[reduced].insert({f.result.verdict(), f.signature});
      schedules[reduced] = campaign.schedules_run;
      if (!options.sleep_sets) {
        EXPECT_EQ(campaign.schedules_pruned, 0u);
      }
    }
    EXPECT_EQ(found[0], found[1]) << c.path << " under " << c.variant->name;
    EXPECT_LE(schedules[1], schedules[0]) << c.path << " under " << c.variant->name;
    full_total += schedules[0];
    reduced_total += schedules[1];
  }
  // The reduction has to pay somewhere in each shard's share.
  EXPECT_LT(reduced_total, full_total);
}

// Footprints are complete: in schedules of every scenario under each of its
// variants, every pair of adjacent steps that their footprints call
// independent, run the other way round, leaves every task's history as it
// was (tests/commutation.h). A footprint an accessor failed to record fails
// this even where sleep sets lose no finding.
TEST(Campaign, StepsThatFootprintsCallIndependentCommuteOnEveryScenario) {
  const Shard shard;
  const std::vector<ScenarioCase> cases = every_scenario_case();
  // Per case: random schedules, which vary every decision, and every
  // kDfsStride-th schedule of the bounded search, which varies the late ones
  // (teardown, where pages and grants go) most.
  // A big scenario (bound 1: over 1,000 steps, each swap a whole run) gets a
  // quarter of them.
  constexpr uint64_t kRandomSchedules = 20, kDfsSchedules = 40, kDfsStride = 37;
  for (size_t i = shard.index; i < cases.size(); i += shard.total) {
    const ScenarioCase& c = cases[i];
    const Scenario s = load_scenario(c.path);
    const testing::RunFollowing run = [&](const std::vector<uint32_t>& schedule) {
      testing::ScheduleFollower follower(schedule);
      sim::Trace trace;
      const RunResult result = run_once(s, *c.variant, follower, trace);
      return testing::record(result.status, trace, follower);
    };
    uint64_t swaps = 0;
    const auto check = [&](const std::vector<uint32_t>& schedule, const std::string& which) {
      const testing::RecordedRun recorded = run(schedule);
      ASSERT_NE(recorded.status, sim::RunStatus::kStrategyError) << c.path;
      for (const std::string& pair : testing::non_commuting_steps(run, recorded, 3, &swaps)) {
        ADD_FAILURE() << c.path << " under " << c.variant->name << ", " << which << ": " << pair;
      }
    };
    sim::Trace trace;
    trace.logging = false;
    const uint64_t share = c.bound == 1 ? 4 : 1;
    for (uint64_t k = 0; k < kRandomSchedules / share; ++k) {
      sim::RandomStrategy random(2026);
      random.begin_schedule(k);
      trace.clear();
      run_once(s, *c.variant, random, trace);
      check(trace.schedule(), "random schedule " + std::to_string(k));
    }
    sim::DfsStrategy dfs(c.bound);
    for (uint64_t n = 0, checked = 0; !dfs.exhausted() && checked < kDfsSchedules / share; ++n) {
      dfs.begin_schedule(n);
      trace.clear();
      run_once(s, *c.variant, dfs, trace);
      dfs.end_schedule();
      if (n % kDfsStride == 0) {
        check(trace.schedule(), "dfs schedule " + std::to_string(n));
        ++checked;
      }
    }
    EXPECT_GT(swaps, 0u) << c.path << " under " << c.variant->name << ": nothing to check";
  }
}

}  // namespace
}  // namespace xfsim::harness

// Bazel also exports GTEST_SHARD_INDEX / GTEST_TOTAL_SHARDS, which would make
// gtest run each TEST in one shard only; here every TEST runs in every shard
// and splits its own work, so gtest's sharding is turned off.
int main(int argc, char** argv) {
  unsetenv("GTEST_SHARD_INDEX");
  unsetenv("GTEST_TOTAL_SHARDS");
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
