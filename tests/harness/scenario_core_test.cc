// The scenario's "core" object (harness/scenario.cc, parse_core): a version
// selects the switches of every commit it contains, a named switch overrides
// its version, and anything else is refused where it is written. The
// switches' behaviour is tests/fakes/core_config_test.cc; their effect on the
// driver, the scenario pairs lifecycle/be_alloc_unplug{,_v5_14} and
// lifecycle/backend_hang{,_xsa396}.
#include <gtest/gtest.h>

#include <string>

#include "harness/scenario.h"

namespace xfsim::harness {
namespace {

Scenario with_core(const std::string& core) {
  const std::string text = R"({"format":"xfsim-scenario/0","name":"n","expect":{"verdict":"clean"},)" +
                           (core.empty() ? std::string() : R"("core":)" + core + ",") +
                           R"("actors":[{"name":"a","steps":[{"op":"open"}]}]})";
  return parse_scenario(nlohmann::json::parse(text), "c.json");
}

TEST(ScenarioCore, WithoutCoreTheModelIsV5_10) {
  const Scenario s = with_core("");
  EXPECT_EQ(s.core.major, 5u);
  EXPECT_EQ(s.core.minor, 10u);
  EXPECT_FALSE(s.core.drm_dev_unplug_unmaps);
  EXPECT_FALSE(s.core.gnttab_deferred_end_holds_page);
}

TEST(ScenarioCore, AVersionSelectsItsSwitches) {
  const Scenario v5_14 = with_core(R"({"version":"5.14"})");
  EXPECT_TRUE(v5_14.core.drm_dev_unplug_unmaps);
  EXPECT_FALSE(v5_14.core.gnttab_deferred_end_holds_page);
  const Scenario v5_17 = with_core(R"({"version":"5.17"})");
  EXPECT_TRUE(v5_17.core.drm_dev_unplug_unmaps);
  EXPECT_TRUE(v5_17.core.gnttab_deferred_end_holds_page);
}

// A stable backport: 5.10.105 has XSA-396's grant table and not 5.14's unmap.
TEST(ScenarioCore, ANamedSwitchOverridesItsVersion) {
  const Scenario backport = with_core(R"({"version":"5.10","gnttab_deferred_end_holds_page":true})");
  EXPECT_FALSE(backport.core.drm_dev_unplug_unmaps);
  EXPECT_TRUE(backport.core.gnttab_deferred_end_holds_page);
  const Scenario off = with_core(R"({"version":"5.14","drm_dev_unplug_unmaps":false})");
  EXPECT_FALSE(off.core.drm_dev_unplug_unmaps);
}

TEST(ScenarioCore, UnknownSwitchesAndBadVersionsAreRefusedWithTheirPlace) {
  for (const char* core : {R"({"version":"5"})", R"({"version":"v5.10"})", R"({"version":"5.10.7"})",
                           R"({"drm_dev_unplug_twice":true})", R"({"drm_dev_unplug_unmaps":1})"}) {
    try {
      with_core(core);
      ADD_FAILURE() << core << " accepted";
    } catch (const ScenarioError& e) {
      EXPECT_NE(std::string(e.what()).find("c.json: at /core"), std::string::npos) << e.what();
    }
  }
  // Past the schema, parse_core itself refuses a version it cannot read.
  const nlohmann::json j = nlohmann::json::parse(
      R"({"format":"xfsim-scenario/0","name":"n","expect":{"verdict":"clean"},"core":{"version":"5.x"},)"
      R"("actors":[{"name":"a","steps":[{"op":"open"}]}]})");
  EXPECT_THROW(parse_scenario(j, "c.json", /*validate=*/false), ScenarioError);
}

}  // namespace
}  // namespace xfsim::harness
