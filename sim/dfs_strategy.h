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
#pragma once

#include <cstdint>
#include <vector>

#include "sim/strategy.h"

namespace xfsim::sim {

class DfsStrategy final : public Strategy {
 public:
  explicit DfsStrategy(uint32_t preemption_bound, bool branch_on_block = false)
      : bound_(preemption_bound), branch_on_block_(branch_on_block) {}
  void begin_schedule(uint64_t schedule_index) override;
  void end_schedule() override;
  size_t choose(const Decision& decision) override;
  bool exhausted() const override { return exhausted_; }
  bool ok() const override { return error_.empty(); }
  std::string error() const override { return error_; }
  const char* name() const override { return "dfs"; }

 private:
  struct Frame {
    std::vector<TaskId> order;  // alternatives: the non-preempting one first
    uint32_t taken = 0;         // index into order
    uint32_t preemptions_before = 0;
    bool previous_runnable = false;
  };
  bool is_preemption(const Frame& frame, uint32_t index) const {
    return frame.previous_runnable && index != 0;
  }

  uint32_t bound_;
  bool branch_on_block_;
  std::vector<Frame> frames_;
  size_t depth_ = 0;  // decisions made in the current schedule
  bool exhausted_ = false;
  std::string error_;
};

}  // namespace xfsim::sim
