#include "sim/pct_strategy.h"

#include <algorithm>

#include "sim/assert.h"

namespace xfsim::sim {

namespace {
// Initial priorities live above this; change points assign priorities below
// it, so a demoted task ranks under every task that was never demoted.
constexpr uint64_t kInitialPriorityBase = 1ULL << 32;
}  // namespace

PctStrategy::PctStrategy(uint64_t seed, uint32_t depth, uint32_t fault_bound)
    : seed_(seed), depth_(depth == 0 ? 1 : depth), prng_(seed), faults_(fault_bound) {}

void PctStrategy::begin_schedule(uint64_t schedule_index) {
  prng_.reseed(Prng::schedule_seed(seed_, schedule_index));
  faults_.begin_schedule(seed_, schedule_index);
  priorities_.clear();
  // From a value of its own, not prng_: schedules without due-timer choices
  // stay as they were.
  uint64_t timer_seed = Prng::schedule_seed(seed_ ^ 0x7113e5ULL, schedule_index);
  due_timers_priority_ = kInitialPriorityBase + (Prng::splitmix64(timer_seed) >> 34) * 64 + 63;
  change_points_.clear();
  for (uint32_t i = 1; i < depth_; ++i) change_points_.push_back(prng_.below(steps_estimate_));
  std::sort(change_points_.begin(), change_points_.end());
  next_change_ = 0;
  steps_seen_ = 0;
}

void PctStrategy::end_schedule() {
  if (learn_ && steps_seen_ > 0) steps_estimate_ = std::max<uint64_t>(steps_seen_, 8);
}

void PctStrategy::on_spawn(TaskId task) {
  if (priorities_.size() <= task) priorities_.resize(task + 1, 0);
  // Random distinct priority; the task id breaks (improbable) ties.
  priorities_[task] = kInitialPriorityBase + (prng_.next() >> 34) * 64 + (task & 63);
}

Choice PctStrategy::choose(const Decision& decision) {
  ++steps_seen_;
  for (TaskId task : decision.runnable)
    XFSIM_ASSERT(task == kDueTimers || task < priorities_.size(), "pct: task {} has no priority", task);
  auto best = [&] {
    size_t index = 0;
    for (size_t i = 1; i < decision.runnable.size(); ++i) {
      if (priority(decision.runnable[i]) > priority(decision.runnable[index])) index = i;
    }
    return index;
  };
  size_t pick = best();
  // At a change point, demote the task that would run, then choose again.
  while (next_change_ < change_points_.size() && change_points_[next_change_] <= steps_seen_) {
    priority(decision.runnable[pick]) = depth_ - next_change_;  // below every initial one
    ++next_change_;
    pick = best();
  }
  XFSIM_ASSERT(pick < decision.runnable.size());
  return Choice::run(pick);
}

}  // namespace xfsim::sim
