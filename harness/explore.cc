#include "harness/explore.h"

#include <algorithm>
#include <cmath>
#include <set>

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
    for (const auto& entry : trace.entries) choices += entry.type == sim::TraceEntry::Type::kDecision && entry.options > 1;
    longest = std::max(longest, choices);
  }
  return longest;
}
}  // namespace

std::unique_ptr<sim::Strategy> make_strategy(const CampaignOptions& options) {
  if (options.strategy == "pct") return std::make_unique<sim::PctStrategy>(options.seed, options.depth);
  if (options.strategy == "dfs") {
    return std::make_unique<sim::DfsStrategy>(options.preemption_bound, /*branch_on_block=*/false, options.sleep_sets);
  }
  if (options.strategy == "replay") {
    return std::make_unique<sim::ReplayStrategy>(options.decisions, sim::ReplayStrategy::Mode::kLenient);
  }
  return std::make_unique<sim::RandomStrategy>(options.seed);
}

CampaignOptions options_from(const Scenario& scenario) {
  CampaignOptions options;
  options.strategy = scenario.schedule.strategy;
  options.seed = scenario.schedule.seed;
  options.schedules = scenario.schedule.strategy == "replay" ? 1 : scenario.schedule.schedules;
  options.depth = scenario.schedule.depth;
  options.preemption_bound = scenario.schedule.preemption_bound;
  options.sleep_sets = scenario.schedule.sleep_sets;
  options.decisions = scenario.schedule.decisions;
  return options;
}

namespace {

// Times move in 10 ms steps between half and one and a half times the
// scenario's, so independently perturbed events still often coincide (the
// same instant is where the scheduler interleaves them).
uint64_t jitter(sim::Prng& prng, uint64_t ms) {
  if (ms == 0) return prng.below(2) * 10;
  const uint64_t low = ms / 2, high = ms + ms / 2;
  const uint64_t steps = (high - low) / 10 + 1;
  return low + prng.below(steps) * 10;
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

nlohmann::json mutate_timing(const nlohmann::json& scenario, uint64_t salt) {
  uint64_t x = salt;
  sim::Prng prng(sim::Prng::splitmix64(x));
  nlohmann::json out = scenario;
  if (out.contains("backend")) {
    auto& backend = out["backend"];
    if (backend.contains("script")) {
      for (auto& action : backend["script"]) action["at_ms"] = jitter(prng, action["at_ms"].get<uint64_t>());
    }
    if (backend.contains("answers")) {
      for (auto& [op, answer] : backend["answers"].items()) {
        answer["latency_ms"] = prng.below(2 * answer.value("latency_ms", uint64_t{1}) + 3);
      }
    }
    if (backend.contains("flip_event_latency_ms")) {
      backend["flip_event_latency_ms"] = jitter(prng, backend["flip_event_latency_ms"].get<uint64_t>());
    }
  }
  if (out.contains("host")) {
    for (auto& action : out["host"]) action["at_ms"] = jitter(prng, action["at_ms"].get<uint64_t>());
  }
  for (auto& actor : out["actors"]) {
    for (auto& step : actor["steps"]) {
      if (step.contains("ms")) step["ms"] = jitter(prng, step["ms"].get<uint64_t>());
      if (step.contains("until_ms")) step["until_ms"] = jitter(prng, step["until_ms"].get<uint64_t>());
    }
  }
  return out;
}

CampaignResult explore(const Scenario& scenario, const driver::Variant& variant, const CampaignOptions& options) {
  CampaignResult campaign;
  auto strategy = make_strategy(options);
  if (auto* pct = dynamic_cast<sim::PctStrategy*>(strategy.get())) pct->fix_steps_estimate(calibrate_steps(scenario, options));
  const bool exhaustive = options.strategy == "dfs";
  std::set<std::pair<std::string, std::string>> seen;
  DistinctCounter interleavings;
  sim::Trace trace;
  trace.logging = false;
  for (uint64_t n = 0; n < options.schedules; ++n) {
    const uint64_t index = options.offset + n;
    // Shards take every shard_count-th schedule (dfs cannot be split so).
    if (!exhaustive && index % options.shard_count != options.shard_index) continue;
    std::optional<Scenario> mutated;
    if (options.mutate_timing) {
      mutated = parse_scenario(mutate_timing(scenario.source, options.seed ^ (index * 0x9e3779b97f4a7c15ULL)),
                               scenario.path, /*validate=*/false);
    }
    const Scenario& run = mutated ? *mutated : scenario;
    trace.clear();
    strategy->begin_schedule(index);
    RunResult result = run_once(run, variant, *strategy, trace);
    strategy->end_schedule();
    ++campaign.schedules_run;
    if (result.status == sim::RunStatus::kPruned) ++campaign.schedules_pruned;
    interleavings.add(trace.interleaving_hash());
    if (result.status == sim::RunStatus::kViolation || result.status == sim::RunStatus::kStepLimit) {
      const std::string site = result.violation ? result.violation->site : "";
      if (seen.insert({result.verdict(), site}).second) {
        campaign.findings.push_back(Finding{result, index, trace.schedule(), run.source});
        if (options.on_finding) options.on_finding(campaign.findings.back());
      }
      if (options.stop_at_first) break;
    }
    if (options.progress && campaign.schedules_run % 256 == 0) {
      options.progress(campaign.schedules_run, campaign.findings.size(), interleavings.estimate());
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
