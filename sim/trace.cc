#include "sim/trace.h"

#include <ostream>

#include <nlohmann/json.hpp>

#include "sim/strategy.h"

namespace xfsim::sim {

std::vector<uint32_t> Trace::schedule() const {
  std::vector<uint32_t> tasks;
  for (const auto& entry : entries) {
    if (entry.type == TraceEntry::Type::kDecision) tasks.push_back(entry.task);
  }
  return tasks;
}

uint64_t Trace::preemptions() const {
  uint64_t count = 0;
  for (const auto& entry : entries) count += entry.type == TraceEntry::Type::kDecision && entry.preemption;
  return count;
}

void Trace::write_jsonl(std::ostream& out) const {
  for (const auto& entry : entries) {
    nlohmann::ordered_json line;
    line["step"] = entry.step;
    line["t_ms"] = entry.time_ms;
    switch (entry.type) {
      case TraceEntry::Type::kDecision:
        line["task"] = entry.task == kDueTimers ? std::string("due timers") : task_names[entry.task];
        line["task_id"] = entry.task;
        line["point"] = entry.site;
        line["choice"] = entry.choice;
        line["of"] = entry.options;
        if (entry.preemption) line["preemption"] = true;
        break;
      case TraceEntry::Type::kSpawn:
        line["spawn"] = task_names[entry.task];
        line["task_id"] = entry.task;
        line["context"] = entry.site;
        if (!task_domains[entry.task].empty()) line["domain"] = task_domains[entry.task];
        break;
      case TraceEntry::Type::kViolation: {
        const Violation& v = violations[entry.log];
        line["violation"] = v.kind_name();
        line["signature"] = v.signature();
        line["task"] = v.task;
        line["report"] = v.report();
        break;
      }
      case TraceEntry::Type::kFault:
        line["fault"] = entry.site;
        line["nth"] = entry.choice;
        line["error"] = entry.error;
        if (entry.task < task_names.size()) line["task"] = task_names[entry.task];
        line["by"] = entry.preemption ? "strategy" : "scenario";
        break;
      case TraceEntry::Type::kLog:
        line["log"] = log_lines[entry.log];
        if (entry.task < task_names.size()) line["task"] = task_names[entry.task];
        break;
    }
    out << line.dump() << '\n';
  }
}

}  // namespace xfsim::sim
