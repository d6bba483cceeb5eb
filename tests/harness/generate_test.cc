// The scenario generator (harness/generate.h): every generated scenario, and
// every mutation and cross-over of the shipped ones, passes the schema and
// the meaning checks and survives being written out and read back; all of it
// is deterministic in its seed.
#include "harness/generate.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "harness/fuzz_generate.h"
#include "harness/scenario.h"

namespace xfsim::harness {
namespace {

// parse_scenario with the schema, from the text a scenario file would hold.
void expect_valid(const nlohmann::json& document, const std::string& what) {
  try {
    const std::string text = document.dump(2) + "\n";
    parse_scenario(parse_json_text(text, what), what, /*validate=*/true);
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": " << e.what() << "\n" << document.dump(2);
  }
}

std::vector<nlohmann::json> shipped() {
  std::vector<std::string> skipped;
  auto corpus = load_corpus("scenarios", &skipped);
  EXPECT_TRUE(skipped.empty()) << skipped.front();
  return corpus;
}

TEST(GenerateTest, ThousandsOfGeneratedScenariosValidate) {
  std::set<std::string> ops, backend_actions;
  size_t with_threads = 0, with_faults = 0, with_host = 0, multi_connector = 0, be_alloc = 0, with_when = 0;
  for (uint64_t seed = 0; seed < 3000; ++seed) {
    const nlohmann::json s = generate_scenario(seed);
    expect_valid(s, "seed " + std::to_string(seed));
    if (::testing::Test::HasFailure()) return;
    for (const auto& actor : s["actors"]) {
      with_threads += actor.contains("thread_of");
      for (const auto& step : actor["steps"]) ops.insert(step["op"].get<std::string>());
    }
    if (s.contains("backend") && s["backend"].contains("script")) {
      for (const auto& a : s["backend"]["script"]) {
        backend_actions.insert(a["action"].get<std::string>());
        with_when += a.contains("when");
      }
    }
    with_faults += s.contains("faults");
    with_host += s.contains("host");
    multi_connector += s["config"]["connectors"].size() > 1;
    be_alloc += s["config"]["be_alloc"].get<bool>();
  }
  // Every op of the schema and every backend action is generated, and the
  // other dimensions are varied.
  EXPECT_EQ(ops.size(), 27u);
  EXPECT_EQ(backend_actions.size(), 5u);
  EXPECT_GT(with_threads, 300u);
  EXPECT_GT(with_faults, 300u);
  EXPECT_GT(with_host, 300u);
  EXPECT_GT(multi_connector, 300u);
  EXPECT_GT(be_alloc, 300u);
  EXPECT_GT(with_when, 100u);
}

TEST(GenerateTest, GenerationIsDeterministic) {
  for (uint64_t seed = 0; seed < 50; ++seed) EXPECT_EQ(generate_scenario(seed), generate_scenario(seed));
  EXPECT_NE(generate_scenario(1), generate_scenario(2));
}

TEST(GenerateTest, ShippedScenariosAsFuzzInputsValidate) {
  const auto corpus = shipped();
  ASSERT_GT(corpus.size(), 30u);
  for (const auto& s : corpus) expect_valid(as_fuzz_input(s), s["name"].get<std::string>());
}

TEST(GenerateTest, MutationAndCrossOverKeepValidity) {
  std::vector<nlohmann::json> pool = shipped();
  for (uint64_t seed = 0; seed < 20; ++seed) pool.push_back(generate_scenario(seed));
  sim::Prng prng(7);
  size_t changed = 0;
  for (int i = 0; i < 3000; ++i) {
    const nlohmann::json& a = pool[prng.below(pool.size())];
    nlohmann::json child;
    if (i % 4 == 0) {
      child = cross_over(a, pool[prng.below(pool.size())], prng);
    } else {
      child = mutate_scenario(a, prng);
    }
    expect_valid(child, "mutation " + std::to_string(i));
    if (::testing::Test::HasFailure()) return;
    changed += child != as_fuzz_input(a);
    // Chains of mutations stay valid too.
    if (i % 3 == 0) pool.push_back(child);
  }
  EXPECT_GT(changed, 2500u);  // a mutation that changes nothing is rare
}

TEST(GenerateTest, MutationIsDeterministic) {
  const nlohmann::json base = generate_scenario(5);
  sim::Prng a(11), b(11);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(mutate_scenario(base, a), mutate_scenario(base, b));
}

// A cross-over brings in an actor script of the other parent (renamed when
// its name is taken) together with its threads.
TEST(GenerateTest, CrossOverSplicesActorScripts) {
  const nlohmann::json a = generate_scenario(3), b = generate_scenario(4);
  bool spliced = false;
  for (uint64_t seed = 0; seed < 200 && !spliced; ++seed) {
    sim::Prng prng(seed);
    const nlohmann::json child = cross_over(a, b, prng);
    for (const auto& actor : child["actors"]) {
      for (const auto& other : b["actors"]) {
        if (!actor.contains("thread_of") && !other.contains("thread_of") && actor["steps"] == other["steps"] &&
            actor["steps"].size() > 3)
          spliced = true;
      }
    }
  }
  EXPECT_TRUE(spliced);
}

}  // namespace
}  // namespace xfsim::harness
