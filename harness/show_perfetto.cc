// The Timeline as Chrome trace-event JSON (the "JSON Array/Object Format"
// Perfetto's UI and chrome://tracing open): a process per domain, two
// threads per task (its modelled kernel functions, and when it ran: one
// slice per step), instants, flows between the step slices, counters.
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "harness/show.h"

namespace xfsim::harness {

namespace {

using Json = nlohmann::ordered_json;

double us(double value) { return std::round(value * 1000.0) / 1000.0; }

const char* instant_category(ShowInstant::Kind kind) {
  switch (kind) {
    case ShowInstant::Kind::kLog:
      return "log";
    case ShowInstant::Kind::kViolation:
      return "violation";
    case ShowInstant::Kind::kPreemption:
      return "preemption";
    case ShowInstant::Kind::kFault:
      return "fault";
    case ShowInstant::Kind::kAlloc:
    case ShowInstant::Kind::kFree:
    case ShowInstant::Kind::kBadAccess:
      return "kasan";
  }
  return "log";
}

}  // namespace

std::string render_perfetto(const Timeline& t) {
  std::map<std::string, int> pids;  // domain -> pid, in order of appearance (guest first)
  pids["guest"] = 1;
  for (const auto& task : t.tasks) {
    if (!pids.count(task.domain)) pids[task.domain] = static_cast<int>(pids.size()) + 1;
  }
  const auto pid = [&](uint32_t task) { return task < t.tasks.size() ? pids.at(t.tasks[task].domain) : 1; };
  const auto functions_tid = [](uint32_t task) { return static_cast<int>(task) * 2 + 1; };
  const auto runs_tid = [](uint32_t task) { return static_cast<int>(task) * 2 + 2; };
  constexpr int kTimersTid = 100000;

  Json events = Json::array();
  const auto meta = [&events](const char* name, int p, int tid, Json args) {
    events.push_back(Json{{"name", name}, {"ph", "M"}, {"pid", p}, {"tid", tid}, {"args", std::move(args)}});
  };
  for (const auto& [domain, p] : pids) {
    meta("process_name", p, 0, Json{{"name", domain == "guest" ? "guest (frontend domain)" : domain}});
    meta("process_sort_index", p, 0, Json{{"sort_index", p}});
  }
  meta("thread_name", 1, kTimersTid, Json{{"name", "due timers"}});
  for (const auto& task : t.tasks) {
    const std::string name = fmt::format("{} ({})", task.name, task.context);
    meta("thread_name", pid(task.id), functions_tid(task.id), Json{{"name", name}});
    meta("thread_sort_index", pid(task.id), functions_tid(task.id), Json{{"sort_index", functions_tid(task.id)}});
    meta("thread_name", pid(task.id), runs_tid(task.id), Json{{"name", name + " steps"}});
    meta("thread_sort_index", pid(task.id), runs_tid(task.id), Json{{"sort_index", runs_tid(task.id)}});
  }
  // One slice per step, on the task's steps thread.
  for (const auto& s : t.steps) {
    const bool timers = s.task == kNoShowTask;
    Json args{{"step", s.step}, {"t_ms", s.time_ms}, {"resumed_at", s.point}};
    if (s.preemption) args["preemption"] = true;
    if (!s.entered.empty()) args["entered"] = s.entered;
    events.push_back(Json{{"name", timers ? std::string("due timers") : fmt::format("step {}", s.step)},
                          {"cat", "step"},
                          {"ph", "X"},
                          {"ts", us(s.begin_us)},
                          {"dur", us(s.end_us - s.begin_us)},
                          {"pid", timers ? 1 : pid(s.task)},
                          {"tid", timers ? kTimersTid : runs_tid(s.task)},
                          {"args", std::move(args)}});
  }
  // The modelled kernel functions, from the shadow stacks.
  for (const auto& slice : t.slices) {
    events.push_back(Json{{"name", slice.function},
                          {"cat", "kfunc"},
                          {"ph", "X"},
                          {"ts", us(slice.begin_us)},
                          {"dur", us(slice.end_us - slice.begin_us)},
                          {"pid", pid(slice.task)},
                          {"tid", functions_tid(slice.task)},
                          {"args", Json{{"from_step", slice.begin_step}, {"to_step", slice.end_step}}}});
  }
  for (const auto& i : t.instants) {
    Json e{{"name", i.text}, {"cat", instant_category(i.kind)}, {"ph", "i"}, {"ts", us(i.at_us)}};
    if (i.task == kNoShowTask) {
      e["pid"] = 1;
      e["tid"] = kTimersTid;
      e["s"] = "g";
    } else {
      e["pid"] = pid(i.task);
      e["tid"] = functions_tid(i.task);
      e["s"] = "t";
    }
    e["args"] = Json{{"step", i.step}};
    events.push_back(std::move(e));
  }
  // Flows bind to the step slices that enclose their ends.
  for (const auto& f : t.flows) {
    events.push_back(Json{{"name", f.label},
                          {"cat", "evtchn"},
                          {"ph", "s"},
                          {"id", f.id},
                          {"ts", us(f.from_us)},
                          {"pid", pid(f.from_task)},
                          {"tid", runs_tid(f.from_task)}});
    events.push_back(Json{{"name", f.label},
                          {"cat", "evtchn"},
                          {"ph", "f"},
                          {"bp", "e"},
                          {"id", f.id},
                          {"ts", us(f.to_us)},
                          {"pid", pid(f.to_task)},
                          {"tid", runs_tid(f.to_task)}});
  }
  for (const auto& c : t.counters) {
    const int p = c.track.rfind("backend", 0) == 0 && pids.size() > 1 ? 2 : 1;
    events.push_back(Json{{"name", c.track},
                          {"cat", "xenbus"},
                          {"ph", "C"},
                          {"ts", us(c.at_us)},
                          {"pid", p},
                          {"args", Json{{"state", c.value}}}});
  }
  // Outstanding references of the finding's objects (one counter track each).
  for (const auto& c : t.object_counters) {
    events.push_back(Json{{"name", c.track},
                          {"cat", "refcount"},
                          {"ph", "C"},
                          {"ts", us(c.at_us)},
                          {"pid", 1},
                          {"args", Json{{c.unit, c.value}}}});
  }
  Json document;
  document["displayTimeUnit"] = "ms";
  document["traceEvents"] = std::move(events);
  Json about{{"scenario", t.scenario_name},
             {"variant", t.variant},
             {"trace", t.trace_path},
             {"verdict", t.result.verdict()},
             {"axis",
              "virtual time: 1 ms of the run = 1 ms; each step takes a 10 us slot, so steps at one instant "
              "stay apart"}};
  if (const sim::Violation* v = t.result.first()) about["signature"] = v->signature();
  document["otherData"] = std::move(about);
  return document.dump(1) + "\n";
}

}  // namespace xfsim::harness
