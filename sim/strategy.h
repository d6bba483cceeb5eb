// Strategy: decides, at every scheduling point, which runnable task runs next.
//
// One strategy per pair of files (random, replay, pct, dfs) behind this
// interface; a new strategy is a new file and nothing else moves. Every
// strategy is deterministic given its seed (or its recorded schedule).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "sim/footprint.h"

namespace xfsim::sim {

using TaskId = uint32_t;
inline constexpr TaskId kNoTask = 0xffffffffu;

// What a strategy sees at one decision. `runnable` is sorted by TaskId, so the
// same world state always offers the same options in the same order.
struct Decision {
  uint64_t step = 0;
  TaskId previous = kNoTask;  // the task that ran the last step, if still runnable
  std::span<const TaskId> runnable;
  const char* site = "";  // the scheduling point `previous` stopped at
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // Called before each schedule (run) with its index in the campaign.
  virtual void begin_schedule(uint64_t schedule_index) { (void)schedule_index; }
  // Returns an index into decision.runnable. Only called when there is a
  // choice (two or more runnable tasks).
  virtual size_t choose(const Decision& decision) = 0;
  // Called after each schedule; exhaustive strategies move to the next one.
  virtual void end_schedule() {}
  // True once an exhaustive strategy has covered its whole space.
  virtual bool exhausted() const { return false; }
  // Replay wants to see every step, even those with one runnable task, so it
  // can check the recorded schedule still fits the run.
  virtual bool observes_all_steps() const { return false; }
  // Called when a task is created, so priority-based strategies can rank it.
  virtual void on_spawn(TaskId task) { (void)task; }
  // False when the strategy cannot follow the run (replay diverged); the
  // scheduler then stops and reports why.
  virtual bool ok() const { return true; }
  // Partial-order reduction: a strategy that wants it sees the footprint of
  // every step (after it ran), and may end a run whose continuation it knows
  // to be covered by schedules already explored (RunStatus::kPruned).
  virtual bool wants_footprints() const { return false; }
  virtual void after_step(TaskId task, const Footprint& footprint) {
    (void)task;
    (void)footprint;
  }
  virtual bool pruned() const { return false; }
  virtual std::string error() const { return {}; }
  virtual const char* name() const = 0;
};

}  // namespace xfsim::sim
