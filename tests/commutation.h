// The claim sleep sets rest on (sim/dfs_strategy.h), checked on recorded runs:
// two adjacent steps of different tasks whose footprints (sim/footprint.h)
// say they commute reach the same state in either order. Run the other way
// round, they must leave every task's own history as it was: its scheduling
// points, its log lines and its reports, in order (the projection of the
// trace onto the task, which reordering commuting steps does not change).
// A footprint left out makes two dependent steps look independent, and
// swapping them changes some task's history.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/footprint.h"
#include "sim/scheduler.h"
#include "sim/strategy.h"
#include "sim/trace.h"

namespace xfsim::testing {

// Follows a schedule (the task of every step) and records every step's
// footprint. A task the schedule names that is not runnable ends the run
// (RunStatus::kStrategyError); past its end, the lowest runnable task goes.
class ScheduleFollower final : public sim::Strategy {
 public:
  explicit ScheduleFollower(std::vector<uint32_t> schedule) : schedule_(std::move(schedule)) {}
  sim::Choice choose(const sim::Decision& decision) override;
  sim::StrategyNeeds needs() const override { return {.every_step = true, .footprints = true}; }
  void after_step(sim::TaskId, const sim::Footprint& footprint) override { footprints_.push_back(footprint); }
  std::string divergence() const override {
    return diverged_ ? fmt::format("step {}: the schedule does not fit the run", diverged_at_) : std::string();
  }
  const char* name() const override { return "follow"; }
  const std::vector<sim::Footprint>& footprints() const { return footprints_; }
  uint64_t diverged_at() const { return diverged_at_; }

 private:
  std::vector<uint32_t> schedule_;
  std::vector<sim::Footprint> footprints_;
  bool diverged_ = false;
  uint64_t diverged_at_ = 0;
};

// Each task's scheduling points, log lines and reports, in order, combined in
// task-id order; log lines and reports made outside a task (timer callbacks)
// are one more history. The trace must have been kept with logging on.
uint64_t per_task_history(const sim::Trace& trace);

struct RecordedRun {
  sim::RunStatus status = sim::RunStatus::kFinished;
  std::vector<uint32_t> schedule;          // the task of every step
  std::vector<std::string> sites;          // where each step's task resumed
  std::vector<sim::Footprint> footprints;  // of every step
  uint64_t history = 0;                    // per_task_history
  uint64_t diverged_at = 0;                // status kStrategyError: the step that did not fit
};
// Runs the world under test following `schedule` (with a ScheduleFollower and
// a trace with logging on) and records the run.
using RunFollowing = std::function<RecordedRun(const std::vector<uint32_t>& schedule)>;
RecordedRun record(sim::RunStatus status, const sim::Trace& trace, const ScheduleFollower& follower);

// Every pair of adjacent steps of different tasks whose footprints commute,
// run the other way round. Returns the pairs whose swap changed some task's
// history or made a later step of the schedule impossible, described, at most
// `limit`. A swap the run cannot take (the first step woke the second step's
// task) is skipped, and so is the pair
// ending a run that a report stopped (the run ends after the reporting step,
// whichever it is). `swaps_tried`, if given, counts the swaps that ran.
std::vector<std::string> non_commuting_steps(const RunFollowing& run, const RecordedRun& recorded, size_t limit = 5,
                                             uint64_t* swaps_tried = nullptr);

}  // namespace xfsim::testing
