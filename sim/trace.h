// Trace: every scheduling decision of a run (step, task, scheduling point,
// choice), the model's log lines and the verdict, in order. Written as JSON
// lines; the first line is a header the harness fills (scenario, variant,
// seed), so a trace file replays on its own.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace xfsim::sim {

struct TraceEntry {
  enum class Type : uint8_t { kDecision, kLog, kSpawn };
  Type type;
  uint64_t step;
  uint64_t time_ms;
  uint32_t task;
  uint32_t choice;   // index into the sorted runnable set
  uint32_t options;  // how many tasks were runnable
  bool preemption;   // chose another task while the previous one could go on
  const char* site;  // scheduling point (string literal); a spawn: the task's kind
  uint32_t log = 0;  // a log line: its index in Trace::log_lines
};

struct Trace {
  bool logging = true;  // off in fuzz loops; a found schedule is re-run with it on
  std::vector<TraceEntry> entries;
  std::vector<std::string> task_names;  // by TaskId (a spawn's text)
  std::vector<std::string> log_lines;   // kept apart: a decision carries no string
  uint64_t schedule_hash = kScheduleHashSeed;  // updated with every decision
  static constexpr uint64_t kScheduleHashSeed = 0x9e3779b97f4a7c15ULL;

  void record_decision(TraceEntry&& entry) {
    entries.push_back(std::move(entry));
    schedule_hash = (schedule_hash ^ entry.task) * 0xff51afd7ed558ccdULL;
    schedule_hash ^= schedule_hash >> 29;
  }

  void clear() {
    entries.clear();
    task_names.clear();
    log_lines.clear();
    schedule_hash = kScheduleHashSeed;
  }
  // Only the decisions: the schedule, as replay consumes it.
  std::vector<uint32_t> schedule() const;
  uint64_t preemptions() const;
  // A 64-bit digest of the interleaving (the task run at every step).
  uint64_t interleaving_hash() const { return schedule_hash; }
  // JSON lines (no header, no verdict: the harness writes those).
  void write_jsonl(std::ostream& out) const;
};

}  // namespace xfsim::sim
