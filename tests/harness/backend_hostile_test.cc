// The hostile backend (fakes/backend.h), end to end with the driver: each
// misbehaviour does what it says (seen in the frontend's reaction, which
// differs from a well-behaved backend's), the displ_be:* sites are fault
// sites a scenario scripts and a strategy explores only when asked, and the
// backend's protocol oracle catches v5.10 sending SET_CONFIG for an fb it
// never attached while correct stays clean.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fakes/backend.h"
#include "harness/explore.h"
#include "harness/fault_sites.h"
#include "harness/scenario.h"
#include "harness/world.h"
#include "sim/random_strategy.h"
#include "tests/harness/testing.h"

namespace xfsim::harness {
namespace {

using xfsim::testing::variant;

nlohmann::json compositor(nlohmann::json steps) {
  nlohmann::json all = {{{"op", "wait_device"}}, {{"op", "open"}}};
  for (auto& step : steps) all.push_back(std::move(step));
  all.push_back({{"op", "close"}});
  return {{{"name", "compositor"}, {"steps", std::move(all)}}};
}

nlohmann::json create(const char* as) {
  return {{"op", "create_dumb"}, {"width", 64}, {"height", 64}, {"bpp", 32}, {"as", as}};
}

// create a, b; fa, fb; enable on fa, flip to fb, wait, disable.
nlohmann::json flip_flow() {
  return compositor({create("a"),
                     create("b"),
                     {{"op", "add_fb"}, {"buffer", "a"}, {"as", "fa"}},
                     {{"op", "add_fb"}, {"buffer", "b"}, {"as", "fb"}},
                     {{"op", "commit"}, {"fb", "fa"}, {"mode", {{"width", 64}, {"height", 64}}}},
                     {{"op", "flip"}, {"fb", "fb"}},
                     {{"op", "wait_flip"}},
                     {{"op", "disable"}}});
}

nlohmann::json scenario(nlohmann::json actors, nlohmann::json answers, bool be_alloc = false) {
  nlohmann::json s = {{"format", "xfsim-scenario/0"},
                      {"name", "h"},
                      {"config", {{"be_alloc", be_alloc}}},
                      {"actors", std::move(actors)},
                      {"expect", {{"verdict", "clean"}}}};
  if (!answers.is_null()) s["backend"] = {{"answers", std::move(answers)}};
  return s;
}

struct Ran {
  RunResult result;
  sim::Trace trace;
  bool logged(const std::string& text) const {
    return std::any_of(trace.log_lines.begin(), trace.log_lines.end(),
                       [&text](const std::string& line) { return line.find(text) != std::string::npos; });
  }
};

Ran run(const nlohmann::json& document, const char* v = "correct") {
  const Scenario s = parse_scenario(document, "h.json");
  sim::RandomStrategy random(1);
  random.begin_schedule(0);
  Ran ran;
  ran.trace.logging = true;
  ran.result = run_once(s, variant(v), random, ran.trace);
  return ran;
}

TEST(HostileBackend, EveryMisbehaviourIsAHostileFaultSiteAndANameAScenarioUses) {
  for (const sim::FaultSite* site : fakes::kBackendFaultSites) {
    EXPECT_EQ(find_fault_site(site->name), site) << site->name;
    EXPECT_TRUE(site->hostile) << site->name;
  }
  for (const sim::FaultSite* site : fault_sites()) {
    if (std::string(site->name).rfind("displ_be:", 0) != 0) {
      EXPECT_FALSE(site->hostile) << site->name;
    }
  }
  for (const char* name : {"fail_cleanly", "never_answer", "answer_twice", "wrong_id", "answer_early", "answer_late"}) {
    const auto m = fakes::misbehaviour_named(name);
    ASSERT_TRUE(m.has_value()) << name;
    EXPECT_STREQ(fakes::misbehaviour_name(*m), name);
  }
  nlohmann::json bad = scenario(compositor({}), {{"DBUF_CREATE", {{"misbehave", "sulk"}}}});
  EXPECT_THROW(parse_scenario(bad, "h.json"), ScenarioError);
  const Scenario s = parse_scenario(scenario(compositor({}), {{"PG_FLIP", {{"misbehave", "answer_late"}}}}), "h.json");
  EXPECT_EQ(s.backend.answers.at(fakes::DisplifOp::PG_FLIP).misbehave, fakes::Misbehaviour::kAnswerLate);
}

// A clean failure keeps nothing: the free callback's DBUF_DESTROY finds no
// buffer. A status answer (today's) does the work and only reports failure:
// the backend still has the buffer when DBUF_DESTROY comes.
TEST(HostileBackend, FailCleanlyKeepsNoSideEffectAStatusAnswerDoes) {
  const Ran clean = run(scenario(compositor({create("a")}), {{"DBUF_CREATE", {{"misbehave", "fail_cleanly"}}}}));
  EXPECT_EQ(clean.result.verdict(), "clean");
  EXPECT_TRUE(clean.logged("Failed to create dumb buffer: -22"));
  EXPECT_TRUE(clean.logged("displ_be: DBUF_DESTROY of unknown dbuf cookie"));
  const Ran status = run(scenario(compositor({create("a")}), {{"DBUF_CREATE", {{"status", -22}}}}));
  EXPECT_TRUE(status.logged("Failed to create dumb buffer: -22"));
  EXPECT_FALSE(status.logged("displ_be: DBUF_DESTROY of unknown dbuf cookie"));
}

// Twice: v5.10 matches answers by id and re-arms its completion per request,
// so the flow goes through untouched (and the ring is not taken for full).
TEST(HostileBackend, AnswerTwiceIsSeenAndDefendedAgainst) {
  nlohmann::json answers;
  for (const char* op : {"DBUF_CREATE", "FB_ATTACH", "SET_CONFIG", "PG_FLIP"})
    answers[op] = {{"misbehave", "answer_twice"}};
  for (const char* v : {"correct", "upstream"}) {
    const Ran ran = run(scenario(flip_flow(), answers), v);
    EXPECT_EQ(ran.result.verdict(), "clean") << v;
    EXPECT_TRUE(ran.logged("displ_be: answer_twice on PG_FLIP")) << v;
    EXPECT_FALSE(ran.logged("compositor: ")) << v;  // no call of the flow failed
    EXPECT_FALSE(ran.logged("-110")) << v;
  }
}

// A wrong id and no answer both leave the frontend waiting out its 3000 ms;
// a late answer comes after it. Each is a timeout the driver reports.
TEST(HostileBackend, WrongIdNeverAndLateAnswersTimeTheFrontendOut) {
  const Ran wrong = run(scenario(flip_flow(), {{"SET_CONFIG", {{"misbehave", "wrong_id"}}}}));
  EXPECT_EQ(wrong.result.verdict(), "clean");
  EXPECT_TRUE(wrong.logged("Failed to enable display: -110"));
  const Ran right = run(scenario(flip_flow(), nullptr));
  EXPECT_FALSE(right.logged("Failed to enable display"));
  const Ran never = run(scenario(compositor({create("a")}), {{"DBUF_CREATE", {{"misbehave", "never_answer"}}}}));
  EXPECT_TRUE(never.logged("Failed to create dumb buffer: -110"));
  const Ran late = run(scenario(flip_flow(), {{"PG_FLIP", {{"misbehave", "answer_late"}}}}));
  EXPECT_EQ(late.result.verdict(), "clean");
  EXPECT_TRUE(late.logged("Failed to send page flip request to backend: -110"));
  EXPECT_GE(late.result.time_ms, fakes::kLateAnswerMs);
}

// Early, be-alloc: the frontend maps the directory before the backend filled
// it. v5.10 goes on with a buffer of holes; correct fails with -ENXIO.
TEST(HostileBackend, AnswerEarlyMakesTheFrontendMapAnUnfilledDirectory) {
  const nlohmann::json doc =
      scenario(compositor({create("a"), {{"op", "mmap"}, {"buffer", "a"}}, {{"op", "touch"}, {"buffer", "a"}}}),
               {{"DBUF_CREATE", {{"misbehave", "answer_early"}}}}, /*be_alloc=*/true);
  const Ran correct = run(doc, "correct");
  EXPECT_EQ(correct.result.verdict(), "clean");
  EXPECT_TRUE(correct.logged("Failed to map page 0: -4"));
  EXPECT_TRUE(correct.logged("Failed to create dumb buffer: -6"));
  const Ran upstream = run(doc, "upstream");
  EXPECT_EQ(upstream.result.verdict(), "access-to-unmapped-grant");
  const Ran on_time = run(scenario(compositor({create("a")}), nullptr, /*be_alloc=*/true), "upstream");
  EXPECT_FALSE(on_time.logged("Failed to map page"));
}

CampaignResult dfs(const nlohmann::json& document, const char* v, uint32_t fault_bound, bool hostile) {
  nlohmann::json d = document;
  d["schedule"] = {{"hostile_backend", hostile}};
  CampaignOptions options;
  options.strategy = "dfs";
  options.preemption_bound = 0;
  options.fault_bound = fault_bound;
  options.schedules = 100000;
  options.stop_at_first = false;
  return explore(parse_scenario(d, "h.json"), variant(v), options);
}

bool has(const CampaignResult& campaign, const std::string& prefix) {
  return std::any_of(campaign.findings.begin(), campaign.findings.end(),
                     [&prefix](const Finding& f) { return f.signature.rfind(prefix, 0) == 0; });
}

// A strategy with a fault bound chooses misbehaviours only with
// hostile_backend on: then dfs finds, with no script, a backend that refuses
// DBUF_DESTROY cleanly (v5.10 frees pages the backend still maps), and
// correct stays clean.
TEST(HostileBackend, DfsExploresMisbehavioursOnlyWhenAsked) {
  const nlohmann::json doc = scenario(compositor({create("a"), {{"op", "gem_close"}, {"buffer", "a"}}}), nullptr);
  const CampaignResult plain = dfs(doc, "upstream", 1, false);
  EXPECT_FALSE(has(plain, "free-of-granted-page"));
  const CampaignResult hostile = dfs(doc, "upstream", 1, true);
  EXPECT_TRUE(hostile.exhausted);
  EXPECT_GT(hostile.schedules_run, plain.schedules_run);
  EXPECT_TRUE(has(hostile, "free-of-granted-page"));
  const CampaignResult correct = dfs(doc, "correct", 1, true);
  EXPECT_TRUE(correct.exhausted);
  EXPECT_TRUE(correct.findings.empty()) << correct.findings.front().signature;
}

// The backend's own oracle: with FB_ATTACH refused cleanly, v5.10's early
// published fb id lets a guessed commit SET_CONFIG an fb the backend never
// attached. correct publishes only attached fbs.
TEST(HostileBackend, TheBackendCatchesSetConfigOfAnFbItNeverAttached) {
  const Scenario s = load_scenario("scenarios/hostile/fb_attach_fail_cleanly.json");
  CampaignOptions options;
  options.strategy = "dfs";
  options.preemption_bound = 2;
  options.schedules = 200000;
  const CampaignResult upstream = explore(s, variant("upstream"), options);
  ASSERT_NE(upstream.first(), nullptr);
  EXPECT_EQ(upstream.first()->signature.rfind("displif-unknown-object", 0), 0u) << upstream.first()->signature;
  EXPECT_TRUE(explore(s, variant("correct"), options).findings.empty());
}

}  // namespace
}  // namespace xfsim::harness
