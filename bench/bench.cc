// bazel run //:bench [-- --million] — figures, never a timed test. The host
// clock is read here only, outside the simulated world.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "driver_core/variant.h"
#include "harness/explore.h"
#include "harness/minimize.h"
#include "harness/scenario.h"
#include "sim/random_strategy.h"

using namespace xfsim;
using namespace xfsim::harness;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Five rounds; the median is the figure (this shared machine's wall clock
// wanders by ±20 % between runs), the best and worst are printed beside it.
void throughput(const Scenario& standard, uint64_t schedules) {
  constexpr int kRounds = 5;
  std::vector<double> rates;
  uint64_t violations = 0;
  for (int round = 0; round < kRounds; ++round) {
    CampaignOptions options;
    options.strategy = "random";
    options.seed = static_cast<uint64_t>(round + 1);
    options.schedules = schedules;
    options.stop_at_first = false;
    const auto start = std::chrono::steady_clock::now();
    const CampaignResult campaign = explore(standard, *driver::find_variant("correct"), options);
    rates.push_back(static_cast<double>(campaign.schedules_run) / seconds_since(start));
    violations += campaign.findings.size();
  }
  std::sort(rates.begin(), rates.end());
  std::cout << fmt::format(
      "throughput: standard lifecycle, correct, random, {} rounds of {} schedules: median {:.0f} schedules/s "
      "on one core (slowest {:.0f}, fastest {:.0f}; {} violations)\n",
      kRounds, schedules, rates[kRounds / 2], rates.front(), rates.back(), violations);
}

void first_detection() {
  std::cout << "schedules to first detection (20 seeds; 'n/f' = not found within 5000):\n";
  std::cout << fmt::format("  {:28} {:>16} {:>16} {:>14}\n", "variant", "random med/worst", "pct med/worst",
                           "dfs K=2 first");
  for (const auto& variant : driver::all_variants()) {
    if (variant.name == "correct" || variant.name == "upstream") continue;
    const Scenario s = load_scenario("scenarios/bugs/" + variant.name + ".json");
    std::string cells;
    for (const char* strategy : {"random", "pct"}) {
      std::vector<uint64_t> needed;
      for (uint64_t seed = 1; seed <= 20; ++seed) {
        CampaignOptions o;
        o.strategy = strategy;
        o.seed = seed;
        o.depth = 3;
        o.schedules = 5000;
        const CampaignResult r = explore(s, variant, o);
        needed.push_back(r.first() ? r.schedules_run : 0);
      }
      const auto not_found = static_cast<size_t>(std::count(needed.begin(), needed.end(), 0));
      std::sort(needed.begin(), needed.end(), [](uint64_t a, uint64_t b) { return (a ? a : ~0ULL) < (b ? b : ~0ULL); });
      const uint64_t median = needed[needed.size() / 2], worst = needed.back();
      cells += fmt::format(" {:>16}", fmt::format("{}/{}", median ? std::to_string(median) : "n/f",
                                                  not_found ? "n/f" : std::to_string(worst)));
    }
    CampaignOptions d;
    d.strategy = "dfs";
    d.preemption_bound = 2;
    d.schedules = 1000000;
    const CampaignResult r = explore(s, variant, d);
    cells += fmt::format(" {:>14}", r.first() ? std::to_string(r.schedules_run) : "n/f");
    std::cout << fmt::format("  {:28}{}\n", variant.name, cells);
  }
}

void dfs_cover(const Scenario& standard) {
  for (uint32_t bound : {2u, 3u}) {
    for (bool sleep_sets : {false, true}) {
      CampaignOptions options;
      options.strategy = "dfs";
      options.preemption_bound = bound;
      options.sleep_sets = sleep_sets;
      options.schedules = 10000000;
      options.stop_at_first = false;
      const auto start = std::chrono::steady_clock::now();
      const CampaignResult campaign = explore(standard, *driver::find_variant("correct"), options);
      std::cout << fmt::format(
          "dfs preemption bound {} on the standard lifecycle{}: {} schedules{}, {} in {:.1f} s, {} violations\n", bound,
          sleep_sets ? " with sleep sets" : "", campaign.schedules_run,
          sleep_sets ? fmt::format(" ({} ended early)", campaign.schedules_pruned) : "",
          campaign.exhausted ? "space exhausted" : "NOT exhausted", seconds_since(start), campaign.findings.size());
    }
  }
}

void memory(const Scenario& standard, uint64_t total) {
  std::cout << fmt::format("memory over a {}-schedule campaign (random, timings mutated, standard lifecycle):\n",
                           total);
  CampaignOptions options;
  options.strategy = "random";
  options.schedules = total;
  options.stop_at_first = false;
  options.mutate_timing = true;
  uint64_t next_report = 1000;
  const auto start = std::chrono::steady_clock::now();
  options.progress = [&](uint64_t done, size_t, uint64_t) {
    if (done < next_report) return;
    next_report *= 10;
    std::cout << fmt::format("  after {:>8} schedules: max RSS {} MiB ({:.0f} s)\n", done, max_rss_kib() / 1024,
                             seconds_since(start))
              << std::flush;
  };
  const CampaignResult campaign = explore(standard, *driver::find_variant("correct"), options);
  std::cout << fmt::format(
      "  after {:>8} schedules: max RSS {} MiB ({:.0f} s), {} violations, ~{} distinct interleavings\n",
      campaign.schedules_run, max_rss_kib() / 1024, seconds_since(start), campaign.findings.size(),
      campaign.distinct_interleavings);
}

// The minimiser on a large finding: N processes each open the card, create,
// map, touch and add a framebuffer, while the backend disconnects for good
// at 100 ms (the shape of shared/repro/reliability/F05), under upstream (its
// first finding; scenarios/lifecycle/ring_full.json is the small form). Time
// and memory must stay near linear in the scenario's size.
void minimiser(size_t processes) {
  nlohmann::json actors = nlohmann::json::array();
  for (size_t i = 0; i < processes; ++i) {
    actors.push_back({{"name", fmt::format("p{}", i)},
                      {"steps",
                       {{{"op", "wait_device"}},
                        {{"op", "open"}},
                        {{"op", "create_dumb"}, {"width", 64}, {"height", 64}, {"as", "a"}},
                        {{"op", "mmap"}, {"buffer", "a"}},
                        {{"op", "touch"}, {"buffer", "a"}, {"page", 0}},
                        {{"op", "add_fb"}, {"buffer", "a"}, {"as", "f"}},
                        {{"op", "close"}}}}});
  }
  const nlohmann::json document = {
      {"format", "xfsim-scenario/0"},
      {"name", fmt::format("actors{}", processes)},
      {"backend", {{"script", {{{"at_ms", 100}, {"action", "disconnect"}, {"reconnect", false}}}}}},
      {"actors", actors},
      {"expect", {{"verdict", "clean"}}}};
  const Scenario scenario = parse_scenario(document, "bench-minimiser.json");
  const driver::Variant& upstream = *driver::find_variant("upstream");
  sim::RandomStrategy strategy(1);
  strategy.begin_schedule(0);
  sim::Trace trace;
  trace.logging = false;
  const RunResult result = run_once(scenario, upstream, strategy, trace);
  if (result.first() == nullptr) {
    std::cout << fmt::format("minimiser: the {}-process run found nothing to minimise ({})\n", processes,
                             result.verdict());
    return;
  }
  const long rss_before = max_rss_kib();
  const auto start = std::chrono::steady_clock::now();
  const Minimized m = minimize(Reproducer{document, trace.schedule(), result.first()->signature(), result}, upstream);
  std::cout << fmt::format(
      "minimiser on a {}-process finding ({}): {:.1f} s, {} runs, max RSS {} -> {} MiB; actions {} -> {}, decisions {} "
      "-> {}\n",
      processes, result.first()->signature(), seconds_since(start), m.runs, rss_before / 1024, max_rss_kib() / 1024,
      m.before.actions, m.after.actions, m.before.decisions, m.after.decisions);
}

}  // namespace

int run_bench(int argc, char** argv) {
  // --million: the memory section runs 1,000,000 schedules; --throughput[=N]:
  // only the first section, N schedules (for profiling under perf or callgrind);
  // --minimiser: only the minimiser on a 500-process finding.
  bool million = false, throughput_only = false, minimiser_only = false;
  uint64_t throughput_schedules = 20000;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--million") {
      million = true;
    } else if (arg == "--minimiser") {
      minimiser_only = true;
    } else if (arg == "--throughput") {
      throughput_only = true;
    } else if (arg.rfind("--throughput=", 0) == 0 && arg.size() > 13 && arg.size() <= 13 + 18 &&
               arg.find_first_not_of("0123456789", 13) == std::string::npos) {  // up to 18 digits: no overflow
      throughput_only = true;
      throughput_schedules = std::stoull(arg.substr(13));
    } else {
      std::cerr << "bench: unknown argument '" << arg
                << "' (known: --million, --throughput[=SCHEDULES], --minimiser)\n";
      return 2;
    }
  }
  const Scenario standard = load_scenario("scenarios/lifecycle/standard.json");
  std::cout << "xfsim bench (one thread)\n";
  if (minimiser_only) {
    minimiser(500);
    return 0;
  }
  throughput(standard, throughput_schedules);
  if (throughput_only) return 0;
  dfs_cover(standard);
  first_detection();
  memory(standard, million ? 1000000 : 100000);
  minimiser(500);
  return 0;
}

// A scenario that cannot be read (bench run outside the checkout: `bazel run`
// sets the working directory) or a count past 64 bits is an error message and
// exit 2, not an uncaught exception.
int main(int argc, char** argv) {
  try {
    return run_bench(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench: " << e.what() << " (run it from the checkout: bazel run //:bench)\n";
    return 2;
  }
}
