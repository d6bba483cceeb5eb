// Strategy: decides, at every scheduling point, which runnable task runs next.
//
// One strategy per pair of files (random, replay, pct, dfs) behind this
// interface; a new strategy is a new file and nothing else moves. Every
// strategy is deterministic given its seed (or its recorded schedule).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "sim/fault.h"
#include "sim/footprint.h"

namespace xfsim::sim {

using TaskId = uint32_t;
inline constexpr TaskId kNoTask = 0xffffffffu;
// Not a task: the option, offered with the runnable tasks when events may
// land at any instant (Scheduler::set_any_instant), of firing the timers that
// are due now. It sorts after every task.
inline constexpr TaskId kDueTimers = 0xfffffffeu;

// What a strategy sees at one decision. `runnable` is sorted by TaskId, so the
// same world state always offers the same options in the same order.
struct Decision {
  uint64_t step = 0;
  TaskId previous = kNoTask;  // the task that ran the last step, if still runnable
  std::span<const TaskId> runnable;
  const char* site = "";  // the scheduling point `previous` stopped at
};

// What a strategy answers at a decision, as shuttle's next_task does: run
// one of the runnable tasks, end the run because its continuation is covered
// by schedules already explored (partial-order reduction: RunStatus::kPruned),
// or give up because the run left the schedule it follows (replay:
// RunStatus::kStrategyError, Strategy::divergence says where).
struct Choice {
  enum class Outcome : uint8_t { kRun, kPrune, kDiverged };
  Outcome outcome = Outcome::kRun;
  uint32_t index = 0;  // into Decision::runnable, when kRun
  static Choice run(size_t index) { return Choice{Outcome::kRun, static_cast<uint32_t>(index)}; }
  static Choice prune() { return Choice{Outcome::kPrune, 0}; }
  static Choice diverged() { return Choice{Outcome::kDiverged, 0}; }
};

// What a strategy needs to see beyond the choices, fixed for its lifetime.
struct StrategyNeeds {
  // Every step, even one with a single runnable task: replay checks the
  // recorded schedule still fits; sleep sets may prune there.
  bool every_step = false;
  // The footprint of every step, after it ran (Strategy::after_step).
  bool footprints = false;
  // Every fallible call (sim/fault.h): Strategy::inject_fault decides.
  bool faults = false;
};

// Three calls make a strategy (begin, choose, end); the rest are optional
// notifications with empty defaults.
class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual const char* name() const = 0;
  // Before each schedule (run), with its index in the campaign.
  virtual void begin_schedule(uint64_t schedule_index) { (void)schedule_index; }
  // At every decision with two or more runnable tasks (every step, if
  // needs().every_step).
  virtual Choice choose(const Decision& decision) = 0;
  // After each schedule; exhaustive strategies move to the next one, and
  // say when there is none (exhausted()).
  virtual void end_schedule() {}
  virtual bool exhausted() const { return false; }

  virtual StrategyNeeds needs() const { return {}; }
  // A task was created (priority-based strategies rank it).
  virtual void on_spawn(TaskId task) { (void)task; }
  // The footprint of the step `task` just ran (only if needs().footprints).
  virtual void after_step(TaskId task, const Footprint& footprint) {
    (void)task;
    (void)footprint;
  }
  // At a fallible call (only if needs().faults): true makes it fail. A
  // strategy bounds how many it fails in a run, as it bounds preemptions.
  virtual bool inject_fault(const FaultPoint& point) {
    (void)point;
    return false;
  }
  // After a kDiverged choice: why, naming the step.
  virtual std::string divergence() const { return {}; }
};

}  // namespace xfsim::sim
