#include "harness/explore.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "harness/fault_sites.h"
#include "sim/assert.h"
#include "sim/dfs_strategy.h"
#include "sim/pct_strategy.h"
#include "sim/prng.h"
#include "sim/random_strategy.h"
#include "sim/replay_strategy.h"

namespace xfsim::harness {

namespace {
// PCT needs k, the number of decisions of a schedule. Measured once, as the
// longest of a few schedules derived from the seed, so every schedule index
// sees the same k (a too-small k puts change points only early in a run).
uint64_t calibrate_steps(const Scenario& scenario, const CampaignOptions& options) {
  uint64_t longest = 0;
  for (uint64_t probe_index = 0; probe_index < 8; ++probe_index) {
    sim::RandomStrategy probe(options.seed ^ 0x70c7ca1b7a7eULL);
    probe.begin_schedule(probe_index);
    sim::Trace trace;
    trace.logging = false;
    run_once(scenario, *driver::find_variant("correct"), probe, trace);
    uint64_t choices = 0;
    for (const auto& entry : trace.entries)
      choices += entry.type == sim::TraceEntry::Type::kDecision && entry.options > 1;
    longest = std::max(longest, choices);
  }
  return longest;
}
}  // namespace

const std::vector<StrategyEntry>& strategy_table() {
  static const std::vector<StrategyEntry> table = {
      {"random", "a uniformly random runnable task at every decision, per (seed, schedule index)",
       /*exhaustive=*/false, /*user_selectable=*/true,
       [](const Scenario&, const CampaignOptions& o) -> std::unique_ptr<sim::Strategy> {
         return std::make_unique<sim::RandomStrategy>(o.seed, o.fault_bound);
       }},
      {"pct", "probabilistic concurrency testing: random priorities, depth-1 change points",
       /*exhaustive=*/false, /*user_selectable=*/true,
       [](const Scenario& scenario, const CampaignOptions& o) -> std::unique_ptr<sim::Strategy> {
         auto pct = std::make_unique<sim::PctStrategy>(o.seed, o.depth, o.fault_bound);
         pct->fix_steps_estimate(calibrate_steps(scenario, o));
         return pct;
       }},
      {"dfs", "bounded exhaustive search: every schedule with at most K preemptions (optionally sleep sets)",
       /*exhaustive=*/true, /*user_selectable=*/true,
       [](const Scenario&, const CampaignOptions& o) -> std::unique_ptr<sim::Strategy> {
         return std::make_unique<sim::DfsStrategy>(o.preemption_bound, /*branch_on_block=*/false, o.sleep_sets,
                                                   o.fault_bound);
       }},
      {"replay", "a recorded schedule (lenient: where it no longer fits, no preemption)",
       /*exhaustive=*/true, /*user_selectable=*/false,
       [](const Scenario&, const CampaignOptions& o) -> std::unique_ptr<sim::Strategy> {
         return std::make_unique<sim::ReplayStrategy>(o.decisions, sim::ReplayStrategy::Mode::kLenient);
       }},
  };
  return table;
}

const StrategyEntry* find_strategy(const std::string& name) {
  for (const auto& entry : strategy_table()) {
    if (name == entry.name) return &entry;
  }
  return nullptr;
}

std::vector<std::string> user_strategy_names() {
  std::vector<std::string> names;
  for (const auto& entry : strategy_table()) {
    if (entry.user_selectable) names.emplace_back(entry.name);
  }
  return names;
}

std::unique_ptr<sim::Strategy> make_strategy(const Scenario& scenario, const CampaignOptions& options) {
  const StrategyEntry* entry = find_strategy(options.strategy);
  XFSIM_ASSERT(entry != nullptr,
               "unknown strategy '{}' (the scenario schema and the command line allow only known ones)",
               options.strategy);
  return entry->make(scenario, options);
}

CampaignOptions options_from(const Scenario& scenario) {
  CampaignOptions options;
  static_cast<ScheduleChoice&>(options) = scenario.schedule;
  if (options.strategy == "replay") options.schedules = 1;  // a recorded schedule runs once
  return options;
}

namespace {

// A gap of `ms` becomes one between half and one and a half times it, in
// 10 ms steps, never zero (so instants keep their order) unless it was zero
// (so a tie stays a tie: the scheduler decides the order of coinciding events).
uint64_t jitter_gap(sim::Prng& prng, uint64_t ms) {
  if (ms == 0) return 0;
  const uint64_t low = std::max<uint64_t>(1, ms / 2), high = std::max(low, ms + ms / 2);
  return std::min(high, low + prng.below((high - low) / 10 + 1) * 10);
}

// A latency: any value from half to one and a half times it, capped.
uint64_t jitter_latency(sim::Prng& prng, uint64_t ms, uint64_t cap) {
  const uint64_t low = ms / 2, high = ms + ms / 2;
  return std::min(cap, low + prng.below((high - low) / 10 + 1) * 10);
}

// One strictly increasing map of virtual instants, drawn from the gaps
// between the scenario's own instants.
class TimeWarp {
 public:
  void add(uint64_t instant) { instants_.push_back(instant); }
  void draw(sim::Prng& prng) {
    instants_.push_back(0);
    std::sort(instants_.begin(), instants_.end());
    instants_.erase(std::unique(instants_.begin(), instants_.end()), instants_.end());
    warped_.assign(instants_.size(), 0);
    for (size_t i = 1; i < instants_.size(); ++i) {
      warped_[i] = warped_[i - 1] + jitter_gap(prng, instants_[i] - instants_[i - 1]);
    }
    // Past the schema's range: keep the scenario's own times.
    if (warped_.back() > kScenarioMaxMs) warped_ = instants_;
  }
  uint64_t operator()(uint64_t instant) const {
    const auto it = std::lower_bound(instants_.begin(), instants_.end(), instant);
    XFSIM_ASSERT(it != instants_.end() && *it == instant, "instant {} was not added to the warp", instant);
    return warped_[static_cast<size_t>(it - instants_.begin())];
  }

 private:
  std::vector<uint64_t> instants_, warped_;
};

// An actor's sleeps laid end to end from 0: for each step, the instant it
// starts, the one an until_ms wakes it at and the one it ends at (other
// steps are taken to cost no virtual time).
template <typename Fn>
void for_each_sleep(const nlohmann::json& actor, Fn&& fn) {
  uint64_t now = 0;
  for (size_t i = 0; i < actor["steps"].size(); ++i) {
    const auto& step = actor["steps"][i];
    const uint64_t before = now;
    if (step.contains("until_ms")) now = std::max(now, step["until_ms"].get<uint64_t>());
    const uint64_t woken = now;
    if (step.contains("ms")) now += step["ms"].get<uint64_t>();
    fn(i, before, woken, now);
  }
}

// Linear counting over a fixed bitmap: distinct interleavings in 128 KiB,
// whatever the length of the campaign.
class DistinctCounter {
 public:
  void add(uint64_t hash) { bits_[(hash >> 6) % kWords] |= 1ULL << (hash & 63); }
  uint64_t estimate() const {
    uint64_t zero = 0;
    for (uint64_t word : bits_) zero += 64 - static_cast<uint64_t>(__builtin_popcountll(word));
    const double m = static_cast<double>(kWords * 64);
    if (zero == 0) return static_cast<uint64_t>(m);
    return static_cast<uint64_t>(std::llround(-m * std::log(static_cast<double>(zero) / m)));
  }

 private:
  static constexpr size_t kWords = 16384;
  std::vector<uint64_t> bits_ = std::vector<uint64_t>(kWords, 0);
};

}  // namespace

nlohmann::json mutate_timing(const nlohmann::json& scenario, uint64_t seed, uint64_t schedule_index) {
  sim::Prng prng(sim::Prng::schedule_seed(seed, schedule_index));
  nlohmann::json out = scenario;
  TimeWarp warp;
  const bool has_script = out.contains("backend") && out["backend"].contains("script");
  if (has_script) {
    for (const auto& action : out["backend"]["script"]) warp.add(action["at_ms"].get<uint64_t>());
  }
  if (out.contains("host")) {
    for (const auto& action : out["host"]) warp.add(action["at_ms"].get<uint64_t>());
  }
  for (const auto& actor : out["actors"]) {
    for_each_sleep(actor, [&](size_t, uint64_t before, uint64_t woken, uint64_t after) {
      warp.add(before);
      warp.add(woken);
      warp.add(after);
    });
  }
  warp.draw(prng);
  if (has_script) {
    for (auto& action : out["backend"]["script"]) action["at_ms"] = warp(action["at_ms"].get<uint64_t>());
  }
  if (out.contains("host")) {
    for (auto& action : out["host"]) action["at_ms"] = warp(action["at_ms"].get<uint64_t>());
  }
  for (auto& actor : out["actors"]) {
    const nlohmann::json original = actor;
    for_each_sleep(original, [&](size_t i, uint64_t, uint64_t woken, uint64_t after) {
      auto& step = actor["steps"][i];
      if (step.contains("until_ms")) step["until_ms"] = warp(step["until_ms"].get<uint64_t>());
      if (step.contains("ms")) step["ms"] = warp(after) - warp(woken);
    });
  }
  if (out.contains("backend")) {
    auto& backend = out["backend"];
    if (backend.contains("answers")) {
      for (auto& [op, answer] : backend["answers"].items()) {
        answer["latency_ms"] = jitter_latency(prng, answer.value("latency_ms", uint64_t{1}), kScenarioMaxLatencyMs);
      }
    }
    if (backend.contains("flip_event_latency_ms")) {
      backend["flip_event_latency_ms"] =
          jitter_latency(prng, backend["flip_event_latency_ms"].get<uint64_t>(), kScenarioMaxLatencyMs);
    }
  }
  return out;
}

CampaignResult explore(const Scenario& scenario, const driver::Variant& variant, const CampaignOptions& options) {
  CampaignResult campaign;
  auto strategy = make_strategy(scenario, options);
  // An exhaustive strategy walks one space in order: it cannot be split.
  const bool exhaustive = find_strategy(options.strategy)->exhaustive;
  std::set<std::string> seen;
  DistinctCounter interleavings;
  sim::Trace trace;
  trace.logging = false;
  auto found = [&](const std::string& signature, const RunResult& result, uint64_t index, const Scenario& run) {
    if (!seen.insert(signature).second) return;
    campaign.findings.push_back(
        Finding{signature, result, index, trace.schedule(), with_explored_faults(run.source, result.faults)});
    if (options.on_finding) options.on_finding(campaign.findings.back());
  };
  for (uint64_t n = 0; n < options.schedules; ++n) {
    const uint64_t index = options.offset + n;
    // Shards take every shard_count-th schedule (dfs cannot be split so).
    if (!exhaustive && index % options.shard_count != options.shard_index) continue;
    std::optional<Scenario> mutated;
    if (options.mutate_timing) {
      mutated = parse_scenario(mutate_timing(scenario.source, options.seed, index), scenario.path, /*validate=*/false);
    }
    const Scenario& run = mutated ? *mutated : scenario;
    trace.clear();
    strategy->begin_schedule(index);
    RunResult result = run_once(run, variant, *strategy, trace);
    strategy->end_schedule();
    ++campaign.schedules_run;
    if (result.status == sim::RunStatus::kPruned) ++campaign.schedules_pruned;
    interleavings.add(trace.interleaving_hash());
    if (options.check_determinism && result.status != sim::RunStatus::kPruned && !campaign.nondeterministic_schedule) {
      sim::ReplayStrategy again(trace.schedule());
      sim::Trace second;
      second.logging = false;
      // The faults the strategy chose, scripted: replay makes no choice of its own.
      const Scenario with_faults =
          parse_scenario(with_explored_faults(run.source, result.faults), run.path, /*validate=*/false);
      const RunResult replayed = run_once(with_faults, variant, again, second);
      if (second.trace_hash() != trace.trace_hash() || replayed.verdict() != result.verdict()) {
        campaign.nondeterministic_schedule = index;
        campaign.nondeterminism =
            fmt::format("schedule {} ran twice gives trace hash {:016x} ({}, {} steps) then {:016x} ({}, {} steps)",
                        index, trace.trace_hash(), result.verdict(), result.steps, second.trace_hash(),
                        replayed.verdict(), replayed.steps);
        break;
      }
    }
    for (const sim::Violation& v : result.violations) found(v.signature(), result, index, run);
    if (result.inconclusive()) found(result.verdict(), result, index, run);
    if (options.stop_at_first && !campaign.findings.empty()) break;
    if (campaign.schedules_run % 256 == 0) {
      if (options.progress)
        options.progress(campaign.schedules_run, campaign.findings.size(), interleavings.estimate());
      if (options.should_stop && options.should_stop()) {
        campaign.stopped_early = true;
        break;
      }
    }
    if (strategy->exhausted()) {
      campaign.exhausted = true;
      break;
    }
  }
  campaign.distinct_interleavings = interleavings.estimate();
  return campaign;
}

}  // namespace xfsim::harness
