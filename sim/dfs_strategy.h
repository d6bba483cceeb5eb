// DfsStrategy: stateless exhaustive search of schedules with at most K
// preemptions (Musuvathi & Qadeer, "Iterative context bounding", PLDI 2007).
// A preemption is choosing another task while the one that ran last is still
// runnable. Each schedule re-executes from the start, following the stack of
// choices; after it, the deepest choice with an untried alternative within the
// bound is advanced. `exhausted()` says the bounded space was covered.
//
// Switches that are not preemptions (the running task blocked or ended) are
// free in iterative context bounding, which makes the space exponential in
// the number of blocking points. By default they are not branched on: the
// lowest runnable task goes next, and the search covers every placement of
// up to K preemptions — O((steps * tasks)^K) schedules. A different order at
// a blocking point is still reachable by preempting just before it.
// branch_on_block = true gives the full (exponential) space.
//
// Sleep sets (Godefroid 1996), with sleep_sets = true: once the alternatives
// of a choice before task u are explored, u "sleeps" in the later ones until a
// step dependent on u's next step runs (footprints, sim/footprint.h); a
// sleeping task is not chosen, and a run whose every runnable task sleeps is
// ended (RunStatus::kPruned), its continuations being reorderings of
// commuting steps already explored. With a preemption bound this is a
// heuristic rather than a proof (Coons, Musuvathi, McKinley, OOPSLA 2013): a
// reordering explored under the bound may need more preemptions than the one
// it stands for. tests/campaign_test.cc checks it loses no finding here.
//
// Faults (sim/fault.h), with fault_bound > 0: every fallible call is a choice
// too, succeed first, then fail, with at most fault_bound failures in a
// schedule, so bound 1 covers "every single failure" at every placement of
// the preemptions. They sit in the same stack of choices as the tasks.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/strategy.h"

namespace xfsim::sim {

class DfsStrategy final : public Strategy {
 public:
  explicit DfsStrategy(uint32_t preemption_bound, bool branch_on_block = false, bool sleep_sets = false,
                       uint32_t fault_bound = 0)
      : bound_(preemption_bound),
        fault_bound_(fault_bound),
        branch_on_block_(branch_on_block),
        sleep_sets_(sleep_sets) {}
  void begin_schedule(uint64_t schedule_index) override;
  void end_schedule() override;
  Choice choose(const Decision& decision) override;
  bool exhausted() const override { return exhausted_; }
  const char* name() const override { return "dfs"; }
  StrategyNeeds needs() const override {
    return {.every_step = sleep_sets_, .footprints = sleep_sets_, .faults = fault_bound_ > 0};
  }
  bool inject_fault(const FaultPoint& point) override;
  void after_step(TaskId task, const Footprint& footprint) override;

 private:
  struct Sleeper {
    TaskId task;
    Footprint next_step;  // the footprint of the step it would take
  };
  struct Frame {
    std::vector<TaskId> order;  // alternatives: the non-preempting one first (a fault: 0 succeed, 1 fail)
    uint32_t taken = 0;         // index into order
    bool fault = false;         // a fallible call, not a scheduling decision
    uint32_t preemptions_before = 0;
    uint32_t faults_before = 0;
    bool previous_runnable = false;
    // Sleep sets only:
    std::vector<Sleeper> asleep_on_entry;
    std::vector<Footprint> first_step;  // by alternative, once explored
    std::vector<bool> explored;         // by alternative
  };
  bool is_preemption(const Frame& frame, uint32_t index) const {
    return !frame.fault && frame.previous_runnable && index != 0;
  }
  // The preemptions and faults of the choices above depth_ (the new frame's).
  void inherit_budgets(Frame& frame) const;
  bool asleep(const std::vector<Sleeper>& sleepers, TaskId task) const;
  bool allowed(const Frame& frame, uint32_t index) const;

  uint32_t bound_;
  uint32_t fault_bound_;
  bool branch_on_block_;
  bool sleep_sets_;
  std::vector<Frame> frames_;
  size_t depth_ = 0;  // decisions made in the current schedule
  bool exhausted_ = false;
  // Sleep sets: the current one, and the frame whose choice the next
  // after_step reports (-1: the step was not a branching choice).
  std::vector<Sleeper> asleep_;
  long choice_frame_ = -1;
};

}  // namespace xfsim::sim
