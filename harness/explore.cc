#include "harness/explore.h"

#include <set>

#include "sim/dfs_strategy.h"
#include "sim/pct_strategy.h"
#include "sim/random_strategy.h"

namespace xfsim::harness {

std::unique_ptr<sim::Strategy> make_strategy(const std::string& name, uint64_t seed, uint32_t depth,
                                             uint32_t preemption_bound) {
  if (name == "pct") return std::make_unique<sim::PctStrategy>(seed, depth);
  if (name == "dfs") return std::make_unique<sim::DfsStrategy>(preemption_bound);
  return std::make_unique<sim::RandomStrategy>(seed);
}

CampaignOptions options_from(const Scenario& scenario) {
  CampaignOptions options;
  options.strategy = scenario.schedule.strategy;
  options.seed = scenario.schedule.seed;
  options.schedules = scenario.schedule.schedules;
  options.depth = scenario.schedule.depth;
  options.preemption_bound = scenario.schedule.preemption_bound;
  return options;
}

CampaignResult explore(const Scenario& scenario, const driver::Variant& variant, const CampaignOptions& options) {
  CampaignResult campaign;
  auto strategy = make_strategy(options.strategy, options.seed, options.depth, options.preemption_bound);
  const bool exhaustive = options.strategy == "dfs";
  std::set<std::pair<std::string, std::string>> seen;
  sim::Trace trace;
  trace.logging = false;
  for (uint64_t n = 0; n < options.schedules; ++n) {
    const uint64_t index = options.offset + n;
    // Shards take every shard_count-th schedule (dfs cannot be split so).
    if (!exhaustive && index % options.shard_count != options.shard_index) continue;
    trace.clear();
    strategy->begin_schedule(index);
    RunResult result = run_once(scenario, variant, *strategy, trace);
    strategy->end_schedule();
    ++campaign.schedules_run;
    if (result.status == sim::RunStatus::kViolation || result.status == sim::RunStatus::kStepLimit) {
      const std::string site = result.violation ? result.violation->site : "";
      if (seen.insert({result.verdict(), site}).second) {
        campaign.findings.push_back(Finding{result, index, trace.schedule()});
      }
      if (options.stop_at_first) break;
    }
    if (options.progress) options.progress(campaign.schedules_run, campaign.findings.size());
    if (strategy->exhausted()) {
      campaign.exhausted = true;
      break;
    }
  }
  return campaign;
}

}  // namespace xfsim::harness
