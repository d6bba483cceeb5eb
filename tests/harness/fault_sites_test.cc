// Fault injection end to end (harness): a scenario's faults are checked
// against `xfsim sites`; dfs with a fault bound finds v5.10's
// xen_drm_drv_init error-path bugs and `correct` stays clean; a finding made
// with an explored fault replays from its trace file and from its scenario.
#include <algorithm>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/explore.h"
#include "harness/fault_sites.h"
#include "harness/scenario.h"
#include "harness/trace_file.h"
#include "harness/world.h"
#include "sim/random_strategy.h"
#include "sim/replay_strategy.h"
#include "tests/harness/testing.h"

namespace xfsim::harness {
namespace {

using xfsim::testing::variant;

nlohmann::json minimal_with_faults(nlohmann::json faults) {
  return {{"format", "xfsim-scenario/0"},
          {"name", "f"},
          {"faults", std::move(faults)},
          {"actors", {{{"name", "a"}, {"steps", {{{"op", "sleep"}, {"ms", 10}}}}}}},
          {"expect", {{"verdict", "clean"}}}};
}

std::string error_of(const nlohmann::json& document) {
  try {
    parse_scenario(document, "f.json");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

TEST(FaultScenario, EveryFaultNamesAKnownSiteAndAnOccurrence) {
  EXPECT_EQ(error_of(minimal_with_faults({{{"site", "drm_dev_alloc@xen_drm_drv_init"}}})), "");
  EXPECT_NE(error_of(minimal_with_faults({{{"site", "kmalloc@nowhere"}}}))
                .find("f.json: at /faults/0/site: unknown fault site 'kmalloc@nowhere'"),
            std::string::npos);
  EXPECT_NE(error_of(minimal_with_faults({{{"site", "drm_dev_alloc@xen_drm_drv_init"}, {"nth", 0}}})), "");
  EXPECT_NE(error_of(minimal_with_faults({{{"site", "drm_dev_alloc@xen_drm_drv_init"}, {"error", 12}}})), "");
  EXPECT_NE(error_of(minimal_with_faults({{{"site", "drm_dev_alloc@xen_drm_drv_init"}, {"when", 1}}})), "");
  const Scenario s =
      parse_scenario(minimal_with_faults({{{"site", "drm_dev_register@xen_drm_drv_init"}, {"nth", 2}}}), "f.json");
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].nth, 2u);
  EXPECT_EQ(s.faults[0].error, find_fault_site("drm_dev_register@xen_drm_drv_init")->error);
}

CampaignResult dfs_with_faults(const Scenario& s, const char* v, uint32_t fault_bound) {
  CampaignOptions options;
  options.strategy = "dfs";
  options.preemption_bound = 1;
  options.fault_bound = fault_bound;
  options.schedules = 100000;
  options.stop_at_first = false;
  return explore(s, variant(v), options);
}

bool has(const CampaignResult& campaign, const std::string& prefix) {
  for (const Finding& f : campaign.findings) {
    if (f.signature.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

TEST(FaultScenario, DfsWithOneFaultFindsTheV5_10InitErrorPathAndCorrectStaysClean) {
  const Scenario s = load_scenario("scenarios/lifecycle/standard.json");
  const CampaignResult none = dfs_with_faults(s, "upstream", 0);
  EXPECT_FALSE(has(none, "double-free in xen_drm_drv_init"));
  const CampaignResult upstream = dfs_with_faults(s, "upstream", 1);
  EXPECT_TRUE(upstream.exhausted);
  EXPECT_TRUE(has(upstream, "double-free in xen_drm_drv_init on xen_drm_front_drm_info"));
  EXPECT_TRUE(has(upstream, "use-after-free on xen_drm_front_drm_info between xen_drm_drv_fini and xen_drm_drv_init"));
  const CampaignResult correct = dfs_with_faults(s, "correct", 1);
  EXPECT_TRUE(correct.exhausted);
  EXPECT_TRUE(correct.findings.empty()) << correct.findings.front().signature;
  EXPECT_GT(correct.schedules_run, dfs_with_faults(s, "correct", 0).schedules_run);
}

TEST(FaultScenario, AFindingWithAnExploredFaultReplaysFromItsTraceAndItsScenario) {
  const Scenario s = load_scenario("scenarios/lifecycle/standard.json");
  const CampaignResult upstream = dfs_with_faults(s, "upstream", 1);
  const Finding* found = nullptr;
  for (const Finding& f : upstream.findings) {
    if (f.signature.rfind("double-free in xen_drm_drv_init", 0) == 0) found = &f;
  }
  ASSERT_NE(found, nullptr);
  ASSERT_TRUE(found->scenario.contains("faults"));  // the explored fault, scripted
  EXPECT_EQ(found->scenario["faults"][0]["site"], "drm_dev_register@xen_drm_drv_init");
  // From its scenario: the same finding.
  const Scenario as_found = parse_scenario(found->scenario, "found.json");
  sim::ReplayStrategy replay(found->schedule);
  sim::Trace trace;
  const RunResult again = run_once(as_found, variant("upstream"), replay, trace);
  ASSERT_NE(again.find(found->signature), nullptr);
  // A trace whose header holds the scenario without the fault and whose
  // fault line says the strategy chose it (as a run with --fault-bound and a
  // sampling strategy writes it): read back, its scenario scripts the fault.
  std::string text = render_trace(as_found, TraceOrigin{"upstream", "dfs", 1, found->schedule_index}, trace, again);
  const nlohmann::json header = nlohmann::json::parse(text.substr(0, text.find('\n')));
  nlohmann::json without = header;
  without["scenario"].erase("faults");
  text = without.dump() + text.substr(text.find('\n'));
  const std::string scripted = "\"by\":\"scenario\"", explored = "\"by\":\"strategy\"";
  ASSERT_NE(text.find(scripted), std::string::npos);
  text.replace(text.find(scripted), scripted.size(), explored);
  const std::string path = ::testing::TempDir() + "/fault_trace.jsonl";
  write_file_atomically(path, text);
  const TraceFile file = read_trace_file(path);
  ASSERT_TRUE(file.scenario.contains("faults"));
  const Scenario from_trace = parse_scenario(file.scenario, path);
  sim::ReplayStrategy replay_trace(file.schedule);
  sim::Trace third;
  EXPECT_NE(run_once(from_trace, variant("upstream"), replay_trace, third).find(found->signature), nullptr);
  // And without the fault the schedule finds nothing of the kind.
  sim::ReplayStrategy replay_plain(found->schedule);
  sim::Trace plain;
  EXPECT_EQ(run_once(s, variant("upstream"), replay_plain, plain).find(found->signature), nullptr);
}

// expect.log: a required line never printed and a forbidden line printed are
// each a verdict of their own; the scenario's own expectations hold under
// correct.
TEST(LogExpectation, ARequiredLineMissingAndAForbiddenLinePrintedAreReported) {
  nlohmann::json document = nlohmann::json::parse(read_file("scenarios/faults/drm_dev_alloc.json"));
  const auto verdict_with = [&document](nlohmann::json log) {
    document["expect"]["log"] = std::move(log);
    const Scenario s = parse_scenario(document, "drm_dev_alloc.json");
    sim::RandomStrategy random(1);
    random.begin_schedule(0);
    sim::Trace trace;
    trace.logging = false;  // as in campaigns: the expectation turns the log on
    const RunResult result = run_once(s, variant("correct"), random, trace);
    return result.verdict();
  };
  EXPECT_EQ(verdict_with(document["expect"]["log"]), "clean");
  EXPECT_EQ(verdict_with({{"require", {"connecting backend", "a line no driver prints"}}}), "missing-log-line");
  EXPECT_EQ(verdict_with({{"forbid", {"Creating Xen PV DRM Display Unit"}}}), "forbidden-log-line");
  document["expect"]["log"] = {{"require", {""}}};
  EXPECT_THROW(parse_scenario(document, "drm_dev_alloc.json"), ScenarioError);
}

// A script goes on after a call an injected fault failed: the second buffer
// of backend_hang is never made, so its flip never happens and the uevent the
// compositor then waits for never comes. That is excused (logged), not a
// hung-wait; without the fault the same wait is judged as before (the zoo's
// hang scenarios, e.g. bugs/no_hotplug_uevent, still report it).
TEST(FaultScenario, AWaitForWhatAnInjectedFailurePreventedIsNoHang) {
  nlohmann::json document = nlohmann::json::parse(read_file("scenarios/lifecycle/backend_hang.json"));
  document["faults"] = {{{"site", "drm_gem_handle_create@xen_drm_drv_dumb_create"}, {"nth", 2}}};
  const Scenario s = parse_scenario(document, "backend_hang.json");
  sim::RandomStrategy random(1);
  random.begin_schedule(0);
  sim::Trace trace;
  const RunResult result = run_once(s, variant("correct"), random, trace);
  EXPECT_EQ(result.verdict(), "clean");
  EXPECT_TRUE(std::any_of(trace.log_lines.begin(), trace.log_lines.end(), [](const std::string& line) {
    return line.find("gave up waiting for a 'change' uevent after an injected failure") != std::string::npos;
  }));
}

}  // namespace
}  // namespace xfsim::harness
