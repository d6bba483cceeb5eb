// Campaigns as sharded Bazel tests: Bazel sets TEST_SHARD_INDEX and
// TEST_TOTAL_SHARDS; random campaigns take every TOTAL-th schedule, the
// exhaustive checks take every TOTAL-th scenario. The shards never overlap,
// so a remote-execution cluster runs a campaign with no change (docs/scale-out.md).
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "driver_core/variant.h"
#include "harness/explore.h"
#include "harness/scenario.h"

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

// Sleep sets must not lose a finding: on every bug-zoo scenario under its
// variant, and every lifecycle scenario under upstream, the reduced search
// finds the same distinct violations (kind + site) as the full one, in no more
// schedules, and still covers its space.
TEST(Campaign, SleepSetsFindWhatTheFullDfsFindsInFewerSchedules) {
  const Shard shard;
  std::vector<std::pair<std::string, const driver::Variant*>> cases;
  for (const auto& v : driver::all_variants()) {
    if (v.name != "correct" && v.name != "upstream") cases.emplace_back("scenarios/bugs/" + v.name + ".json", &v);
  }
  for (const auto& name : kLifecycle) {
    cases.emplace_back("scenarios/lifecycle/" + name + ".json", driver::find_variant("upstream"));
  }
  uint64_t full_total = 0, reduced_total = 0;
  for (size_t i = shard.index; i < cases.size(); i += shard.total) {
    const Scenario s = load_scenario(cases[i].first);
    std::set<std::pair<std::string, std::string>> found[2];
    uint64_t schedules[2] = {0, 0};
    for (int reduced = 0; reduced < 2; ++reduced) {
      CampaignOptions options;
      options.strategy = "dfs";
      options.preemption_bound = 2;
      options.schedules = 1000000;
      options.stop_at_first = false;
      options.sleep_sets = reduced == 1;
      const CampaignResult campaign = explore(s, *cases[i].second, options);
      EXPECT_TRUE(campaign.exhausted) << cases[i].first;
      for (const Finding& f : campaign.findings) found[reduced].insert({f.result.verdict(), f.signature});
      schedules[reduced] = campaign.schedules_run;
      if (!options.sleep_sets) {
        EXPECT_EQ(campaign.schedules_pruned, 0u);
      }
    }
    EXPECT_EQ(found[0], found[1]) << cases[i].first << " under " << cases[i].second->name;
    EXPECT_LE(schedules[1], schedules[0]) << cases[i].first;
    full_total += schedules[0];
    reduced_total += schedules[1];
  }
  // The reduction has to pay somewhere in each shard's share.
  EXPECT_LT(reduced_total, full_total);
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
