// The Timeline of a trace file: replayed in process with call recording on.
#include <algorithm>
#include <deque>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "driver_core/variant.h"
#include "driver_core/xen_drm_front.h"
#include "fakes/drm.h"
#include "fakes/kmem.h"
#include "harness/scenario.h"
#include "harness/show.h"
#include "harness/trace_file.h"
#include "sim/replay_strategy.h"
#include "sim/strategy.h"
#include "sim/trace.h"

namespace xfsim::harness {

namespace {

// Each step gets a slot this wide (µs) on the axis, so steps of the same
// virtual millisecond stay apart and visible.
constexpr double kStepWidthUs = 10.0;
constexpr double kStepBusyUs = 9.0;  // the part of a slot the step's slice covers

const char* const kXenbusStates[] = {"Unknown", "Initialising", "InitWait",      "Initialised", "Connected",
                                     "Closing", "Closed",       "Reconfiguring", "Reconfigured"};

int xenbus_state_number(const std::string& name) {
  for (int i = 0; i < 9; ++i) {
    if (name == kXenbusStates[i]) return i;
  }
  return -1;
}

// The word after `prefix` in `line`, if it is there.
std::optional<std::string> word_after(const std::string& line, const std::string& prefix) {
  const size_t at = line.find(prefix);
  if (at == std::string::npos) return std::nullopt;
  size_t begin = at + prefix.size(), end = begin;
  while (end < line.size() && std::isalpha(static_cast<unsigned char>(line[end]))) ++end;
  if (end == begin) return std::nullopt;
  return line.substr(begin, end - begin);
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// A kmem object as the replay saw it, and its outstanding references at
// each change (step counter, value).
struct ObjectHistory {
  std::string type, name;
  bool refcounted = false;
  bool gem = false;
  uint64_t cookie = 0;  // a GEM object's xen_drm_front_dbuf_to_cookie, a dbuf's dbuf_cookie
  std::vector<std::pair<uint64_t, int64_t>> changes;
};

// The references the kernel counts on an object, where it counts them.
std::optional<int64_t> outstanding_refs(const fakes::KObject& object) {
  if (const auto* gem = dynamic_cast<const fakes::drm_gem_object*>(&object)) return gem->refcount.count;
  if (const auto* dev = dynamic_cast<const fakes::drm_device*>(&object)) return dev->ref.count;
  if (const auto* fb = dynamic_cast<const fakes::drm_framebuffer*>(&object)) return fb->refcount.count;
  if (const auto* buf = dynamic_cast<const fakes::dma_buf*>(&object)) return buf->f_count;
  if (const auto* file = dynamic_cast<const fakes::drm_file*>(&object)) return file->refs;
  return std::nullopt;
}

// Reads every object before each decision (harness/world.h KmemSampler):
// fields only, no kmem.check, so the run is the one `replay` makes.
void sample_objects(std::vector<ObjectHistory>& objects, const fakes::Kmem& kmem, uint64_t counter) {
  size_t i = 0;
  kmem.for_each_object([&](const char* type, const fakes::KObject& object, bool freed) {
    if (i == objects.size()) {
      ObjectHistory fresh;
      fresh.type = type;
      fresh.refcounted = outstanding_refs(object).has_value();
      fresh.gem = dynamic_cast<const fakes::drm_gem_object*>(&object) != nullptr;
      if (fresh.gem)
        fresh.cookie = driver::xen_drm_front_dbuf_to_cookie(static_cast<const fakes::drm_gem_object&>(object));
      objects.push_back(std::move(fresh));
    }
    ObjectHistory& h = objects[i++];
    if (const std::string& name = kmem.name_of(object); h.name != name) h.name = name;
    if (!freed) {
      if (const auto* dbuf = dynamic_cast<const driver::xen_drm_front_dbuf*>(&object)) h.cookie = dbuf->dbuf_cookie;
    }
    const int64_t value = freed ? 0 : outstanding_refs(object).value_or(1);
    if (h.changes.empty() || h.changes.back().second != value) h.changes.emplace_back(counter, value);
  });
}

struct OpenFrame {
  std::string function;
  uint32_t depth;
  uint64_t step;
  double at_us;
};

}  // namespace

std::string Timeline::task_name(uint32_t id) const {
  if (id == kNoShowTask) return "due timers";
  return id < tasks.size() ? tasks[id].name : fmt::format("task {}", id);
}

std::optional<uint32_t> Timeline::task_named(const std::string& name) const {
  for (const auto& t : tasks) {
    if (t.name == name) return t.id;
  }
  return std::nullopt;
}

Timeline build_timeline(const std::string& trace_path) {
  const TraceFile file = read_trace_file(trace_path);
  Scenario scenario = parse_scenario(file.scenario, trace_path + " (embedded scenario)");
  scenario.path = file.scenario_path;
  const driver::Variant* variant = driver::find_variant(file.origin.variant);
  if (variant == nullptr) throw ScenarioError(fmt::format("{}: unknown variant '{}'", trace_path, file.origin.variant));
  sim::ReplayStrategy replay(file.schedule);
  sim::Trace trace;
  trace.logging = true;
  trace.record_calls = true;
  Timeline t;
  t.trace_path = trace_path;
  t.scenario_name = scenario.name;
  t.variant = variant->name;
  t.recorded_verdict = file.verdict;
  t.scenario = file.scenario;
  std::vector<ObjectHistory> objects;
  t.result =
      run_once(scenario, *variant, replay, trace, nullptr,
               [&objects](const fakes::Kmem& kmem, uint64_t counter) { sample_objects(objects, kmem, counter); });
  if (t.result.status == sim::RunStatus::kStrategyError) {
    throw ScenarioError(
        fmt::format("{}: the schedule no longer fits the model: {}", trace_path, t.result.strategy_error));
  }

  for (uint32_t id = 0; id < trace.task_names.size(); ++id) {
    ShowTask task;
    task.id = id;
    task.name = trace.task_names[id];
    task.domain = trace.task_domains[id].empty() ? "guest" : trace.task_domains[id];
    t.tasks.push_back(task);
  }
  // Steps, on the axis.
  double slot = -kStepWidthUs;
  for (const auto& entry : trace.entries) {
    if (entry.type == sim::TraceEntry::Type::kSpawn) {
      if (entry.task < t.tasks.size()) t.tasks[entry.task].context = entry.site;
      continue;
    }
    if (entry.type != sim::TraceEntry::Type::kDecision) continue;
    ShowStep step;
    step.step = entry.step;
    step.time_ms = entry.time_ms;
    step.task = entry.task == sim::kDueTimers ? kNoShowTask : entry.task;
    step.point = entry.site;
    step.preemption = entry.preemption;
    slot = std::max(slot + kStepWidthUs, static_cast<double>(entry.time_ms) * 1000.0);
    step.begin_us = slot;
    step.end_us = slot + kStepBusyUs;
    t.steps.push_back(step);
  }
  t.end_us = std::max(slot + kStepWidthUs, static_cast<double>(t.result.time_ms) * 1000.0);
  // Where something recorded with the scheduler's step counter S (the step
  // that is running is S - 1) happened: late in that step.
  const auto at_counter = [&t](uint64_t counter) {
    if (counter >= 1 && counter - 1 < t.steps.size()) return t.steps[counter - 1].end_us;
    return counter == 0 || t.steps.empty() ? 0.0 : t.end_us;
  };

  // Slices from the calls, in order; each step's calls spread over its slot.
  std::vector<std::vector<OpenFrame>> open(t.tasks.size());
  size_t next_call = 0;
  const auto close_down_to = [&](uint32_t task, uint32_t depth, uint64_t step, double at_us) {
    while (!open[task].empty() && open[task].back().depth >= depth) {
      const OpenFrame& f = open[task].back();
      t.slices.push_back(ShowSlice{task, f.function, f.depth, f.step, step, f.at_us, at_us});
      open[task].pop_back();
    }
  };
  for (ShowStep& step : t.steps) {
    if (step.task != kNoShowTask && step.task < open.size()) {
      for (const auto& f : open[step.task]) step.stack_at.push_back(f.function);
    }
    size_t end = next_call;
    while (end < trace.calls.size() && trace.calls[end].step == step.step + 1) ++end;
    const size_t count = end - next_call;
    for (size_t k = 0; next_call < end; ++next_call, ++k) {
      const sim::CallEvent& call = trace.calls[next_call];
      if (call.task >= open.size()) continue;
      const double at = step.begin_us + kStepBusyUs * static_cast<double>(k + 1) / static_cast<double>(count + 1);
      close_down_to(call.task, call.depth, step.step, at);
      if (call.function != nullptr) {
        open[call.task].push_back(OpenFrame{call.function, call.depth, step.step, at});
        if (call.task == step.task) step.entered.push_back(call.function);
      }
    }
  }
  const uint64_t last_step = t.steps.empty() ? 0 : t.steps.back().step;
  for (uint32_t task = 0; task < open.size(); ++task) close_down_to(task, 0, last_step, t.end_us);
  std::stable_sort(t.slices.begin(), t.slices.end(), [](const ShowSlice& a, const ShowSlice& b) {
    if (a.task != b.task) return a.task < b.task;
    if (a.begin_us != b.begin_us) return a.begin_us < b.begin_us;
    return a.depth < b.depth;
  });

  // Instants: preemptions, log lines, violations, faults.
  for (size_t i = 1; i < t.steps.size(); ++i) {
    const ShowStep& step = t.steps[i];
    if (!step.preemption) continue;
    t.instants.push_back(ShowInstant{ShowInstant::Kind::kPreemption, step.task, step.step, step.begin_us,
                                     fmt::format("preempts {}", t.task_name(t.steps[i - 1].task))});
  }
  t.counters.push_back(ShowCounter{"frontend xenbus state", 0, 0, 0.0, 1, "Initialising"});
  t.counters.push_back(ShowCounter{"backend xenbus state", 0, 0, 0.0, 1, "Initialising"});
  for (const auto& entry : trace.entries) {
    const uint32_t task = entry.task < t.tasks.size() ? entry.task : kNoShowTask;
    const double at = at_counter(entry.step);
    const uint64_t step = entry.step == 0 ? 0 : entry.step - 1;
    if (entry.type == sim::TraceEntry::Type::kLog) {
      const std::string& line = trace.log_lines[entry.log];
      t.instants.push_back(ShowInstant{ShowInstant::Kind::kLog, task, step, at, line});
      t.log.push_back(fmt::format("step {:>4}  {:>4} ms  {}: {}", step, entry.time_ms, t.task_name(task), line));
      if (line.rfind("xenbus: ", 0) == 0) {
        if (auto state = word_after(line, " -> "); state && xenbus_state_number(*state) >= 0) {
          t.counters.push_back(
              ShowCounter{"frontend xenbus state", step, entry.time_ms, at, xenbus_state_number(*state), *state});
        }
      }
      if (auto state = word_after(line, "Backend state is "); state && xenbus_state_number(*state) >= 0) {
        const auto& last = std::find_if(t.counters.rbegin(), t.counters.rend(),
                                        [](const ShowCounter& c) { return c.track == "backend xenbus state"; });
        if (last == t.counters.rend() || last->state != *state) {
          t.counters.push_back(
              ShowCounter{"backend xenbus state", step, entry.time_ms, at, xenbus_state_number(*state), *state});
        }
      }
    } else if (entry.type == sim::TraceEntry::Type::kViolation) {
      const sim::Violation& v = trace.violations[entry.log];
      t.instants.push_back(ShowInstant{ShowInstant::Kind::kViolation, task, step, at, v.signature()});
    } else if (entry.type == sim::TraceEntry::Type::kFault) {
      t.instants.push_back(ShowInstant{ShowInstant::Kind::kFault, task, step, at,
                                       fmt::format("fault injected: {} fails with {}", entry.site, entry.error)});
    }
  }
  // The three moments of each memory error.
  for (const auto& v : t.result.violations) {
    const auto moment = [&](ShowInstant::Kind kind, const sim::StackRecord& where, const std::string& what) {
      const auto task = t.task_named(where.task);
      t.instants.push_back(ShowInstant{
          kind, task.value_or(kNoShowTask), where.step == 0 ? 0 : where.step - 1, at_counter(where.step),
          fmt::format("{} {} in {}", what, v.object_name.empty() ? v.object_type : v.object_name, where.function())});
    };
    if (v.allocated) moment(ShowInstant::Kind::kAlloc, *v.allocated, "alloc");
    if (v.freed) moment(ShowInstant::Kind::kFree, *v.freed, "free");
    if (v.allocated || v.freed) moment(ShowInstant::Kind::kBadAccess, v.where, v.access.empty() ? "access" : v.access);
  }
  // The outstanding references of each finding's object, and of the GEM
  // object a dbuf stands for (the one whose cookie it carries).
  std::vector<size_t> tracked;
  const auto track = [&tracked](size_t i) {
    if (std::find(tracked.begin(), tracked.end(), i) == tracked.end()) tracked.push_back(i);
  };
  for (const auto& v : t.result.violations) {
    if (v.object_name.empty()) continue;
    std::optional<size_t> found;  // the newest of that name allocated by the time of the allocation reported
    for (size_t i = 0; i < objects.size(); ++i) {
      const ObjectHistory& h = objects[i];
      if (h.type != v.object_type || h.name != v.object_name || h.changes.empty()) continue;
      if (!v.allocated || h.changes.front().first <= v.allocated->step) found = i;
    }
    if (!found) continue;
    track(*found);
    if (objects[*found].type == std::string("xen_drm_front_dbuf")) {
      for (size_t i = 0; i < objects.size(); ++i) {
        if (objects[i].gem && objects[i].cookie == objects[*found].cookie) track(i);
      }
    }
  }
  for (size_t i : tracked) {
    const ObjectHistory& h = objects[i];
    const char* unit = h.refcounted ? "refs" : "live";
    for (const auto& [counter, value] : h.changes) {
      const uint64_t step = counter == 0 ? 0 : counter - 1;
      const uint64_t time_ms = step < t.steps.size() ? t.steps[step].time_ms : t.result.time_ms;
      t.object_counters.push_back(ShowObjectCounter{fmt::format("{} {} ({})", unit, h.name, h.type), unit, step,
                                                    time_ms, at_counter(counter), value});
    }
  }
  std::stable_sort(t.instants.begin(), t.instants.end(),
                   [](const ShowInstant& a, const ShowInstant& b) { return a.at_us < b.at_us; });

  // Flows. A notify_remote_via_irq of the guest is a ring request the
  // backend's next step takes; a request the backend handled is answered on
  // the control event channel (its irq thread's next run), an event reaches
  // the event channel's irq thread. Matched in order (the rings are FIFO).
  const auto is_guest = [&t](uint32_t task) { return task < t.tasks.size() && t.tasks[task].domain == "guest"; };
  const auto name_has = [&t](uint32_t task, const char* part) {
    return task < t.tasks.size() && t.tasks[task].name.find(part) != std::string::npos;
  };
  std::deque<size_t> requests, answers;
  std::optional<size_t> last_backend;
  uint32_t flow_id = 0;
  const auto add_flow = [&](size_t from, size_t to, std::string label) {
    const ShowStep& a = t.steps[from];
    const ShowStep& b = t.steps[to];
    t.flows.push_back(ShowFlow{++flow_id, std::move(label), a.task, b.task, a.step, b.step,
                               a.begin_us + kStepBusyUs * 0.9, b.begin_us + kStepBusyUs * 0.1});
  };
  for (size_t i = 0; i < t.steps.size(); ++i) {
    const ShowStep& step = t.steps[i];
    if (step.task == kNoShowTask) continue;
    if (is_guest(step.task) && contains(step.entered, "notify_remote_via_irq")) requests.push_back(i);
    if (!is_guest(step.task)) {
      if (!requests.empty()) {
        const ShowStep& from = t.steps[requests.front()];
        std::string label = "request";
        std::vector<std::string> stack = from.stack_at;
        stack.insert(stack.end(), from.entered.begin(), from.entered.end());
        for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
          if (it->rfind("xen_drm_front_", 0) == 0 && it->find("evtchnl") == std::string::npos) {
            label = "request from " + *it;
            break;
          }
        }
        add_flow(requests.front(), i, label);
        requests.pop_front();
      }
      if (contains(step.entered, "displback_handle_request") || contains(step.stack_at, "displback_handle_request"))
        answers.push_back(i);
      last_backend = i;
    }
    if (name_has(step.task, "-ctrl") && contains(step.entered, "evtchnl_interrupt_ctrl") && !answers.empty()) {
      add_flow(answers.front(), i, "answer");
      answers.pop_front();
    }
    if (name_has(step.task, "-evt") && contains(step.entered, "evtchnl_interrupt_evt") && last_backend) {
      add_flow(*last_backend, i, "event");
    }
  }
  return t;
}

std::string render_show(const Timeline& timeline, const std::string& format) {
  if (format == "perfetto") return render_perfetto(timeline);
  if (format == "html") return render_html(timeline);
  if (format == "mermaid") return render_mermaid(timeline);
  if (format == "text") return render_text(timeline);
  throw ScenarioError(fmt::format("--format: unknown format '{}' (perfetto, html, mermaid or text)", format));
}

int show_command(const std::string& trace_path, const std::string& format, const std::string& out_path) {
  const Timeline timeline = build_timeline(trace_path);
  const std::string text = render_show(timeline, format);
  if (out_path.empty()) {
    std::cout << text << std::flush;
  } else {
    write_file_atomically(out_path, text);
    std::cerr << fmt::format("{}: {} ({} bytes)\n", out_path, format, text.size());
  }
  return 0;
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Story build_story(const Timeline& t, size_t max_rows) {
  Story story;
  // Lanes: the tasks of the first finding's moments (allocation, free, bad
  // access); without them, the busiest tasks. Then the backend, when the
  // lanes talked to it.
  std::map<uint64_t, std::string> marks;  // step -> what happened there
  std::map<uint64_t, uint32_t> mark_task;
  const auto add_lane = [&story](std::optional<uint32_t> task) {
    if (task && *task != kNoShowTask && std::find(story.lanes.begin(), story.lanes.end(), *task) == story.lanes.end())
      story.lanes.push_back(*task);
  };
  uint64_t window = 0;
  if (const sim::Violation* v = t.result.first()) {
    const auto moment = [&](const sim::StackRecord& where, const char* what) {
      const auto task = t.task_named(where.task);
      add_lane(task);
      const uint64_t step = where.step == 0 ? 0 : where.step - 1;
      const std::string text = fmt::format("{} in {}", what, where.function());
      marks[step] = marks.count(step) ? marks[step] + ", " + text : text;
      if (task) mark_task[step] = *task;
    };
    if (v->allocated) moment(*v->allocated, "alloc");
    if (v->freed) moment(*v->freed, "free");
    moment(v->where, v->allocated || v->freed ? "bad access" : "violation");
    window = marks.begin()->first;
  }
  if (story.lanes.empty()) {
    std::map<uint32_t, size_t> runs;
    for (const auto& s : t.steps) {
      if (s.task != kNoShowTask) ++runs[s.task];
    }
    std::vector<std::pair<size_t, uint32_t>> busiest;
    for (const auto& [task, n] : runs) busiest.push_back({n, task});
    std::stable_sort(busiest.begin(), busiest.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < busiest.size() && i < 3; ++i) add_lane(busiest[i].second);
  }
  const auto lane_of = [&story](uint32_t task) -> std::optional<uint32_t> {
    for (uint32_t i = 0; i < story.lanes.size(); ++i) {
      if (story.lanes[i] == task) return i;
    }
    return std::nullopt;
  };
  for (const auto& f : t.flows) {
    if (f.from_step < window) continue;
    if (lane_of(f.from_task) && t.tasks[f.to_task].domain != "guest") add_lane(f.to_task);
  }

  // Rows.
  std::vector<StoryRow> rows;
  std::set<std::string> folded_tasks;
  const auto fold = [&](const ShowStep& s) {
    if (rows.empty() || rows.back().kind != StoryRow::Kind::kFold) {
      StoryRow row;
      row.kind = StoryRow::Kind::kFold;
      row.first_step = s.step;
      row.time_ms = s.time_ms;
      rows.push_back(row);
      folded_tasks.clear();
    }
    rows.back().last_step = s.step;
    folded_tasks.insert(t.task_name(s.task));
    std::string names;
    for (const auto& n : folded_tasks) names += (names.empty() ? "" : ", ") + n;
    const uint64_t n = rows.back().last_step - rows.back().first_step + 1;
    rows.back().label = fmt::format("{} step{} folded ({})", n, n == 1 ? "" : "s", names);
  };
  std::map<uint64_t, std::vector<const ShowFlow*>> flows_from;
  for (const auto& f : t.flows) flows_from[f.from_step].push_back(&f);
  for (const ShowStep& s : t.steps) {
    const auto lane = s.task == kNoShowTask ? std::nullopt : lane_of(s.task);
    if (s.step < window || !lane) {
      fold(s);
      continue;
    }
    const auto mark = marks.find(s.step);
    const bool marked = mark != marks.end() && mark_task[s.step] == s.task;
    StoryRow* row = rows.empty() ? nullptr : &rows.back();
    if (!marked && row && row->kind == StoryRow::Kind::kRun && row->lane == *lane && row->mark.empty()) {
      row->last_step = s.step;
    } else {
      StoryRow fresh;
      fresh.kind = StoryRow::Kind::kRun;
      fresh.lane = *lane;
      fresh.first_step = fresh.last_step = s.step;
      fresh.time_ms = s.time_ms;
      if (marked) fresh.mark = mark->second;
      rows.push_back(fresh);
      row = &rows.back();
    }
    for (const auto& f : s.entered) {
      if (!contains(row->functions, f)) row->functions.push_back(f);
    }
    if (s.entered.empty() && row->functions.empty()) row->functions.push_back("(in " + s.point + ")");
    for (const ShowFlow* f : flows_from[s.step]) {
      const auto to = lane_of(f->to_task);
      if (!to) continue;
      StoryRow flow;
      flow.kind = StoryRow::Kind::kFlow;
      flow.lane = *lane;
      flow.to_lane = *to;
      flow.first_step = f->from_step;
      flow.last_step = f->to_step;
      flow.time_ms = s.time_ms;
      flow.label = f->label;
      rows.push_back(flow);
    }
  }
  // Too many rows: fold the oldest runs that hold no moment, keeping what
  // surrounds each moment and the end.
  if (rows.size() > max_rows) {
    std::vector<bool> keep(rows.size(), false);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].mark.empty()) continue;
      for (size_t k = i >= 2 ? i - 2 : 0; k < rows.size() && k <= i + 2; ++k) keep[k] = true;
    }
    for (size_t i = rows.size() >= 4 ? rows.size() - 4 : 0; i < rows.size(); ++i) keep[i] = true;
    size_t kept = static_cast<size_t>(std::count(keep.begin(), keep.end(), true));
    // Keep the newest of the rest while there is room.
    for (size_t i = rows.size(); i-- > 0 && kept + 1 < max_rows;) {
      if (!keep[i]) {
        keep[i] = true;
        ++kept;
      }
    }
    std::vector<StoryRow> folded;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (keep[i]) {
        folded.push_back(rows[i]);
        continue;
      }
      if (folded.empty() || folded.back().kind != StoryRow::Kind::kFold || keep[i - 1]) {
        StoryRow row;
        row.kind = StoryRow::Kind::kFold;
        row.first_step = rows[i].first_step;
        row.time_ms = rows[i].time_ms;
        folded.push_back(row);
      }
      StoryRow& row = folded.back();
      row.last_step = std::max(row.last_step, rows[i].last_step);
      const uint64_t n = row.last_step - row.first_step + 1;
      row.label = fmt::format("{} step{} folded", n, n == 1 ? "" : "s");
    }
    rows = std::move(folded);
  }
  story.rows = std::move(rows);
  return story;
}

}  // namespace xfsim::harness
