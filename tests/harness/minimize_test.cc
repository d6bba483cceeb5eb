// harness/minimize: a finding shrunk, and the reproducer written from it replays.
#include <gtest/gtest.h>

#include "harness/explore.h"
#include "harness/minimize.h"
#include "harness/scenario.h"
#include "tests/harness/testing.h"

namespace xfsim::harness {
namespace {

using testing::variant;

TEST(Minimize, ShrinksAFindingAndTheReproducerScenarioReplaysTheSameViolation) {
  const Scenario s = load_scenario("scenarios/lifecycle/standard.json");
  CampaignOptions options;
  options.strategy = "random";
  options.schedules = 2000;
  const driver::Variant& v = variant("no_teardown_mutex");
  const CampaignResult campaign = explore(s, v, options);
  ASSERT_NE(campaign.first(), nullptr);
  const Finding& f = *campaign.first();
  const Minimized m = minimize(Reproducer{f.scenario, f.schedule, f.signature, f.result}, v);
  ASSERT_TRUE(m.reproduced);
  EXPECT_LT(m.after.actions, m.before.actions);
  EXPECT_LE(m.after.decisions, m.before.decisions);
  EXPECT_LE(m.after.preemptions, m.before.preemptions);
  // The written scenario, run as `xfsim run` would, reports the same signature.
  const nlohmann::json document = reproducer_scenario(m.reproducer, v.name, "min");
  EXPECT_EQ(verify_reproducer(document, v), "");
  const Scenario reproducer = parse_scenario(document, "min.json");
  EXPECT_EQ(reproducer.expect_signature, f.signature);
  const CampaignResult again = explore(reproducer, v, options_from(reproducer));
  ASSERT_NE(again.first(), nullptr);
  EXPECT_TRUE(reports(again.first()->result, f.signature)) << f.signature;
  // And the correct driver is clean on it.
  EXPECT_EQ(explore(reproducer, variant("correct"), options_from(reproducer)).first(), nullptr);
}

}  // namespace
}  // namespace xfsim::harness
