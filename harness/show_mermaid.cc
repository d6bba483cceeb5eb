// The Timeline as a mermaid sequenceDiagram (short: the story's rows, at
// most a screenful) and as plain text (every step).
#include <fmt/format.h>

#include "harness/show.h"

namespace xfsim::harness {

namespace {

constexpr size_t kMermaidRows = 40;
constexpr size_t kFunctionsPerRow = 4;

// Mermaid participants: letters, digits and underscores.
std::string participant_id(const std::string& name) {
  std::string id;
  for (char c : name) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return id;
}

// Mermaid message text: no semicolons, '#' or newlines.
std::string mermaid_text(const std::string& text) {
  std::string out;
  for (char c : text) out += (c == ';' || c == '#' || c == '\n') ? ' ' : c;
  return out;
}

std::string functions_of(const StoryRow& row) {
  std::string out;
  for (size_t i = 0; i < row.functions.size() && i < kFunctionsPerRow; ++i) out += (i ? ", " : "") + row.functions[i];
  if (row.functions.size() > kFunctionsPerRow) out += fmt::format(" +{}", row.functions.size() - kFunctionsPerRow);
  return out;
}

std::string steps_of(const StoryRow& row) {
  return row.first_step == row.last_step ? fmt::format("step {}", row.first_step)
                                         : fmt::format("steps {}-{}", row.first_step, row.last_step);
}

}  // namespace

std::string render_mermaid(const Timeline& t) {
  const Story story = build_story(t, kMermaidRows);
  std::string out = "sequenceDiagram\n";
  const sim::Violation* v = t.result.first();
  out += fmt::format("    %% xfsim show: {} under {}, {}\n", t.scenario_name, t.variant,
                     mermaid_text(v ? v->signature() : t.result.verdict()));
  for (uint32_t task : story.lanes) {
    const ShowTask* task_info = t.task(task);
    out += fmt::format("    participant {} as {} ({}{})\n", participant_id(task_info->name), task_info->name,
                       task_info->context, task_info->domain == "guest" ? "" : ", " + task_info->domain);
  }
  const auto lane = [&](uint32_t index) { return participant_id(t.task(story.lanes[index])->name); };
  const std::string first = lane(0), last = lane(static_cast<uint32_t>(story.lanes.size() - 1));
  for (const StoryRow& row : story.rows) {
    switch (row.kind) {
      case StoryRow::Kind::kFold:
        out += fmt::format("    Note over {},{}: {} ({}, t={} ms)\n", first, last, mermaid_text(row.label),
                           steps_of(row), row.time_ms);
        break;
      case StoryRow::Kind::kFlow:
        out += fmt::format("    {}-){}: {}\n", lane(row.lane), lane(row.to_lane), mermaid_text(row.label));
        break;
      case StoryRow::Kind::kRun:
        if (!row.mark.empty()) {
          out += fmt::format("    rect rgb(255, 220, 220)\n    Note over {}: {} ({}, t={} ms)\n    end\n",
                             lane(row.lane), mermaid_text(row.mark), steps_of(row), row.time_ms);
        } else {
          out += fmt::format("    Note over {}: {} ({})\n", lane(row.lane), mermaid_text(functions_of(row)),
                             steps_of(row));
        }
        break;
    }
  }
  return out;
}

std::string render_text(const Timeline& t) {
  std::string out = fmt::format("xfsim show: {} under {} ({})\nverdict: {}\n", t.scenario_name, t.variant, t.trace_path,
                                t.result.first() ? t.result.first()->signature() : t.result.verdict());
  out += "tasks:\n";
  for (const auto& task : t.tasks)
    out += fmt::format("  {:>2}  {:28} {:8} {}\n", task.id, task.name, task.context, task.domain);
  out += "steps (step, virtual ms, task, where it resumed, the functions it entered):\n";
  size_t instant = 0;
  for (const auto& s : t.steps) {
    std::string entered;
    for (const auto& f : s.entered) entered += (entered.empty() ? "" : " ") + f;
    out += fmt::format("{:>5} {:>5}  {}{:24} {:30} {}\n", s.step, s.time_ms, s.preemption ? '*' : ' ',
                       t.task_name(s.task), s.point, entered);
    for (; instant < t.instants.size() && t.instants[instant].at_us <= s.end_us; ++instant) {
      const ShowInstant& i = t.instants[instant];
      if (i.kind == ShowInstant::Kind::kPreemption) continue;
      static const char* const kTags[] = {"log", "VIOLATION", "preempt", "fault", "ALLOC", "FREE", "BAD ACCESS"};
      out += fmt::format("{:>13}  {:>10}: {}\n", "", kTags[static_cast<int>(i.kind)], i.text);
    }
  }
  for (; instant < t.instants.size(); ++instant) {
    const ShowInstant& i = t.instants[instant];
    if (i.kind == ShowInstant::Kind::kLog || i.kind == ShowInstant::Kind::kViolation)
      out += fmt::format("{:>13}  {:>10}: {}\n", "", i.kind == ShowInstant::Kind::kLog ? "log" : "VIOLATION", i.text);
  }
  out += "(* a preemption: the task ran while the previous one could have gone on)\n";
  out += "flows (event-channel notifications):\n";
  for (const auto& f : t.flows) {
    out += fmt::format("  step {:>4} {} -> step {:>4} {}: {}\n", f.from_step, t.task_name(f.from_task), f.to_step,
                       t.task_name(f.to_task), f.label);
  }
  out += "xenbus states:\n";
  for (const auto& c : t.counters)
    out += fmt::format("  step {:>4} {:>5} ms  {}: {}\n", c.step, c.time_ms, c.track, c.state);
  for (const auto& v : t.result.violations) out += v.report();
  return out;
}

}  // namespace xfsim::harness
