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

#include "sim/violation.h"

namespace xfsim::sim {

struct TraceEntry {
  enum class Type : uint8_t { kDecision, kLog, kSpawn, kViolation, kFault };
  Type type;
  uint64_t step;
  uint64_t time_ms;
  uint32_t task;
  uint32_t choice;   // index into the sorted runnable set
  uint32_t options;  // how many tasks were runnable
  bool preemption;   // chose another task while the previous one could go on
  const char* site;  // scheduling point (string literal); a spawn: the task's kind; a fault: its FaultSite
  uint32_t log = 0;  // a log line: its index in Trace::log_lines; a violation: in Trace::violations
  // A fault (sim/fault.h): which occurrence of the site (choice), the error,
  // and whether the strategy chose it (preemption) rather than the scenario.
  int32_t error = 0;
};

// A modelled kernel function entered or left by a task (Trace::record_calls):
// what `xfsim show` draws slices from. Not written to trace files: show
// replays a trace to get them.
struct CallEvent {
  uint64_t step;         // Scheduler::step() when it happened: the decision with step - 1 is running
  uint32_t task;         // the running task
  uint32_t depth;        // the frame's depth on the task's shadow stack (0: outermost)
  const char* function;  // entered: its name; left: nullptr
};

struct Trace {
  bool logging = true;        // off in fuzz loops; a found schedule is re-run with it on
  bool record_calls = false;  // on only for `xfsim show`: fills `calls`
  std::vector<CallEvent> calls;
  std::vector<TraceEntry> entries;
  std::vector<std::string> task_names;         // by TaskId (a spawn's text)
  std::vector<std::string> task_domains;       // by TaskId: "" in the home domain, else the domain's name
  std::vector<std::string> log_lines;          // kept apart: a decision carries no string
  std::vector<Violation> violations;           // reported while logging, in order
  uint64_t schedule_hash = kScheduleHashSeed;  // updated with every decision
  uint64_t content_hash = kScheduleHashSeed;   // decisions, times, spawns, violations
  static constexpr uint64_t kScheduleHashSeed = 0x9e3779b97f4a7c15ULL;

  void record_decision(const TraceEntry& entry) {
    entries.push_back(entry);
    schedule_hash = (schedule_hash ^ entry.task) * 0xff51afd7ed558ccdULL;
    schedule_hash ^= schedule_hash >> 29;
    mix((uint64_t{entry.options} << 32 | entry.choice) ^ (entry.time_ms << 8) ^ schedule_hash);
  }
  void mix(const std::string& text) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
    mix(h);
  }
  void mix(uint64_t value) {
    content_hash = (content_hash ^ value) * 0xc4ceb9fe1a85ec53ULL;
    content_hash ^= content_hash >> 31;
  }

  void clear() {
    entries.clear();
    task_names.clear();
    task_domains.clear();
    log_lines.clear();
    violations.clear();
    calls.clear();
    schedule_hash = kScheduleHashSeed;
    content_hash = kScheduleHashSeed;
  }
  // Only the decisions: the schedule, as replay consumes it.
  std::vector<uint32_t> schedule() const;
  uint64_t preemptions() const;
  // A 64-bit digest of the interleaving (the task run at every step).
  uint64_t interleaving_hash() const { return schedule_hash; }
  // A digest of what the run did (decisions with their options and times,
  // spawns, violations' signatures): the same schedule must give the same one.
  uint64_t trace_hash() const { return content_hash; }
  // JSON lines (no header, no verdict: the harness writes those).
  void write_jsonl(std::ostream& out) const;
};

}  // namespace xfsim::sim
