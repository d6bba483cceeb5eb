// bazel run //:bench — figures, never a timed test. The host clock is read
// here only, outside the simulated world.
#include <algorithm>
#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "driver_core/variant.h"
#include "harness/explore.h"
#include "harness/scenario.h"

using namespace xfsim;
using namespace xfsim::harness;

int main(int argc, char** argv) {
  const uint64_t schedules = argc > 1 ? std::stoull(argv[1]) : 5000;
  const Scenario standard = load_scenario("scenarios/lifecycle/standard.json");
  CampaignOptions options;
  options.strategy = "random";
  options.schedules = schedules;
  options.stop_at_first = false;
  const auto start = std::chrono::steady_clock::now();
  const CampaignResult campaign = explore(standard, *driver::find_variant("correct"), options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format("standard scenario, correct, random: {} schedules in {:.2f} s = {:.0f} schedules/s (one core), {} violations\n",
                           campaign.schedules_run, seconds, campaign.schedules_run / seconds, campaign.findings.size());
  for (const auto& variant : driver::all_variants()) {
    if (variant.name == "correct" || variant.name == "upstream") continue;
    const Scenario s = load_scenario("scenarios/bugs/" + variant.name + ".json");
    for (const char* strategy : {"random", "pct"}) {
      std::vector<uint64_t> needed;
      for (uint64_t seed = 1; seed <= 20; ++seed) {
        CampaignOptions o;
        o.strategy = strategy;
        o.seed = seed;
        o.depth = 3;
        o.schedules = 5000;
        const CampaignResult r = explore(s, variant, o);
        needed.push_back(r.first() ? r.schedules_run : 5001);
      }
      std::sort(needed.begin(), needed.end());
      std::cout << fmt::format("{:28} {:6} schedules to first detection: median {} worst {} (20 seeds; 5001 = not found in 5000)\n",
                               variant.name, strategy, needed[needed.size() / 2], needed.back());
    }
  }
}
