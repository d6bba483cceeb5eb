// Verdicts a user can trust: findings identified by signature, runs that go
// on after a report, reproducers that are the bug found and are re-run before
// they are written, timing mutation that keeps a scenario's own order, the
// determinism check, and runs bounded by steps and virtual time rather than
// silently cut.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>

#include "driver_core/variant.h"
#include "harness/explore.h"
#include "harness/minimize.h"
#include "harness/oracles.h"
#include "harness/scenario.h"
#include "harness/world.h"
#include "sim/random_strategy.h"
#include "sim/replay_strategy.h"

namespace xfsim::harness {
namespace {

const driver::Variant& variant(const char* name) { return *driver::find_variant(name); }

// `xfsim oracles` is gathered from the layers' declarations: every kind once,
// and the default policy stops on exactly the kinds declared memory errors.
TEST(Oracles, TheCatalogueComesFromTheDeclarationsAndNamesEachKindOnce) {
  std::set<std::string> names, memory;
  for (const sim::ViolationKind* kind : oracle_kinds()) {
    EXPECT_TRUE(names.insert(kind->name).second) << kind->name;
    EXPECT_FALSE(std::string(kind->meaning).empty()) << kind->name;
    if (sim::ReportPolicy::default_policy().stops(*kind) && !kind->always_stops) memory.insert(kind->name);
    EXPECT_TRUE(is_oracle_kind(kind->name));
  }
  EXPECT_EQ(names.size(), 27u);  // 22, the backend's 3 (fakes/backend.h), the log expectations (harness/world.h)
  EXPECT_EQ(memory, (std::set<std::string>{"access-after-free", "backend-page-freed-while-reachable", "double-free",
                                           "free-of-granted-page", "null-deref", "use-after-free"}));
  EXPECT_FALSE(is_oracle_kind("use-after-fre"));
  // A scenario may not expect a kind nobody declares.
  nlohmann::json source = load_scenario("scenarios/smoke/clean.json").source;
  source["expect"]["verdict"] = "use-after-fre";
  EXPECT_THROW(parse_scenario(source, "typo.json"), ScenarioError);
}

RunResult run_dfs_first(const Scenario& s, const char* v) {
  CampaignOptions options = options_from(s);
  const CampaignResult campaign = explore(s, variant(v), options);
  return campaign.first() ? campaign.first()->result : RunResult{};
}

// Under upstream, removal with a zombie frees front_info under a GEM free and
// under the release. With memory errors not stopping the run (stop_on names
// only deadlock), both halves are reported, in order, and the run goes on.
TEST(GoOn, AReportedKindThatDoesNotStopLetsTheRunContinueToItsEnd) {
  Scenario s = load_scenario("scenarios/lifecycle/remove_with_zombie.json");
  s.report_policy.stop_on_memory_errors = false;
  s.report_policy.stop_on = {"deadlock"};
  const RunResult going_on = run_dfs_first(s, "upstream");
  ASSERT_GE(going_on.violations.size(), 2u);
  EXPECT_EQ(going_on.status, sim::RunStatus::kFinished);
  EXPECT_EQ(going_on.violations[0].signature(),
            "use-after-free on xen_drm_front_info between xen_drm_drv_free_object_unlocked and xen_drv_remove alloc "
            "xen_drv_probe");
  EXPECT_EQ(going_on.violations[1].signature(),  // what the first report used to hide
            "use-after-free on xen_drm_front_info between xen_drm_drv_release and xen_drv_remove alloc xen_drv_probe");
  EXPECT_GT(going_on.violations[1].step, going_on.violations[0].step);
  // By default a memory error ends the run at once.
  const RunResult stopped = run_dfs_first(load_scenario("scenarios/lifecycle/remove_with_zombie.json"), "upstream");
  ASSERT_EQ(stopped.violations.size(), 1u);
  EXPECT_EQ(stopped.status, sim::RunStatus::kViolation);
  EXPECT_LT(stopped.steps, going_on.steps);
}

TEST(GoOn, IgnoredKindsAreNotReportedAndStopOnIsReadFromTheScenario) {
  nlohmann::json source = load_scenario("scenarios/lifecycle/remove_with_zombie.json").source;
  source["expect"]["stop_on"] = {"deadlock"};
  source["expect"]["ignore"] = {"use-after-free"};
  const RunResult ignored = run_dfs_first(parse_scenario(source, "ignore.json"), "upstream");
  for (const auto& v : ignored.violations) EXPECT_NE(v.kind_name(), "use-after-free");
  source["expect"].erase("ignore");
  EXPECT_FALSE(run_dfs_first(parse_scenario(source, "stop_on.json"), "upstream").violations.empty());
  source["expect"]["ignore"] = {"no-such-kind"};
  EXPECT_THROW(parse_scenario(source, "bad.json"), ScenarioError);
  source["expect"].erase("ignore");
  // A verdict must be something a run can give: a typo is refused, naming the place.
  source["expect"]["verdict"] = "use-after-fre";
  try {
    parse_scenario(source, "typo.json");
    ADD_FAILURE() << "an unknown verdict was accepted";
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("typo.json: at /expect/verdict: unknown verdict 'use-after-fre'"),
              std::string::npos)
        << e.what();
  }
  source["expect"]["verdict"] = "clean";
  source["expect"]["by_variant"] = {{"upstream", "hung"}};
  EXPECT_THROW(parse_scenario(source, "typo.json"), ScenarioError);
  source["expect"]["by_variant"] = {{"upstream", "use-after-free"}};
  EXPECT_NO_THROW(parse_scenario(source, "ok.json"));
  source["expect"].erase("ignore");
  source["expect"]["stop_on"] = {"all"};
  EXPECT_TRUE(parse_scenario(source, "stop.json").report_policy.stop_on_all);
}

// A hang is identified by what was waited for, a use-after-free by the pair
// of functions racing on the object: the two halves of one race are one
// finding.
TEST(Signature, MemoryErrorsNameTheObjectAndTheRacingFunctions) {
  const Scenario s = load_scenario("scenarios/bugs/publish_before_construct.json");
  const RunResult r = run_dfs_first(s, "publish_before_construct");
  ASSERT_NE(r.first(), nullptr);
  const sim::Violation& v = *r.first();
  ASSERT_TRUE(v.allocated.has_value());
  EXPECT_FALSE(v.where.frames.empty());
  EXPECT_NE(v.signature().find(" on "), std::string::npos) << v.signature();
  EXPECT_NE(v.report().find("BUG: KASAN: use-after-free in"), std::string::npos) << v.report();
  EXPECT_NE(v.report().find("Allocated by task"), std::string::npos);
}

// expect.site: the finding must come by the scenario's own path. The same
// kind reached another way does not count.
TEST(Site, AFindingProvesItsPathThroughAFunctionOfItsStacks) {
  const Scenario s = load_scenario("scenarios/bugs/no_teardown_mutex.json");
  ASSERT_EQ(s.expect_site, "dbuf_free_all");
  const RunResult r = run_dfs_first(s, "no_teardown_mutex");
  ASSERT_EQ(r.verdict(), "use-after-free");
  EXPECT_TRUE(reports_through(r, "use-after-free", "dbuf_free_all"));            // the free stack
  EXPECT_TRUE(reports_through(r, "use-after-free", "drm_gem_handle_delete"));    // the access stack
  EXPECT_TRUE(reports_through(r, "use-after-free", "xen_drm_drv_dumb_create"));  // the alloc stack
  EXPECT_FALSE(reports_through(r, "use-after-free", "xen_drv_remove"));
  EXPECT_FALSE(reports_through(r, "double-free", "dbuf_free_all"));  // the kind must match too
  nlohmann::json source = s.source;
  source["expect"]["site"] = "";
  EXPECT_THROW(parse_scenario(source, "empty_site.json"), ScenarioError);
}

// FP-1 and FN-4 on one scenario: a hung backend never answers DBUF_DESTROY
// and keeps the buffer's grants mapped. Under upstream the frontend ends them
// with page 0 (deferred: "still in use"), then GEM free puts the pages the
// backend still maps: free-of-granted-page, by the GEM free's path. Under
// correct the same grants are deferred with their pages (the grant table
// holds them for as long as the hung backend maps them; the unit test
// grant_table_test shows the release on unmap), and the run is clean: ending
// a mapped grant is no error by itself.
bool logged(const sim::Trace& trace, const std::string& text) {
  for (const std::string& line : trace.log_lines) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(Grants, AHungBackendsPagesAreFreedUnderItUpstreamAndWithTheirGrantUnderCorrect) {
  const Scenario s = load_scenario("scenarios/lifecycle/backend_hang.json");
  const RunResult upstream = run_dfs_first(s, "upstream");
  ASSERT_EQ(upstream.verdict(), "free-of-granted-page");
  EXPECT_TRUE(reports_through(upstream, "free-of-granted-page", "xen_drm_front_gem_free_pages"));
  EXPECT_TRUE(reports_through(upstream, "free-of-granted-page", "xen_drm_drv_free_object_unlocked"));
  EXPECT_NE(upstream.first()->report().find("BUG: KASAN"), std::string::npos) << upstream.first()->report();
  for (uint64_t seed : {1u, 2u, 3u}) {
    sim::RandomStrategy strategy(seed);
    strategy.begin_schedule(0);
    sim::Trace trace;
    const RunResult correct = run_once(s, variant("correct"), strategy, trace);
    EXPECT_EQ(correct.verdict(), "clean") << seed;
    EXPECT_TRUE(logged(trace, "still in use!")) << seed;
    EXPECT_TRUE(logged(trace, "deferring g.e.")) << seed;
    EXPECT_FALSE(logged(trace, "(pfn 0xffffffffffffffff)")) << seed;  // every deferral holds its page
  }
}

// FN-6, evtchnl_free's memset: a dumb create outside drm_dev_enter (upstream)
// waits on channel 0 while a disconnect frees the channels. complete_all wakes
// it; when it runs only after the memset zeroed the completion, it waits again
// on a zeroed swait head (a NULL dereference in __prepare_to_swait); after the
// kfree it is the known use-after-free. Under correct every request is inside
// drm_dev_enter, drained by drm_dev_unplug before fini frees the channels.
std::optional<uint64_t> schedule_finding(const char* variant_name, const std::string& prefix, uint64_t schedules) {
  const Scenario s = load_scenario("scenarios/bugs/no_enter_in_ioctls.json");
  CampaignOptions options = options_from(s);
  options.strategy = "random";
  options.seed = 1;
  options.schedules = schedules;
  options.stop_at_first = false;
  bool found = false;
  options.on_finding = [&](const Finding& f) { found |= f.signature.rfind(prefix, 0) == 0; };
  options.should_stop = [&] { return found; };
  const CampaignResult campaign = explore(s, variant(variant_name), options);
  for (const Finding& f : campaign.findings) {
    if (f.signature.rfind(prefix, 0) == 0) return f.schedule_index;
  }
  return std::nullopt;
}

TEST(Memset, AWaiterWokenByCompleteAllThatRunsAfterTheMemsetDereferencesNull) {
  const std::string prefix = "null-deref in be_stream_do_io_and_wait (xen_drm_front_dbuf_create)";
  EXPECT_TRUE(schedule_finding("upstream", prefix, 200000).has_value());
  EXPECT_FALSE(schedule_finding("correct", prefix, 20000).has_value());
}

TEST(Signature, HangsAreToldApartByWhatWasWaitedFor) {
  for (const char* name : {"no_hotplug_uevent", "timeout_in_detect"}) {
    const Scenario s = load_scenario(std::string("scenarios/bugs/") + name + ".json");
    const RunResult r = run_dfs_first(s, name);
    ASSERT_NE(r.first(), nullptr) << name;
    if (r.first()->kind_name() != "hung-wait") continue;
    EXPECT_FALSE(r.first()->waited_for.empty()) << name;
    EXPECT_EQ(r.first()->signature(), "hung-wait waiting for " + r.first()->waited_for);
  }
}

// The minimiser keeps the signature; its reproducer passes the schema,
// reports the same signature, and leaves correct clean (re-run to check).
TEST(Reproducer, KeepsTheSignatureAndIsVerifiedByReRunning) {
  const Scenario s = load_scenario("scenarios/lifecycle/standard.json");
  CampaignOptions options;
  options.strategy = "pct";
  options.schedules = 2000;
  options.stop_at_first = true;
  const CampaignResult campaign = explore(s, variant("upstream"), options);
  ASSERT_NE(campaign.first(), nullptr);
  const Finding& f = *campaign.first();
  const Minimized m = minimize(Reproducer{f.scenario, f.schedule, f.signature, f.result}, variant("upstream"));
  ASSERT_TRUE(m.reproduced);
  EXPECT_TRUE(reports(m.reproducer.result, f.signature));
  const nlohmann::json document = reproducer_scenario(m.reproducer, "upstream", "standard-min");
  EXPECT_EQ(document["expect"]["signature"], f.signature);
  EXPECT_EQ(verify_reproducer(document, variant("upstream")), "");
  // A reproducer that claims what it does not show is refused.
  nlohmann::json wrong = document;
  wrong["expect"]["signature"] = "use-after-free on nothing between a and b";
  EXPECT_NE(verify_reproducer(wrong, variant("upstream")).find("does not report"), std::string::npos);
  nlohmann::json invalid = document;
  invalid["schedule"]["depth"] = 99;
  EXPECT_NE(verify_reproducer(invalid, variant("upstream")).find("schema"), std::string::npos);
}

// Mutation changes the gaps between a scenario's instants, never their
// order: backend_hang's compositor flips at 50 ms, after the hang at 40 ms;
// a mutation that moved the flip first made correct "hang" waiting for a
// uevent only the backend hang sends.
TEST(Mutation, KeepsTheOrderOfScriptedInstantsAndTheSchemaRanges) {
  const Scenario hang = load_scenario("scenarios/lifecycle/backend_hang.json");
  const Scenario slow = load_scenario("scenarios/bugs/timeout_in_detect.json");
  bool moved = false;
  for (uint64_t salt = 0; salt < 500; ++salt) {
    const nlohmann::json m = mutate_timing(hang.source, salt);
    const uint64_t hang_at = m["backend"]["script"][0]["at_ms"];
    uint64_t flip_at = 0;
    for (const auto& step : m["actors"][0]["steps"]) {
      if (step.contains("until_ms")) flip_at = step["until_ms"];
    }
    EXPECT_LT(hang_at, flip_at) << "salt " << salt;
    moved |= hang_at != 40;
    EXPECT_NO_THROW(parse_scenario(mutate_timing(slow.source, salt), "mutated.json")) << "salt " << salt;
  }
  EXPECT_TRUE(moved);
}

TEST(Mutation, CorrectStaysCleanOnBackendHangWithMutatedTimings) {
  const Scenario s = load_scenario("scenarios/lifecycle/backend_hang.json");
  for (const char* strategy : {"pct", "random"}) {
    CampaignOptions options;
    options.strategy = strategy;
    options.schedules = 3000;
    options.mutate_timing = true;
    const CampaignResult campaign = explore(s, variant("correct"), options);
    EXPECT_EQ(campaign.first(), nullptr) << strategy << ": " << campaign.first()->signature;
  }
}

TEST(Determinism, CheckRunsEveryScheduleTwiceAndTheHashSeesTheDifference) {
  const Scenario s = load_scenario("scenarios/lifecycle/standard.json");
  CampaignOptions options;
  options.strategy = "random";
  options.schedules = 200;
  options.mutate_timing = true;
  options.check_determinism = true;
  options.stop_at_first = false;
  const CampaignResult campaign = explore(s, variant("upstream"), options);
  EXPECT_FALSE(campaign.nondeterministic_schedule.has_value()) << campaign.nondeterminism;
  EXPECT_EQ(campaign.schedules_run, 200u);
  // The hash it compares changes with the schedule and with the timings.
  sim::Trace a, b, c;
  sim::ReplayStrategy first({}), second({}), third({});
  const RunResult ra = run_once(s, variant("correct"), first, a);
  const RunResult rb = run_once(s, variant("correct"), second, b);
  EXPECT_EQ(ra.trace_hash, rb.trace_hash);
  const Scenario moved = parse_scenario(mutate_timing(s.source, 3), "moved.json");
  const RunResult rc = run_once(moved, variant("correct"), third, c);
  EXPECT_NE(ra.trace_hash, rc.trace_hash);
  sim::ReplayStrategy preempting(std::vector<uint32_t>{0, 1, 2, 3, 4, 5});
  sim::Trace d;
  const RunResult rd = run_once(s, variant("correct"), preempting, d);
  EXPECT_NE(ra.interleaving_hash, rd.interleaving_hash);
}

// Virtual time is bounded far beyond any scenario: a two-hour sleep and a
// backend event after it run to their end instead of ending as "deadlock".
TEST(Bounds, LongVirtualTimesRunToTheirEnd) {
  nlohmann::json source = load_scenario("scenarios/smoke/clean.json").source;
  nlohmann::json sleeper = {{"name", "sleeper"}, {"steps", {{{"op", "sleep"}, {"ms", 7200000}}}}};
  source["actors"].push_back(sleeper);
  const Scenario s = parse_scenario(source, "long.json");
  sim::ReplayStrategy replay({});
  sim::Trace trace;
  const RunResult r = run_once(s, variant("correct"), replay, trace);
  EXPECT_EQ(r.verdict(), "clean");
  EXPECT_GE(r.time_ms, 7200000u);
}

}  // namespace
}  // namespace xfsim::harness
