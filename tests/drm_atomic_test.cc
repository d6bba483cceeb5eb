// The DRM core's atomic commit and framebuffer removal as v5.10 has them
// (fidelity review FP-3, FP-4, FN-2, FN-3): commits on a CRTC are sequenced by
// drm_crtc_commit (a nonblocking one whose predecessor has not flipped gets
// -EBUSY, a blocking one waits for its flip_done), page flips run their tail
// in commit_work, RMFB disables the planes of an fb in drm_mode_rmfb_work_fn
// under the modeset locks, and only an attached fb is published under correct.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "driver_core/variant.h"
#include "harness/explore.h"
#include "harness/scenario.h"
#include "harness/world.h"
#include "sim/replay_strategy.h"

namespace xfsim::harness {
namespace {

const driver::Variant& variant(const char* name) { return *driver::find_variant(name); }

// A compositor with two framebuffers on one pipe; `steps` follow the modeset
// of "fa" and its event. The backend sends a flip's frame-done event
// `latency_ms` after answering PG_FLIP.
Scenario compositor(const std::string& steps, int latency_ms) {
  const std::string source = R"({"format": "xfsim-scenario/0", "name": "atomic",
    "backend": {"flip_event_latency_ms": )" +
                             std::to_string(latency_ms) +
                             R"(},
    "actors": [{"name": "compositor", "steps": [
      {"op": "wait_device"}, {"op": "open"},
      {"op": "create_dumb", "width": 64, "height": 64, "bpp": 32, "as": "a"},
      {"op": "create_dumb", "width": 64, "height": 64, "bpp": 32, "as": "b"},
      {"op": "add_fb", "buffer": "a", "as": "fa"}, {"op": "add_fb", "buffer": "b", "as": "fb"},
      {"op": "commit", "fb": "fa"}, {"op": "wait_flip"}, )" +
                             steps + R"(, {"op": "close"}]}],
    "schedule": {"strategy": "dfs", "preemption_bound": 1, "schedules": 20000}, "expect": {"verdict": "clean"}})";
  return parse_scenario(nlohmann::json::parse(source), "atomic.json");
}

struct TracedRun {
  RunResult result;
  sim::Trace trace;
  bool logged(const std::string& line) const {
    return std::find(trace.log_lines.begin(), trace.log_lines.end(), line) != trace.log_lines.end();
  }
  bool logged_ending(const std::string& tail) const {
    return std::any_of(trace.log_lines.begin(), trace.log_lines.end(), [&](const std::string& line) {
      return line.size() >= tail.size() && line.compare(line.size() - tail.size(), tail.size(), tail) == 0;
    });
  }
  // The first step at which `task` (by name prefix) reached `site`, or UINT64_MAX.
  uint64_t first_step(const std::string& task, const std::string& site) const {
    for (const auto& entry : trace.entries) {
      if (entry.type == sim::TraceEntry::Type::kDecision && entry.site == site &&
          trace.task_names[entry.task].rfind(task, 0) == 0)
        return entry.step;
    }
    return UINT64_MAX;
  }
  // Virtual times at which `task` (by name prefix) reached scheduling point `site`.
  std::vector<uint64_t> times_at(const std::string& task, const std::string& site) const {
    std::vector<uint64_t> times;
    for (const auto& entry : trace.entries) {
      if (entry.type != sim::TraceEntry::Type::kDecision || entry.site != site) continue;
      if (trace.task_names[entry.task].rfind(task, 0) == 0) times.push_back(entry.time_ms);
    }
    return times;
  }
};

TracedRun run_default(const Scenario& s, const char* v) {
  TracedRun run;
  sim::ReplayStrategy first({});
  run.result = run_once(s, variant(v), first, run.trace);
  return run;
}

CampaignResult every_schedule(const Scenario& s, const char* v) {
  CampaignOptions options = options_from(s);
  options.stop_at_first = false;
  return explore(s, variant(v), options);
}

// FP-3: two flips before the first one's frame-done event. The second, a
// nonblocking commit whose plane's last commit has not flipped, is refused
// with -EBUSY (drm_atomic_helper_setup_commit), so no event is overwritten in
// display_update and none is lost: every owed event arrives, in every
// schedule of the bounded space.
TEST(Commit, TwoFlipsBeforeTheFrameDoneEventLoseNoEvent) {
  const Scenario s = compositor(
      R"({"op": "flip", "fb": "fb"}, {"op": "flip", "fb": "fa"}, {"op": "wait_flip"}, {"op": "wait_flip"})", 50);
  const TracedRun run = run_default(s, "correct");
  EXPECT_EQ(run.result.verdict(), "clean");
  EXPECT_TRUE(run.logged("compositor: flip -> -16"));
  // Refused by stall_checks (the CRTC's newest commit is still in its tail)
  // or by the plane's check (its last commit has not flipped).
  EXPECT_TRUE(run.logged_ending("busy with a previous commit"));
  // The first flip's tail ran in the commit worker, not in the ioctl.
  EXPECT_FALSE(run.times_at("kworker/u/commit_work", "display_update").empty());
  for (const char* v : {"correct", "upstream"}) {
    const CampaignResult campaign = every_schedule(s, v);
    EXPECT_TRUE(campaign.exhausted) << v;
    EXPECT_EQ(campaign.first(), nullptr) << v << ": " << campaign.first()->signature;
  }
}

// A blocking commit after a flip waits (drm_atomic_helper_wait_for_dependencies)
// for that flip's flip_done: its display_update comes only once the frame-done
// event was sent, here 200 ms after the flip.
TEST(Commit, ABlockingCommitWaitsForThePreviousFlipDone) {
  const Scenario s = compositor(
      R"({"op": "flip", "fb": "fb"}, {"op": "commit", "fb": "fa"}, {"op": "wait_flip"}, {"op": "wait_flip"})", 200);
  const TracedRun run = run_default(s, "correct");
  EXPECT_EQ(run.result.verdict(), "clean");
  const std::vector<uint64_t> updates = run.times_at("compositor", "display_update");
  ASSERT_EQ(updates.size(), 2u);  // the modeset's, then the blocking commit's
  EXPECT_LT(updates[0], 200u);
  EXPECT_GE(updates[1], 200u);
  // Against a backend that never sends the event, the flip is released by
  // pflip_to_worker (3100 ms) and the commit goes on then, well inside the
  // core's 10 s.
  const TracedRun silent =
      run_default(compositor(R"({"op": "flip", "fb": "fb"}, {"op": "commit", "fb": "fa"})", 600000), "correct");
  EXPECT_EQ(silent.result.verdict(), "clean");
  const std::vector<uint64_t> late = silent.times_at("compositor", "display_update");
  ASSERT_EQ(late.size(), 2u);
  EXPECT_GE(late[1], 3100u);
  EXPECT_FALSE(silent.logged("[drm] *ERROR* [CRTC:0:crtc-0] flip_done timed out"));
}

// FP-4: RMFB of the fb on the screen: with the plane's reference left, the
// removal runs in drm_mode_rmfb_work_fn on system_wq (RMFB waits in
// flush_work), which disables the pipe with a blocking commit under every
// modeset lock.
TEST(Framebuffer, RemovingTheFbOnTheScreenDisablesThePipeInTheRmfbWorker) {
  const Scenario s = compositor(R"({"op": "rm_fb", "fb": "fa"})", 50);
  const TracedRun run = run_default(s, "correct");
  EXPECT_EQ(run.result.verdict(), "clean");
  EXPECT_FALSE(run.times_at("kworker/drm_mode_rmfb_work_fn", "drm_modeset_lock_all_ctx").empty());
  EXPECT_FALSE(run.times_at("kworker/drm_mode_rmfb_work_fn", "xen_drm_front_mode_set").empty());
  // RMFB waited for it: the worker ran before the compositor's close.
  EXPECT_LT(run.first_step("kworker/drm_mode_rmfb_work_fn", "drm_modeset_lock_all_ctx"),
            run.first_step("compositor", "drm_close"));
  // An fb on no plane is put at once, with no worker: here only the close
  // (drm_fb_release, for "fa" still on the screen) needs one.
  const TracedRun idle = run_default(compositor(R"({"op": "rm_fb", "fb": "fb"})", 50), "correct");
  EXPECT_EQ(idle.result.verdict(), "clean");
  EXPECT_GT(idle.first_step("kworker/drm_mode_rmfb_work_fn", "drm_modeset_lock_all_ctx"),
            idle.first_step("compositor", "drm_close"));
}

// FN-3: a failed FB_ATTACH under upstream frees an fb that was already
// published; a thread that guessed its id commits a freed fb. correct
// publishes only attached fbs: the guess finds nothing.
TEST(Framebuffer, OnlyAnAttachedFbIsPublishedUnderCorrect) {
  const Scenario s = load_scenario("scenarios/lifecycle/fb_attach_failure.json");
  const CampaignResult upstream = explore(s, variant("upstream"), options_from(s));
  ASSERT_NE(upstream.first(), nullptr);
  EXPECT_EQ(upstream.first()->signature.rfind("use-after-free on drm_framebuffer", 0), 0u)
      << upstream.first()->signature;
  const CampaignResult correct = every_schedule(s, "correct");
  EXPECT_TRUE(correct.exhausted);
  EXPECT_EQ(correct.first(), nullptr) << correct.first()->signature;
  EXPECT_TRUE(run_default(s, "correct").logged("guesser: commit -> -2"));
}

}  // namespace
}  // namespace xfsim::harness
