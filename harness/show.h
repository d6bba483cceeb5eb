// `xfsim show`: a trace file drawn for people. The trace is replayed in
// process (as `xfsim replay` does) with call recording on (sim::Trace::
// record_calls), which recovers what the file does not hold: every task's
// modelled kernel functions, the violations with their allocation and free
// stacks. From that run, one model, a Timeline: tasks grouped by domain,
// slices from the shadow stacks, instants for log lines, violations,
// preemptions and faults, flows for event-channel notifications (ring
// requests and their answers), counters for the xenbus states. Each format
// renders the Timeline:
//   perfetto  Chrome trace-event JSON (ui.perfetto.dev, chrome://tracing)
//   html      one self-contained page for a finding (report, SVG swim lanes)
//   mermaid   a sequenceDiagram short enough for a mailing-list report
//   text      the run, step by step, in plain text
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/world.h"
#include "sim/violation.h"

namespace xfsim::harness {

inline constexpr uint32_t kNoShowTask = 0xffffffffu;

struct ShowTask {
  uint32_t id = 0;
  std::string name;
  std::string context;  // user, kthread, irq, worker
  std::string domain;   // "guest" (the frontend's domain) or the domain's name
};

// One scheduling decision: `task` ran from `point` (where it had stopped) to
// its next scheduling point; it entered `entered` on the way.
struct ShowStep {
  uint64_t step = 0;
  uint64_t time_ms = 0;
  uint32_t task = kNoShowTask;  // kNoShowTask: the due timers fired
  std::string point;
  bool preemption = false;
  double begin_us = 0, end_us = 0;    // on the timeline's axis
  std::vector<std::string> entered;   // functions entered in the step, in order
  std::vector<std::string> stack_at;  // the task's stack when the step began, outermost first
};

struct ShowSlice {
  uint32_t task = 0;
  std::string function;
  uint32_t depth = 0;
  uint64_t begin_step = 0, end_step = 0;
  double begin_us = 0, end_us = 0;
};

struct ShowInstant {
  enum class Kind : uint8_t { kLog, kViolation, kPreemption, kFault, kAlloc, kFree, kBadAccess };
  Kind kind = Kind::kLog;
  uint32_t task = kNoShowTask;  // kNoShowTask: global
  uint64_t step = 0;
  double at_us = 0;
  std::string text;
};

// An event-channel notification: a ring request to the backend, its answer,
// or an event the backend sends.
struct ShowFlow {
  uint32_t id = 0;
  std::string label;
  uint32_t from_task = 0, to_task = 0;
  uint64_t from_step = 0, to_step = 0;
  double from_us = 0, to_us = 0;
};

// A xenbus state change (XenbusState numbers: 1 Initialising .. 8 Reconfigured).
struct ShowCounter {
  std::string track;  // "frontend xenbus state", "backend xenbus state"
  uint64_t step = 0;
  uint64_t time_ms = 0;
  double at_us = 0;
  int value = 0;
  std::string state;
};

// The outstanding references of an object of a finding (the violation's
// object, and the GEM object a xen_drm_front_dbuf stands for), sampled
// read-only before each decision of the replay, one entry per change. An
// object without a refcount (a plain kzalloc) is a 0/1 "live" track, from its
// allocation to its free; a freed object counts 0.
struct ShowObjectCounter {
  std::string track;  // "refs gem0 (drm_gem_object)", "live dbuf-gem0 (xen_drm_front_dbuf)"
  std::string unit;   // "refs" or "live"
  uint64_t step = 0;  // the step that made the change
  uint64_t time_ms = 0;
  double at_us = 0;
  int64_t value = 0;
};

struct Timeline {
  std::string trace_path;
  std::string scenario_name;
  std::string variant;
  std::string recorded_verdict;
  nlohmann::json scenario;  // as embedded in the trace
  RunResult result;         // of the replay
  std::vector<ShowTask> tasks;
  std::vector<ShowStep> steps;
  std::vector<ShowSlice> slices;
  std::vector<ShowInstant> instants;
  std::vector<ShowFlow> flows;
  std::vector<ShowCounter> counters;
  std::vector<ShowObjectCounter> object_counters;  // by track, then in time
  std::vector<std::string> log;                    // "step N  task: line"
  double end_us = 0;

  const ShowTask* task(uint32_t id) const { return id < tasks.size() ? &tasks[id] : nullptr; }
  std::string task_name(uint32_t id) const;
  // The task with this name (violation records name tasks), if one.
  std::optional<uint32_t> task_named(const std::string& name) const;
};

// Reads and replays a trace file. Bad input (not a trace, truncated, a
// schedule that no longer fits) is a ScenarioError naming the file and line.
Timeline build_timeline(const std::string& trace_path);

std::string render_perfetto(const Timeline& timeline);
std::string render_html(const Timeline& timeline);
std::string render_mermaid(const Timeline& timeline);
std::string render_text(const Timeline& timeline);
// One of the above by name ("perfetto", "html", "mermaid", "text").
std::string render_show(const Timeline& timeline, const std::string& format);
inline constexpr const char* kShowFormats[] = {"perfetto", "html", "mermaid", "text"};
// `xfsim show`: renders the trace at `trace_path`; to `out_path` (written
// atomically) or, when it is empty, to stdout. Returns the exit code.
int show_command(const std::string& trace_path, const std::string& format, const std::string& out_path);

// The lanes and rows the HTML diagram and the mermaid diagram share: the
// tasks that touched the finding's object (else the busiest ones), and the
// steps that matter, runs of one task merged, the rest folded.
struct StoryRow {
  enum class Kind : uint8_t { kRun, kFold, kFlow };
  Kind kind = Kind::kRun;
  uint32_t lane = 0;  // kRun: index into Story::lanes
  uint32_t to_lane = 0;
  uint64_t first_step = 0, last_step = 0;
  uint64_t time_ms = 0;
  std::vector<std::string> functions;  // kRun: entered, deduplicated in order
  std::string label;                   // kFold, kFlow: what it stands for
  std::string mark;                    // "alloc", "free", "bad access" when the row holds that moment
};
struct Story {
  std::vector<uint32_t> lanes;  // task ids
  std::vector<StoryRow> rows;
};
Story build_story(const Timeline& timeline, size_t max_rows);

// The campaign page `xfsim fuzz` writes next to its findings.
struct CampaignFindingLink {
  std::string signature, verdict, html, trace, scenario;
  uint64_t schedule_index = 0;
};
// Where a campaign stood at one progress tick (every 256 schedules) or at its
// start and end.
struct CampaignPoint {
  uint64_t schedules = 0, interleavings = 0, findings = 0;
};
// `progress` in order of schedules; drawn as an inline SVG line chart (no
// script), thinned to at most kCampaignChartPoints points (the last kept).
inline constexpr size_t kCampaignChartPoints = 200;
std::string render_campaign_index(const std::string& scenario, const std::string& variant, uint64_t schedules,
                                  double seconds, uint64_t interleavings,
                                  const std::vector<CampaignFindingLink>& findings,
                                  const std::vector<CampaignPoint>& progress);

std::string html_escape(const std::string& text);

// A violation's report with ANSI colours (headline red, the allocation and
// free sections yellow), for a terminal.
std::string colour_report(const sim::Violation& violation);
// A run's result as one JSON object (`run --json`, `replay --json`).
nlohmann::ordered_json result_json(const RunResult& result);

}  // namespace xfsim::harness
