// harness/scenario: bad input refused, naming where.
#include <gtest/gtest.h>

#include "harness/scenario.h"

namespace xfsim::harness {
namespace {

TEST(BadInput, MalformedJsonNamesFileLineAndColumn) {
  try {
    parse_json_text("{\n  \"format\": \n}", "x.json");
    FAIL();
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("x.json:3:"), std::string::npos) << e.what();
  }
}

TEST(BadInput, UnknownFieldIsRejectedWithItsPlace) {
  nlohmann::json j = nlohmann::json::parse(R"({"format":"xfsim-scenario/0","name":"n","expect":{"verdict":"clean"},
    "actors":[{"name":"a","steps":[{"op":"open","colour":"red"}]}]})");
  try {
    parse_scenario(j, "y.json");
    FAIL();
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("y.json: at /actors/0/steps/0"), std::string::npos) << e.what();
  }
}

TEST(BadInput, ThreadOfAnUnknownActorIsRejected) {
  nlohmann::json j = nlohmann::json::parse(R"({"format":"xfsim-scenario/0","name":"n","expect":{"verdict":"clean"},
    "actors":[{"name":"a","thread_of":"ghost","steps":[]}]})");
  EXPECT_THROW(parse_scenario(j, "z.json"), ScenarioError);
}

}  // namespace
}  // namespace xfsim::harness
