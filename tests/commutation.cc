#include "tests/commutation.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace xfsim::testing {

sim::Choice ScheduleFollower::choose(const sim::Decision& decision) {
  if (decision.step >= schedule_.size()) return sim::Choice::run(0);
  const auto it = std::find(decision.runnable.begin(), decision.runnable.end(), schedule_[decision.step]);
  if (it == decision.runnable.end()) {
    diverged_ = true;
    diverged_at_ = decision.step;
    return sim::Choice::diverged();
  }
  return sim::Choice::run(static_cast<size_t>(it - decision.runnable.begin()));
}

namespace {
uint64_t mix(uint64_t hash, uint64_t value) {
  hash = (hash ^ value) * 0xc4ceb9fe1a85ec53ULL;
  return hash ^ (hash >> 31);
}
uint64_t text_hash(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}
}  // namespace

uint64_t per_task_history(const sim::Trace& trace) {
  const size_t outside = trace.task_names.size();  // the history of timer callbacks
  std::vector<uint64_t> history(outside + 1, 0x9e3779b97f4a7c15ULL);
  auto of = [&](uint32_t task) -> uint64_t& { return history[task < outside ? task : outside]; };
  for (const sim::TraceEntry& entry : trace.entries) {
    switch (entry.type) {
      case sim::TraceEntry::Type::kDecision:
        of(entry.task) = mix(of(entry.task), text_hash(entry.site));
        break;
      case sim::TraceEntry::Type::kLog:
        of(entry.task) = mix(of(entry.task), text_hash(trace.log_lines[entry.log]));
        break;
      case sim::TraceEntry::Type::kViolation:
        of(entry.task) = mix(of(entry.task), text_hash(trace.violations[entry.log].signature()));
        break;
      case sim::TraceEntry::Type::kFault:
        of(entry.task) = mix(of(entry.task), text_hash(entry.site) ^ entry.choice);
        break;
      case sim::TraceEntry::Type::kSpawn:
        break;
    }
  }
  uint64_t combined = 0;
  for (size_t task = 0; task <= outside; ++task) {
    combined = mix(combined, task < outside ? text_hash(trace.task_names[task]) : 0);
    combined = mix(combined, history[task]);
  }
  return combined;
}

RecordedRun record(sim::RunStatus status, const sim::Trace& trace, const ScheduleFollower& follower) {
  RecordedRun run;
  run.status = status;
  for (const sim::TraceEntry& entry : trace.entries) {
    if (entry.type != sim::TraceEntry::Type::kDecision) continue;
    run.schedule.push_back(entry.task);
    run.sites.emplace_back(entry.site);
  }
  run.footprints = follower.footprints();
  run.history = per_task_history(trace);
  run.diverged_at = follower.diverged_at();
  return run;
}

std::vector<std::string> non_commuting_steps(const RunFollowing& run, const RecordedRun& recorded, size_t limit,
                                             uint64_t* swaps_tried) {
  std::vector<std::string> found;
  const size_t steps = std::min(recorded.schedule.size(), recorded.footprints.size());
  for (size_t i = 0; i + 1 < steps && found.size() < limit; ++i) {
    const uint32_t first = recorded.schedule[i], second = recorded.schedule[i + 1];
    if (first == second || !recorded.footprints[i].independent_of(recorded.footprints[i + 1])) continue;
    if (recorded.status == sim::RunStatus::kViolation && i + 2 == steps) continue;
    std::vector<uint32_t> swapped = recorded.schedule;
    std::swap(swapped[i], swapped[i + 1]);
    const RecordedRun other = run(swapped);
    // The first step woke the second's task: no swap to try.
    if (other.status == sim::RunStatus::kStrategyError && other.diverged_at == i) continue;
    if (swaps_tried != nullptr) ++*swaps_tried;
    if (other.status != sim::RunStatus::kStrategyError && other.history == recorded.history) continue;
    found.push_back(fmt::format(
        "steps {} and {}: task {} at {} (reads {:#x}, writes {:#x}) and task {} at {} (reads {:#x}, writes {:#x}) "
        "commute by their footprints, but run the other way round they change what the tasks do",
        i, i + 1, first, recorded.sites[i], recorded.footprints[i].reads, recorded.footprints[i].writes, second,
        recorded.sites[i + 1], recorded.footprints[i + 1].reads, recorded.footprints[i + 1].writes));
  }
  return found;
}

}  // namespace xfsim::testing
