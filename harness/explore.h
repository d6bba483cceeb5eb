// Campaigns: many schedules of one scenario under one strategy, stopping at
// the first finding or collecting every distinct one, told apart by its
// signature (sim/violation.h); one run may report several.
// Schedule i of a seed is the same whichever schedules ran before it (random
// reseeds per index; pct's k is measured once per campaign), so a campaign
// can be split into shards or resumed from an offset.
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

// The schedule choice, as a scenario's schedule block makes it (options_from
// below), and what only a campaign has.
struct CampaignOptions : ScheduleChoice {
  uint64_t offset = 0;  // first schedule index
  uint64_t shard_index = 0, shard_count = 1;
  bool stop_at_first = true;
  // Perturb the scenario's timings per schedule (backend script, host
  // actions, latencies, sleeps), derived from (seed, schedule index).
  bool mutate_timing = false;
  // Run every schedule twice and compare the trace hashes (the world must be
  // deterministic; a difference is a bug of xfsim, reported, not a finding).
  bool check_determinism = false;
  // Asked every 256 schedules; true ends the campaign there (--time-limit).
  std::function<bool()> should_stop;
  // Called once per distinct signature, as soon as it is found.
  std::function<void(const struct Finding&)> on_finding;
  // Called every 256 schedules.
  std::function<void(uint64_t done, size_t distinct_violations, uint64_t distinct_interleavings)> progress;
};

struct Finding {
  std::string signature;  // what makes it distinct ("step-limit" for a run that hit its bound)
  RunResult result;       // the whole run it was found in
  const sim::Violation* violation() const { return result.find(signature); }
  uint64_t schedule_index = 0;
  std::vector<uint32_t> schedule;
  nlohmann::json scenario;  // the scenario as run (with mutated timings)
};

struct CampaignResult {
  uint64_t schedules_run = 0;
  uint64_t schedules_pruned = 0;        // of those, ended early by sleep sets
  bool exhausted = false;               // dfs covered its bounded space
  uint64_t distinct_interleavings = 0;  // estimated, in constant memory
  bool stopped_early = false;           // should_stop said so
  std::vector<Finding> findings;        // distinct signatures, in order found
  // check_determinism: the first schedule whose two runs differed.
  std::optional<uint64_t> nondeterministic_schedule;
  std::string nondeterminism;
  // The first violation found, or nullptr for a clean campaign.
  const Finding* first() const { return findings.empty() ? nullptr : &findings.front(); }
};

// Every strategy, in one table: its name, what it does, whether it walks one
// bounded space in order (then it cannot be sharded, resumed from an offset
// or run with mutated timings), whether a user names it (replay is chosen by
// a schedule's decisions), and how it is made.
struct StrategyEntry {
  const char* name;
  const char* summary;
  bool exhaustive;
  bool user_selectable;
  std::unique_ptr<sim::Strategy> (*make)(const Scenario& scenario, const CampaignOptions& options);
};
const std::vector<StrategyEntry>& strategy_table();
const StrategyEntry* find_strategy(const std::string& name);  // nullptr if unknown
std::vector<std::string> user_strategy_names();               // for --strategy
std::unique_ptr<sim::Strategy> make_strategy(const Scenario& scenario, const CampaignOptions& options);
// The same scenario with its timings perturbed for schedule `schedule_index`
// of a campaign seeded `seed` (deterministic in both): gaps between scripted
// instants change, their order never does, and every value stays inside the
// schema's range.
nlohmann::json mutate_timing(const nlohmann::json& scenario, uint64_t seed, uint64_t schedule_index = 0);
CampaignResult explore(const Scenario& scenario, const driver::Variant& variant, const CampaignOptions& options);
// The scenario's own schedule block as campaign options.
CampaignOptions options_from(const Scenario& scenario);

}  // namespace xfsim::harness
