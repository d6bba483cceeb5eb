// xfsim: the command line. Exit codes: 0 the verdict is what the scenario
// expects, 1 it is not, 2 bad input (the file, the place and the problem are
// named on stderr).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "driver_core/variant.h"
#include "harness/explore.h"
#include "harness/oracles.h"
#include "harness/scenario.h"
#include "harness/trace_file.h"
#include "harness/world.h"
#include "sim/replay_strategy.h"

namespace fs = std::filesystem;
using namespace xfsim;
using namespace xfsim::harness;

namespace {

// Under `bazel run` the process runs in the runfiles tree; paths the user
// typed are relative to where they typed them.
std::string user_path(const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY")) return (fs::path(dir) / path).string();
  return path;
}

const driver::Variant& variant_or_fail(const std::string& name) {
  const driver::Variant* variant = driver::find_variant(name);
  if (!variant) throw ScenarioError(fmt::format("--variant: unknown variant '{}' (see `xfsim variants`)", name));
  return *variant;
}

std::string describe(const RunResult& result) {
  if (result.violation) {
    const auto& v = *result.violation;
    return fmt::format("{} at {} (step {}, task {}): {}", v.kind, v.site, v.step, v.task, v.detail);
  }
  if (!result.strategy_error.empty()) return "impossible-schedule: " + result.strategy_error;
  return result.verdict();
}

int judge(const Scenario& scenario, const std::string& variant, const RunResult& result) {
  const auto expected = scenario.expected_for(variant);
  if (!expected) {
    std::cout << fmt::format("expected: nothing recorded for variant {}\n", variant);
  } else {
    std::cout << fmt::format("expected: {}{}\n", *expected, *expected == result.verdict() ? " (as expected)" : " (MISMATCH)");
  }
  std::cout << "verdict: " << describe(result) << std::endl;
  if (!expected) return result.verdict() == "clean" ? 0 : 1;
  return *expected == result.verdict() ? 0 : 1;
}

// Re-runs a found schedule with logging on: the trace a user reads.
std::string full_trace(const Scenario& scenario, const driver::Variant& variant, const std::vector<uint32_t>& schedule,
                       const TraceOrigin& origin, RunResult* result_out) {
  sim::ReplayStrategy replay(schedule);
  sim::Trace trace;
  RunResult result = run_once(scenario, variant, replay, trace);
  if (result_out) *result_out = result;
  return render_trace(scenario, origin, trace, result);
}

std::string default_trace_path(const Scenario& scenario, const std::string& variant, uint64_t seed) {
  const fs::path dir = user_path("xfsim-traces");
  fs::create_directories(dir);
  return (dir / fmt::format("{}-{}-seed{}.jsonl", scenario.name, variant, seed)).string();
}

int cmd_run(const std::string& path, std::optional<uint64_t> seed, std::string variant_name, std::string trace_path,
            std::optional<std::string> strategy, std::optional<uint64_t> schedules) {
  Scenario scenario = load_scenario(user_path(path));
  scenario.path = path;
  if (variant_name.empty()) variant_name = scenario.variant;
  const driver::Variant& variant = variant_or_fail(variant_name);
  CampaignOptions options = options_from(scenario);
  if (seed) options.seed = *seed;
  if (strategy) options.strategy = *strategy;
  if (schedules) options.schedules = *schedules;
  std::cout << fmt::format("scenario: {} ({})\nvariant: {}\nschedule: {} seed {} up to {} schedule(s)\n", scenario.name,
                           path, variant.name, options.strategy, options.seed, options.schedules);
  const CampaignResult campaign = explore(scenario, variant, options);
  std::vector<uint32_t> schedule;
  uint64_t index = options.offset;
  if (auto finding = campaign.first()) {
    schedule = finding->schedule;
    index = finding->schedule_index;
  } else {
    // Clean: keep the trace of the first schedule as the record of the run.
    auto strategy_once = make_strategy(options.strategy, options.seed, options.depth, options.preemption_bound);
    strategy_once->begin_schedule(options.offset);
    sim::Trace trace;
    trace.logging = false;
    run_once(scenario, variant, *strategy_once, trace);
    schedule = trace.schedule();
  }
  RunResult result;
  const std::string text = full_trace(scenario, variant, schedule, TraceOrigin{variant.name, options.strategy, options.seed, index}, &result);
  if (trace_path.empty()) trace_path = default_trace_path(scenario, variant.name, options.seed);
  else trace_path = user_path(trace_path);
  write_file_atomically(trace_path, text);
  std::cout << fmt::format("schedules run: {}{}\nsteps: {}, virtual time: {} ms\ntrace: {}\n", campaign.schedules_run,
                           campaign.exhausted ? " (bounded space exhausted)" : "", result.steps, result.time_ms, trace_path);
  return judge(scenario, variant.name, result);
}

int cmd_replay(const std::string& path) {
  const TraceFile file = read_trace_file(user_path(path));
  Scenario scenario = parse_scenario(file.scenario, path + " (embedded scenario)");
  scenario.path = file.scenario_path;
  const driver::Variant& variant = variant_or_fail(file.origin.variant);
  sim::ReplayStrategy replay(file.schedule);
  sim::Trace trace;
  trace.logging = false;
  const RunResult result = run_once(scenario, variant, replay, trace);
  std::cout << fmt::format("replayed {} decisions of {} under {}\n", file.schedule.size(), scenario.name, variant.name);
  if (result.status == sim::RunStatus::kStrategyError) {
    std::cerr << fmt::format("{}: impossible schedule: {}\n", path, result.strategy_error);
    std::cout << "verdict: " << describe(result) << std::endl;
    return 2;
  }
  std::cout << fmt::format("recorded verdict: {}\n", file.verdict);
  std::cout << "verdict: " << describe(result) << std::endl;
  return result.verdict() == file.verdict ? 0 : 1;
}

// Every variant the scenario records a verdict for (its own, correct, and
// by_variant): all must match. This is what each scenario's bazel test runs.
int cmd_check(const std::string& path) {
  Scenario scenario = load_scenario(user_path(path));
  scenario.path = path;
  std::vector<std::string> variants{scenario.variant};
  if (scenario.variant != "correct") variants.push_back("correct");
  for (const auto& [name, verdict] : scenario.expect_by_variant) {
    if (std::find(variants.begin(), variants.end(), name) == variants.end()) variants.push_back(name);
  }
  int failures = 0;
  for (const std::string& name : variants) {
    const driver::Variant& variant = variant_or_fail(name);
    const CampaignOptions options = options_from(scenario);
    const CampaignResult campaign = explore(scenario, variant, options);
    RunResult result;
    std::vector<uint32_t> schedule;
    uint64_t index = 0;
    if (auto finding = campaign.first()) {
      result = finding->result;
      schedule = finding->schedule;
      index = finding->schedule_index;
    }
    const std::string expected = *scenario.expected_for(name);
    const bool ok = expected == result.verdict();
    std::cout << fmt::format("{:28} expected {:34} got {:34} {} ({} schedules)\n", name, expected, result.verdict(),
                             ok ? "ok" : "FAIL", campaign.schedules_run);
    if (!ok) {
      ++failures;
      const char* out_dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
      const std::string dir = out_dir ? out_dir : user_path("xfsim-traces");
      fs::create_directories(dir);
      const std::string trace = (fs::path(dir) / fmt::format("{}-{}.jsonl", scenario.name, name)).string();
      write_file_atomically(trace, full_trace(scenario, variant, schedule, TraceOrigin{name, options.strategy, options.seed, index}, nullptr));
      std::cout << "  " << describe(result) << "\n  trace: " << trace << "\n";
    }
  }
  std::cout << fmt::format("verdict: {}\n", failures == 0 ? "as expected" : fmt::format("{} mismatch(es)", failures));
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xfsim: deterministic simulator for the xen-front display driver lifecycle"};
  app.require_subcommand(1);

  std::string scenario_path, trace_path, variant_name, replay_path;
  std::optional<uint64_t> seed, schedules;
  std::optional<std::string> strategy;
  auto* run = app.add_subcommand("run", "run a scenario; ends with `verdict: ...`");
  run->add_option("SCENARIO", scenario_path, "scenario JSON file")->required();
  run->add_option("--seed", seed, "schedule seed (default: the scenario's)");
  run->add_option("--variant", variant_name, "driver variant (default: the scenario's; see `xfsim variants`)");
  run->add_option("--trace", trace_path, "where to write the trace (default: xfsim-traces/...)");
  run->add_option("--strategy", strategy, "random, pct or dfs (default: the scenario's)")
      ->check(CLI::IsMember({"random", "pct", "dfs"}));
  run->add_option("--schedules", schedules, "how many schedules to explore (default: the scenario's)");

  auto* replay = app.add_subcommand("replay", "replay a trace and check its verdict");
  replay->add_option("TRACE", replay_path, "trace file written by run or fuzz")->required();

  std::string check_path;
  auto* check = app.add_subcommand("check", "run a scenario under every variant it records a verdict for");
  check->add_option("SCENARIO", check_path, "scenario JSON file")->required();

  auto* variants = app.add_subcommand("variants", "list driver variants (bug zoo)");
  auto* oracles = app.add_subcommand("oracles", "list violation kinds");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*run) return cmd_run(scenario_path, seed, variant_name, trace_path, strategy, schedules);
    if (*replay) return cmd_replay(replay_path);
    if (*check) return cmd_check(check_path);
    if (*variants) {
      for (const auto& v : driver::all_variants()) std::cout << fmt::format("{:28} {}\n", v.name, v.summary);
      return 0;
    }
    if (*oracles) {
      for (const auto& o : oracle_kinds()) std::cout << fmt::format("{:36} {}\n", o.kind, o.meaning);
      return 0;
    }
  } catch (const ScenarioError& e) {
    std::cerr << "xfsim: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "xfsim: " << e.what() << std::endl;
    return 2;
  }
  return 0;
}
