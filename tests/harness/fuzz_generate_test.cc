// The coverage-guided loop of `xfsim fuzz --generate` (harness/
// fuzz_generate.h): deterministic for a seed and an execution limit; from a
// seed corpus without a bug-zoo variant's own scenario it still finds that
// variant's bug, by its own path, with a reproducer that `correct` passes;
// `correct` itself stays clean.
#include "harness/fuzz_generate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/minimize.h"
#include "harness/scenario.h"
#include "tests/harness/testing.h"

namespace xfsim::harness {
namespace {

std::vector<nlohmann::json> shipped_without(const std::string& variant) {
  std::vector<std::string> skipped;
  std::vector<nlohmann::json> out;
  for (auto& s : load_corpus("scenarios", &skipped)) {
    if (s.value("variant", "correct") != variant) out.push_back(std::move(s));
  }
  return out;
}

TEST(FuzzGenerateTest, DeterministicForASeedAndAnExecutionLimit) {
  GenerateOptions options;
  options.seed = 9;
  options.max_execs = 600;
  const auto seeds = shipped_without("");
  const GenerateResult a = fuzz_generate(seeds, testing::variant("upstream"), options);
  const GenerateResult b = fuzz_generate(seeds, testing::variant("upstream"), options);
  EXPECT_EQ(a.stats.execs, seeds.size() + 600);
  EXPECT_EQ(a.stats.execs, b.stats.execs);
  EXPECT_EQ(a.stats.features, b.stats.features);
  EXPECT_EQ(a.corpus, b.corpus);
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (size_t i = 0; i < a.findings.size(); ++i) {
    EXPECT_EQ(a.findings[i].signature, b.findings[i].signature);
    EXPECT_EQ(a.findings[i].exec, b.findings[i].exec);
    EXPECT_EQ(a.findings[i].schedule, b.findings[i].schedule);
  }
  options.seed = 10;
  EXPECT_NE(fuzz_generate(seeds, testing::variant("upstream"), options).corpus, a.corpus);
}

// `correct` over a short deterministic run: no finding at all.
TEST(FuzzGenerateTest, CorrectStaysClean) {
  GenerateOptions options;
  options.seed = 1;
  options.max_execs = 3000;
  const GenerateResult result = fuzz_generate(shipped_without(""), testing::variant("correct"), options);
  for (const auto& f : result.findings) {
    ADD_FAILURE() << f.signature << " at execution " << f.exec << "\n" << f.scenario.dump(2);
  }
  EXPECT_GT(result.stats.features, 500u);
}

// With its own scenario removed from the seed corpus, the loop finds each
// variant's bug: the kind its zoo scenario expects, through the kernel
// function that scenario names, and a reproducer of it that re-runs and
// leaves `correct` clean (verify_reproducer, as `xfsim fuzz` checks before
// writing one).
void expect_found(const std::string& variant_name, uint64_t budget) {
  const Scenario zoo = load_scenario("scenarios/bugs/" + variant_name + ".json");
  const driver::Variant& variant = testing::variant(variant_name.c_str());
  GenerateOptions options;
  options.seed = 1;
  options.max_execs = budget;
  const GenerateFinding* found = nullptr;
  const GenerateResult result = fuzz_generate(shipped_without(variant_name), variant, options);
  for (const auto& f : result.findings) {
    if (f.result.find(f.signature)->kind_name() == zoo.expect_verdict &&
        (zoo.expect_site.empty() || reports_through(f.result, zoo.expect_verdict, zoo.expect_site))) {
      found = &f;
      break;
    }
  }
  ASSERT_NE(found, nullptr) << variant_name << ": no " << zoo.expect_verdict << " through " << zoo.expect_site << " in "
                            << result.stats.execs << " executions";
  const nlohmann::json reproducer =
      reproducer_scenario(Reproducer{found->scenario, found->schedule, found->signature, found->result}, variant_name,
                          "found-" + variant_name);
  EXPECT_EQ(verify_reproducer(reproducer, variant), "") << reproducer.dump(2);
  std::cout << variant_name << ": " << found->signature << " at execution " << found->exec << "\n";
}

TEST(FuzzGenerateTest, FindsModeValidOnConnectorWithoutItsScenario) { expect_found("mode_valid_on_connector", 3000); }
TEST(FuzzGenerateTest, FindsUnrefBeforeUseWithoutItsScenario) { expect_found("unref_before_use", 3000); }
TEST(FuzzGenerateTest, FindsNoSigbusFaultHandlerWithoutItsScenario) { expect_found("no_sigbus_fault_handler", 3000); }

}  // namespace
}  // namespace xfsim::harness
