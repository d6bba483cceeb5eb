#include "sim/dfs_strategy.h"

#include <algorithm>

#include <fmt/format.h>

#include "sim/assert.h"

namespace xfsim::sim {

void DfsStrategy::begin_schedule(uint64_t) {
  depth_ = 0;
  asleep_.clear();
  choice_frame_ = -1;
}

bool DfsStrategy::asleep(const std::vector<Sleeper>& sleepers, TaskId task) const {
  return std::any_of(sleepers.begin(), sleepers.end(), [task](const Sleeper& s) { return s.task == task; });
}

bool DfsStrategy::allowed(const Frame& frame, uint32_t index) const {
  if (frame.fault) return index == 0 || frame.faults_before < fault_bound_;
  if (frame.preemptions_before + (is_preemption(frame, index) ? 1 : 0) > bound_) return false;
  return !sleep_sets_ || !asleep(frame.asleep_on_entry, frame.order[index]);
}

Choice DfsStrategy::choose(const Decision& decision) {
  const auto index_of = [&](TaskId task) {
    auto it = std::find(decision.runnable.begin(), decision.runnable.end(), task);
    return it == decision.runnable.end() ? decision.runnable.size()
                                         : static_cast<size_t>(it - decision.runnable.begin());
  };
  choice_frame_ = -1;
  if (decision.runnable.size() == 1) {
    // Seen only with sleep sets (observes_all_steps): no choice to make, but
    // a run whose only runnable task sleeps is a reordering already explored.
    return asleep(asleep_, decision.runnable[0]) ? Choice::prune() : Choice::run(0);
  }
  if (depth_ < frames_.size()) {
    // Re-executing the prefix: the world is deterministic, so the same
    // choice must be available again.
    choice_frame_ = static_cast<long>(depth_);
    const Frame& frame = frames_[depth_++];
    XFSIM_ASSERT(!frame.fault, "dfs: nondeterminism at step {}: a scheduling decision where a fallible call was",
                 decision.step);
    const size_t index = index_of(frame.order[frame.taken]);
    // The world is deterministic: a task runnable at this step of the prefix
    // before is runnable again. If not, xfsim itself leaks nondeterminism.
    XFSIM_ASSERT(index < decision.runnable.size(), "dfs: nondeterminism at step {}: task {} no longer runnable",
                 decision.step, frame.order[frame.taken]);
    return Choice::run(index);
  }
  Frame frame;
  frame.previous_runnable = decision.previous != kNoTask;
  if (frame.previous_runnable) frame.order.push_back(decision.previous);
  for (TaskId task : decision.runnable) {
    if (task != decision.previous) frame.order.push_back(task);
    if (!frame.previous_runnable && !branch_on_block_) break;  // the lowest goes; no branch
  }
  inherit_budgets(frame);
  if (sleep_sets_) {
    frame.asleep_on_entry = asleep_;
    frame.first_step.resize(frame.order.size());
    frame.explored.resize(frame.order.size(), false);
  }
  uint32_t first = 0;
  while (first < frame.order.size() && !allowed(frame, first)) ++first;
  if (first == frame.order.size()) {
    // Every alternative sleeps (or the only free one does): nothing new below.
    XFSIM_ASSERT(sleep_sets_, "dfs: no allowed alternative at step {} without sleep sets", decision.step);
    return Choice::prune();
  }
  frame.taken = first;
  frames_.push_back(std::move(frame));
  choice_frame_ = static_cast<long>(depth_);
  ++depth_;
  return Choice::run(index_of(frames_.back().order[first]));
}

void DfsStrategy::inherit_budgets(Frame& frame) const {
  if (depth_ == 0) return;
  const Frame& above = frames_[depth_ - 1];
  frame.preemptions_before = above.preemptions_before + (is_preemption(above, above.taken) ? 1 : 0);
  frame.faults_before = above.faults_before + (above.fault && above.taken == 1 ? 1 : 0);
}

bool DfsStrategy::inject_fault(const FaultPoint& point) {
  if (depth_ < frames_.size()) {
    const Frame& frame = frames_[depth_++];
    XFSIM_ASSERT(frame.fault, "dfs: nondeterminism at step {}: a fallible call ({}) where a scheduling decision was",
                 point.step, point.site->name);
    return frame.taken == 1;
  }
  Frame frame;
  frame.fault = true;
  frame.order = {0, 1};
  inherit_budgets(frame);
  if (sleep_sets_) {
    frame.asleep_on_entry = asleep_;
    frame.first_step.resize(2);
    frame.explored.resize(2, false);
  }
  frames_.push_back(std::move(frame));
  ++depth_;
  return false;  // succeed first
}

void DfsStrategy::after_step(TaskId task, const Footprint& footprint) {
  std::vector<Sleeper> candidates;
  if (choice_frame_ >= 0) {
    // The step a choice started: record it, and wake the alternatives
    // explored before it (and those asleep on entry) unless they commute.
    Frame& frame = frames_[static_cast<size_t>(choice_frame_)];
    frame.first_step[frame.taken] = footprint;
    candidates = frame.asleep_on_entry;
    for (uint32_t i = 0; i < frame.taken; ++i) {
      if (frame.explored[i]) candidates.push_back(Sleeper{frame.order[i], frame.first_step[i]});
    }
  } else {
    candidates = std::move(asleep_);
  }
  asleep_.clear();
  for (const Sleeper& sleeper : candidates) {
    if (sleeper.task != task && sleeper.next_step.independent_of(footprint)) asleep_.push_back(sleeper);
  }
  choice_frame_ = -1;
}

void DfsStrategy::end_schedule() {
  // Frames past the decisions this schedule made are stale (it ended early).
  frames_.resize(std::min(frames_.size(), depth_));
  while (!frames_.empty()) {
    Frame& frame = frames_.back();
    if (sleep_sets_) frame.explored[frame.taken] = true;
    uint32_t next = frame.taken + 1;
    while (next < frame.order.size() && !allowed(frame, next)) ++next;
    if (next < frame.order.size()) {
      frame.taken = next;
      return;
    }
    frames_.pop_back();
  }
  exhausted_ = true;
}

}  // namespace xfsim::sim
