// Campaigns: many schedules of one scenario under one strategy, stopping at
// the first violation or collecting every distinct one (kind + site).
// Schedule i of a seed is the same whichever schedules ran before it, so a
// campaign can be split into shards or resumed from an offset.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver_core/variant.h"
#include "harness/scenario.h"
#include "harness/world.h"
#include "sim/strategy.h"

namespace xfsim::harness {

struct CampaignOptions {
  std::string strategy = "random";
  uint64_t seed = 1;
  uint64_t schedules = 1;
  uint32_t depth = 3;             // pct
  uint32_t preemption_bound = 2;  // dfs
  uint64_t offset = 0;            // first schedule index
  uint64_t shard_index = 0, shard_count = 1;
  bool stop_at_first = true;
  std::function<void(uint64_t done, size_t distinct)> progress;
};

struct Finding {
  RunResult result;
  uint64_t schedule_index = 0;
  std::vector<uint32_t> schedule;
};

struct CampaignResult {
  uint64_t schedules_run = 0;
  bool exhausted = false;  // dfs covered its bounded space
  std::vector<Finding> findings;  // distinct (kind, site), in order found
  std::optional<Finding> first() const {
    if (findings.empty()) return std::nullopt;
    return findings.front();
  }
};

std::unique_ptr<sim::Strategy> make_strategy(const std::string& name, uint64_t seed, uint32_t depth,
                                             uint32_t preemption_bound);
CampaignResult explore(const Scenario& scenario, const driver::Variant& variant, const CampaignOptions& options);
// The scenario's own schedule block as campaign options.
CampaignOptions options_from(const Scenario& scenario);

}  // namespace xfsim::harness
