// xfsim: the command line. Exit codes: 0 the verdict is what the scenario
// expects, 1 it is not, 2 bad input (the file, the place and the problem are
// named on stderr).
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "driver_core/variant.h"
#include "harness/dmesg.h"
#include "harness/explore.h"
#include "harness/fault_sites.h"
#include "harness/from_log.h"
#include "harness/fuzz_generate.h"
#include "harness/minimize.h"
#include "harness/oracles.h"
#include "harness/scenario.h"
#include "harness/show.h"
#include "harness/trace_file.h"
#include "harness/world.h"
#include "sim/replay_strategy.h"

namespace fs = std::filesystem;
using namespace xfsim;
using namespace xfsim::harness;

namespace {

constexpr uint64_t kMaxRunSchedules = 1000000;      // the schema's schedule.schedules
constexpr uint64_t kMaxFuzzSchedules = 1000000000;  // one campaign

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

std::string describe(const sim::Violation& v) {
  return fmt::format("{} (step {}, task {}): {}", v.signature(), v.step, v.task, v.detail);
}

std::string describe(const RunResult& result) {
  if (const sim::Violation* v = result.first()) {
    std::string out = describe(*v);
    if (result.violations.size() > 1) out += fmt::format(" (+{} more finding(s))", result.violations.size() - 1);
    return out;
  }
  if (!result.strategy_error.empty()) return "impossible-schedule: " + result.strategy_error;
  return result.verdict();
}

// The result of the last run or replay, for --json.
std::optional<RunResult>& last_result() {
  static std::optional<RunResult> result;
  return result;
}

// --quiet: only the verdict line; --json: one JSON object, the result. What
// the command prints besides is held back (its errors still go to stderr).
struct OutputFlags {
  bool quiet = false, json = false;
};

int with_output(const OutputFlags& flags, const std::function<int()>& command) {
  if (!flags.quiet && !flags.json) return command();
  std::ostringstream held;
  std::streambuf* const out = std::cout.rdbuf(held.rdbuf());
  int code = 2;
  try {
    code = command();
  } catch (...) {
    std::cout.rdbuf(out);
    throw;
  }
  std::cout.rdbuf(out);
  const std::string text = held.str();
  if (flags.json) {
    nlohmann::ordered_json result =
        last_result() ? result_json(*last_result()) : nlohmann::ordered_json{{"verdict", "none"}};
    result["exit"] = code;
    std::cout << result.dump() << std::endl;
  } else if (const size_t at = text.rfind("verdict: "); at != std::string::npos) {
    std::cout << text.substr(at);
  }
  return code;
}

void add_output_flags(CLI::App* command, OutputFlags& flags) {
  auto* quiet = command->add_flag("--quiet", flags.quiet, "print only the verdict line");
  command->add_flag("--json", flags.json, "print one JSON object: the result (verdict, findings, hashes, exit)")
      ->excludes(quiet);
}

// Every finding of a run, in order, each with its kernel-style report.
void print_findings(const RunResult& result) {
  last_result() = result;
  if (result.violations.empty()) return;
  std::cout << fmt::format("findings ({}, in the order reported):\n", result.violations.size());
  for (size_t i = 0; i < result.violations.size(); ++i) {
    std::cout << fmt::format("  {}. {}\n", i + 1, describe(result.violations[i]));
  }
  if (result.violations_dropped > 0) std::cout << fmt::format("  ({} more not recorded)\n", result.violations_dropped);
  // Coloured on a terminal (NO_COLOR turns it off), plain in a pipe or file.
  const bool colour = isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  for (const auto& v : result.violations) std::cout << (colour ? colour_report(v) : v.report());
}

// --stop-on / --ignore on top of the scenario's own expect.stop_on / ignore.
// Written into the scenario's source too, so traces and reproducers carry it.
// The flags run and fuzz share: the report policy, determinism checks, and
// the world's any-instant events.
struct PolicyFlags {
  std::vector<std::string> stop_on, ignore;
  bool check_determinism = false;
  bool any_instant = false;
  bool hostile_backend = false;
};

void apply_policy_options(Scenario& scenario, const PolicyFlags& flags) {
  if (flags.any_instant) {  // in the source too: a trace header replays with it
    scenario.schedule.any_instant = true;
    scenario.source["schedule"]["any_instant"] = true;
  }
  if (flags.hostile_backend) {
    scenario.schedule.hostile_backend = true;
    scenario.source["schedule"]["hostile_backend"] = true;
  }
  if (!flags.stop_on.empty()) {
    scenario.report_policy.stop_on.clear();
    scenario.report_policy.stop_on_all = false;
    scenario.report_policy.stop_on_memory_errors = false;
    apply_kinds(scenario.report_policy, flags.stop_on, /*stop=*/true, "--stop-on");
    scenario.source["expect"]["stop_on"] = flags.stop_on;
  }
  if (!flags.ignore.empty()) {
    apply_kinds(scenario.report_policy, flags.ignore, /*stop=*/false, "--ignore");
    auto& list = scenario.source["expect"]["ignore"];
    if (!list.is_array()) list = nlohmann::json::array();
    for (const auto& kind : flags.ignore) list.push_back(kind);
  }
}

// Reports what --check-determinism found; true when it found nothing.
bool determinism_held(const CampaignResult& campaign) {
  if (!campaign.nondeterministic_schedule) return true;
  std::cerr << "xfsim: internal error: nondeterminism: " << campaign.nondeterminism
            << "\nThis is a bug in xfsim itself, not a finding about the driver.\n";
  return false;
}

// The verdict matches the scenario's expectation: the first finding's kind,
// and (for the scenario's own variant) the expected signature among them.
bool as_expected(const Scenario& scenario, const std::string& variant, const RunResult& result) {
  const auto expected = scenario.expected_for(variant);
  if (!expected) return result.verdict() == "clean";
  if (*expected != result.verdict()) return false;
  if (variant != scenario.variant) return true;
  if (!scenario.expect_signature.empty() && !reports(result, scenario.expect_signature)) return false;
  return scenario.expect_site.empty() || reports_through(result, *expected, scenario.expect_site);
}

int judge(const Scenario& scenario, const std::string& variant, const RunResult& result) {
  const auto expected = scenario.expected_for(variant);
  const bool ok = as_expected(scenario, variant, result);
  if (!expected) {
    std::cout << fmt::format("expected: nothing recorded for variant {}\n", variant);
  } else {
    std::string what = *expected;
    if (variant == scenario.variant && !scenario.expect_signature.empty())
      what += " reporting " + scenario.expect_signature;
    if (variant == scenario.variant && !scenario.expect_site.empty()) what += " through " + scenario.expect_site;
    std::cout << fmt::format("expected: {}{}\n", what, ok ? " (as expected)" : " (MISMATCH)");
  }
  std::cout << "verdict: " << describe(result) << std::endl;
  return ok ? 0 : 1;
}

// Re-runs a found schedule with logging on: the trace a user reads.
std::string full_trace(const Scenario& scenario, const driver::Variant& variant, const std::vector<uint32_t>& schedule,
                       const TraceOrigin& origin, RunResult* result_out, const std::string& dmesg_path = {}) {
  sim::ReplayStrategy replay(schedule);
  sim::Trace trace;
  RunResult result = run_once(scenario, variant, replay, trace);
  if (result_out) *result_out = result;
  if (!dmesg_path.empty()) write_file_atomically(user_path(dmesg_path), render_dmesg(trace, result));
  return render_trace(scenario, origin, trace, result);
}

std::string default_trace_path(const Scenario& scenario, const std::string& variant, uint64_t seed) {
  const fs::path dir = user_path("xfsim-traces");
  fs::create_directories(dir);
  return (dir / fmt::format("{}-{}-seed{}.jsonl", file_stem(scenario.name), file_stem(variant), seed)).string();
}

// What `run` reads from its command line.
struct RunArgs {
  std::string path, variant, trace, dmesg;
  std::optional<uint64_t> seed, schedules;
  std::optional<uint32_t> fault_bound;
  std::optional<std::string> strategy;
};

int cmd_run(const RunArgs& args, const PolicyFlags& flags) {
  const std::string& path = args.path;
  Scenario scenario = load_scenario(user_path(path));
  scenario.path = path;
  apply_policy_options(scenario, flags);
  const driver::Variant& variant = variant_or_fail(args.variant.empty() ? scenario.variant : args.variant);
  CampaignOptions options = options_from(scenario);
  if (args.seed) options.seed = *args.seed;
  if (args.strategy) options.strategy = *args.strategy;
  if (args.schedules) options.schedules = *args.schedules;
  if (args.fault_bound) options.fault_bound = *args.fault_bound;
  options.check_determinism = flags.check_determinism;
  std::cout << fmt::format("scenario: {} ({})\nvariant: {}\nschedule: {} seed {} up to {} schedule(s)\n", scenario.name,
                           path, variant.name, options.strategy, options.seed, options.schedules);
  const CampaignResult campaign = explore(scenario, variant, options);
  if (!determinism_held(campaign)) return 1;
  std::vector<uint32_t> schedule;
  uint64_t index = options.offset;
  nlohmann::json as_run;  // the scenario with the faults the strategy chose, scripted
  if (const Finding* finding = campaign.first()) {
    schedule = finding->schedule;
    index = finding->schedule_index;
    as_run = finding->scenario;
  } else {
    // Clean: keep the trace of the first schedule as the record of the run.
    auto strategy_once = make_strategy(scenario, options);
    strategy_once->begin_schedule(options.offset);
    sim::Trace trace;
    trace.logging = false;
    const RunResult once = run_once(scenario, variant, *strategy_once, trace);
    schedule = trace.schedule();
    as_run = with_explored_faults(scenario.source, once.faults);
  }
  Scenario replayed = parse_scenario(as_run, scenario.path, /*validate=*/false);
  replayed.report_policy = scenario.report_policy;
  RunResult result;
  const std::string text =
      full_trace(replayed, variant, schedule, TraceOrigin{variant.name, options.strategy, options.seed, index}, &result,
                 args.dmesg);
  const std::string trace_path =
      args.trace.empty() ? default_trace_path(scenario, variant.name, options.seed) : user_path(args.trace);
  write_file_atomically(trace_path, text);
  std::cout << fmt::format("schedules run: {}{}{}\nsteps: {}, virtual time: {} ms, interleaving {:016x}\ntrace: {}\n",
                           campaign.schedules_run, campaign.exhausted ? " (bounded space exhausted)" : "",
                           flags.check_determinism ? ", each run twice: deterministic" : "", result.steps,
                           result.time_ms, result.interleaving_hash, trace_path);
  print_findings(result);
  return judge(scenario, variant.name, result);
}

int cmd_replay(const std::string& path, const std::string& dmesg_path) {
  const TraceFile file = read_trace_file(user_path(path));
  Scenario scenario = parse_scenario(file.scenario, path + " (embedded scenario)");
  scenario.path = file.scenario_path;
  const driver::Variant& variant = variant_or_fail(file.origin.variant);
  sim::ReplayStrategy replay(file.schedule);
  sim::Trace trace;
  trace.logging = !dmesg_path.empty();
  const RunResult result = run_once(scenario, variant, replay, trace);
  if (!dmesg_path.empty()) write_file_atomically(user_path(dmesg_path), render_dmesg(trace, result));
  std::cout << fmt::format("replayed {} decisions of {} under {}\n", file.schedule.size(), scenario.name, variant.name);
  if (result.status == sim::RunStatus::kStrategyError) {
    std::cerr << fmt::format("{}: impossible schedule: {}\n", path, result.strategy_error);
    std::cout << "verdict: " << describe(result) << std::endl;
    return 2;
  }
  std::cout << fmt::format("recorded verdict: {}{}\n", file.verdict,
                           file.signature.empty() ? "" : " (" + file.signature + ")");
  print_findings(result);
  std::cout << fmt::format("interleaving {:016x}\n", result.interleaving_hash);
  std::cout << "verdict: " << describe(result) << std::endl;
  const std::string signature = result.first() ? result.first()->signature() : "";
  return result.verdict() == file.verdict && (file.signature.empty() || signature == file.signature) ? 0 : 1;
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
    if (const Finding* finding = campaign.first()) {
      result = finding->result;
      schedule = finding->schedule;
      index = finding->schedule_index;
    }
    const std::string expected = *scenario.expected_for(name);
    const bool ok = as_expected(scenario, name, result);
    std::cout << fmt::format("{:28} expected {:34} got {:34} {} ({} schedules)\n", name, expected, result.verdict(),
                             ok ? "ok" : "FAIL", campaign.schedules_run);
    if (name == scenario.variant && !scenario.expect_signature.empty()) {
      std::cout << fmt::format("{:28} signature {}: {}\n", "", scenario.expect_signature,
                               reports(result, scenario.expect_signature) ? "reported" : "NOT REPORTED");
    }
    if (name == scenario.variant && !scenario.expect_site.empty()) {
      std::cout << fmt::format("{:28} through {}: {}\n", "", scenario.expect_site,
                               reports_through(result, expected, scenario.expect_site) ? "yes" : "NOT ON ITS PATH");
    }
    if (!ok) {
      ++failures;
      const char* out_dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
      const std::string dir = out_dir ? out_dir : user_path("xfsim-traces");
      fs::create_directories(dir);
      const std::string trace =
          (fs::path(dir) / fmt::format("{}-{}.jsonl", file_stem(scenario.name), file_stem(name))).string();
      write_file_atomically(trace, full_trace(scenario, variant, schedule,
                                              TraceOrigin{name, options.strategy, options.seed, index}, nullptr));
      std::cout << "  " << describe(result) << "\n  trace: " << trace << "\n";
    }
  }
  std::cout << fmt::format("verdict: {}\n", failures == 0 ? "as expected" : fmt::format("{} mismatch(es)", failures));
  return failures == 0 ? 0 : 1;
}

// A file name for a finding: its signature made safe, bounded, and a digest
// of the whole signature so two long ones that share a prefix stay apart.
std::string finding_file_base(const std::string& signature) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : signature) hash = (hash ^ c) * 0x100000001b3ULL;
  return fmt::format("{}-{:08x}", file_stem(signature, 80), static_cast<uint32_t>(hash ^ (hash >> 32)));
}

// Writes the exact trace of one finding and, once re-run and shown to
// reproduce the same signature, its minimised reproducer scenario.
void write_finding(const std::string& dir, const Scenario& scenario, const driver::Variant& variant,
                   const CampaignOptions& options, const Finding& finding, bool minimise) {
  Scenario as_run = parse_scenario(finding.scenario, scenario.path, /*validate=*/false);
  as_run.path = scenario.path;
  const std::string base = finding_file_base(finding.signature);
  const std::string trace_path = (fs::path(dir) / (base + ".trace.jsonl")).string();
  RunResult replayed;
  write_file_atomically(
      trace_path,
      full_trace(as_run, variant, finding.schedule,
                 TraceOrigin{variant.name, options.strategy, options.seed, finding.schedule_index}, &replayed));
  const sim::Violation* violation = finding.violation();
  std::cerr << fmt::format("\nfound {} at schedule {}{}\n  trace:    {}\n", finding.signature, finding.schedule_index,
                           violation ? ": " + violation->detail : "", trace_path);
  const std::string html_path = (fs::path(dir) / (base + ".html")).string();
  try {  // the page is for reading; the trace and reproducer matter more
    write_file_atomically(html_path, render_html(build_timeline(trace_path)));
    std::cerr << fmt::format("  page:     {}\n", html_path);
  } catch (const std::exception& e) {
    std::cerr << fmt::format("  no page written: {}\n", e.what());
  }
  if (violation) std::cerr << violation->report();
  Reproducer reproducer{finding.scenario, finding.schedule, finding.signature, finding.result};
  if (minimise) {
    const Minimized m = minimize(reproducer, variant);
    reproducer = m.reproducer;
    std::cerr << fmt::format("  minimised: actions {} -> {}, decisions {} -> {}, preemptions {} -> {} ({} runs)\n",
                             m.before.actions, m.after.actions, m.before.decisions, m.after.decisions,
                             m.before.preemptions, m.after.preemptions, m.runs);
  }
  const nlohmann::json document =
      reproducer_scenario(reproducer, variant.name, finding_file_base(scenario.name + "-" + finding.signature));
  if (const std::string problem = verify_reproducer(document, variant); !problem.empty()) {
    std::cerr << fmt::format("  no reproducer scenario written: re-run, {}; the trace above is exact\n", problem);
    return;
  }
  const std::string scenario_path = (fs::path(dir) / (base + ".json")).string();
  write_file_atomically(scenario_path, document.dump(2) + "\n");
  std::cerr << fmt::format("  scenario: {} (re-run: reproduces it{})\n", scenario_path,
                           variant.name != "correct" ? ", correct clean" : "");
}

// What `fuzz` reads from its command line.
struct FuzzArgs {
  std::string path, variant, out_dir = "xfsim-findings";
  CampaignOptions options;  // --schedules defaults to 10000 (set where the option is added)
  bool fixed_timing = false, no_minimize = false;
  double time_limit_s = 0;
  // --generate (harness/fuzz_generate.h)
  bool generate = false, keep_hangs = false;
  std::string corpus_dir = "scenarios";
  uint64_t execs = 0;
};

// A campaign's progress: on stderr as it goes (a line every 5 s, or one
// rewritten line on a terminal), and on disk in progress.json, so a killed
// campaign can be resumed from what it finished.
class FuzzProgress {
 public:
  FuzzProgress(const std::string& scenario_path, const std::string& variant, const CampaignOptions& options,
               bool exhaustive, const std::string& out_dir)
      : scenario_path_(scenario_path),
        variant_(variant),
        options_(options),
        exhaustive_(exhaustive),
        path_((fs::path(out_dir) / "progress.json").string()) {}

  bool terminal() const { return terminal_; }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  void tick(uint64_t done, size_t findings, uint64_t interleavings) {
    record(done, findings, interleavings);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(terminal_ ? 0 : 5)) return;
    last_ = now;
    save(done, findings, false);
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::cerr << fmt::format("{}schedules {} ({:.0f}/s), distinct findings {}, distinct interleavings ~{}{}",
                             terminal_ ? "\r" : "", done, done / std::max(elapsed, 1e-9), findings, interleavings,
                             terminal_ ? "   " : "\n")
              << std::flush;
  }

  // A point of index.html's chart (each tick, the start and the end).
  void record(uint64_t done, size_t findings, uint64_t interleavings) {
    if (!points_.empty() && points_.back().schedules == done) points_.pop_back();
    points_.push_back(CampaignPoint{done, interleavings, findings});
    if (points_.size() < 4 * kCampaignChartPoints) return;
    // A long campaign: every other point, the first and the last kept.
    std::vector<CampaignPoint> half;
    for (size_t i = 0; i < points_.size(); i += 2) half.push_back(points_[i]);
    if (half.back().schedules != done) half.push_back(points_.back());
    points_ = std::move(half);
  }
  const std::vector<CampaignPoint>& points() const { return points_; }

  void save(uint64_t done, size_t findings, bool finished) const {
    nlohmann::ordered_json progress;
    progress["scenario"] = scenario_path_;
    progress["variant"] = variant_;
    progress["strategy"] = options_.strategy;
    progress["seed"] = options_.seed;
    progress["first_offset"] = options_.offset;
    progress["schedules_done"] = done;
    progress["distinct_findings"] = findings;
    progress["finished"] = finished;
    if (exhaustive_)
      progress["resume"] = options_.strategy + " cannot resume from an offset: run it again whole";
    else
      progress["resume_offset"] = options_.offset + done;
    write_file_atomically(path_, progress.dump(2) + "\n");
  }

 private:
  const std::string scenario_path_;
  const std::string variant_;
  const CampaignOptions& options_;
  const bool exhaustive_;
  const std::string path_;
  const bool terminal_ = isatty(STDERR_FILENO);
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
  std::vector<CampaignPoint> points_{CampaignPoint{}};
};

void print_fuzz_summary(const CampaignResult& campaign, const CampaignOptions& options, bool exhaustive, double seconds,
                        uint64_t not_saved) {
  std::cout << fmt::format(
      "schedules run: {} in {:.1f} s ({:.0f}/s){}{}{}\ndistinct interleavings: ~{}\ndistinct findings: {}\n",
      campaign.schedules_run, seconds, campaign.schedules_run / std::max(seconds, 1e-9),
      campaign.exhausted ? ", bounded space exhausted" : "",
      campaign.stopped_early ? ", stopped at the time limit" : "",
      options.sleep_sets ? fmt::format(", {} ended early by sleep sets", campaign.schedules_pruned) : "",
      campaign.distinct_interleavings, campaign.findings.size());
  for (const auto& f : campaign.findings)
    std::cout << fmt::format("  {} (schedule {})\n", f.signature, f.schedule_index);
  if (!exhaustive) {
    std::cout << fmt::format("resume with: --seed {} --offset {}\n", options.seed,
                             options.offset + campaign.schedules_run);
  }
  if (not_saved > 0) std::cout << fmt::format("not saved: {} finding(s) (the errors are above)\n", not_saved);
}

// fuzz --generate: generated scenarios under coverage; findings written as
// `fuzz` writes them (minimised, re-run, atomically).
int cmd_fuzz_generate(const FuzzArgs& args) {
  const driver::Variant& variant = variant_or_fail(args.variant.empty() ? "correct" : args.variant);
  const std::string out_dir = user_path(args.out_dir);
  fs::create_directories(out_dir);
  CampaignOptions origin;  // what the traces record: one random schedule per input
  origin.seed = args.options.seed;
  uint64_t not_saved = 0;
  const GenerateCampaign campaign{user_path(args.corpus_dir), out_dir,        args.options.seed, args.execs,
                                  args.time_limit_s,          args.keep_hangs};
  const GenerateResult result = run_generate_campaign(
      campaign, variant,
      [&](const GenerateFinding& f) {
        try {
          Scenario scenario = parse_scenario(f.scenario, "generated", /*validate=*/false);
          write_finding(out_dir, scenario, variant, origin,
                        Finding{f.signature, f.result, f.exec, f.schedule, f.scenario}, !args.no_minimize);
        } catch (const std::exception& e) {
          ++not_saved;
          std::cerr << fmt::format("\nxfsim: {} at execution {} not saved: {}\n", f.signature, f.exec, e.what());
        }
      },
      std::cerr, std::cout);
  if (not_saved > 0) std::cout << fmt::format("not saved: {} finding(s) (the errors are above)\n", not_saved);
  std::cout << "verdict: "
            << (result.findings.empty() ? std::string("clean") : result.findings.front().result.verdict()) << std::endl;
  if (not_saved > 0) return 2;
  return result.findings.empty() ? 0 : 1;
}

// index.html: the campaign's findings by signature, each linking its page.
void write_campaign_index(const std::string& dir, const std::string& scenario, const std::string& variant,
                          const CampaignResult& campaign, double seconds, const std::vector<CampaignPoint>& progress) {
  std::vector<CampaignFindingLink> links;
  for (const auto& f : campaign.findings) {
    const std::string base = finding_file_base(f.signature);
    links.push_back(CampaignFindingLink{f.signature, f.result.verdict(), base + ".html", base + ".trace.jsonl",
                                        fs::exists(fs::path(dir) / (base + ".json")) ? base + ".json" : "",
                                        f.schedule_index});
  }
  write_file_atomically((fs::path(dir) / "index.html").string(),
                        render_campaign_index(scenario, variant, campaign.schedules_run, seconds,
                                              campaign.distinct_interleavings, links, progress));
}

int cmd_fuzz(FuzzArgs args, const PolicyFlags& flags) {
  if (args.generate) return cmd_fuzz_generate(args);
  if (args.path.empty()) throw ScenarioError("fuzz: a SCENARIO, or --generate");
  Scenario scenario = load_scenario(user_path(args.path));
  scenario.path = args.path;
  apply_policy_options(scenario, flags);
  const driver::Variant& variant = variant_or_fail(args.variant.empty() ? scenario.variant : args.variant);
  CampaignOptions& options = args.options;
  const bool exhaustive = find_strategy(options.strategy)->exhaustive;
  if (exhaustive && options.offset != 0) {
    throw ScenarioError(
        "--offset: dfs explores one tree in order and cannot resume from an offset; run it whole "
        "(bound it with --preemption-bound or --time-limit)");
  }
  const std::string out_dir = user_path(args.out_dir);
  fs::create_directories(out_dir);
  options.mutate_timing = !args.fixed_timing && !exhaustive;
  options.stop_at_first = false;
  options.check_determinism = flags.check_determinism;
  FuzzProgress progress(args.path, variant.name, options, exhaustive, out_dir);
  options.progress = [&progress](uint64_t done, size_t findings, uint64_t interleavings) {
    progress.tick(done, findings, interleavings);
  };
  if (args.time_limit_s > 0) options.should_stop = [&] { return progress.seconds() >= args.time_limit_s; };
  // A finding that cannot be written (full or read-only --out) is reported
  // and the campaign goes on to its summary.
  uint64_t not_saved = 0;
  options.on_finding = [&](const Finding& finding) {
    try {
      write_finding(out_dir, scenario, variant, options, finding, !args.no_minimize);
    } catch (const std::exception& e) {
      ++not_saved;
      std::cerr << fmt::format("\nxfsim: {} at schedule {} not saved: {}\n", finding.result.verdict(),
                               finding.schedule_index, e.what());
    }
  };
  std::cout << fmt::format("fuzzing {} under {}: {} seed {} schedules {}..{}{}\n", scenario.name, variant.name,
                           options.strategy, options.seed, options.offset, options.offset + options.schedules - 1,
                           options.mutate_timing ? ", timings mutated" : "");
  const CampaignResult campaign = explore(scenario, variant, options);
  const double seconds = progress.seconds();
  std::cerr << (progress.terminal() ? "\n" : "");
  progress.save(campaign.schedules_run, campaign.findings.size(), !campaign.stopped_early);
  progress.record(campaign.schedules_run, campaign.findings.size(), campaign.distinct_interleavings);
  print_fuzz_summary(campaign, options, exhaustive, seconds, not_saved);
  write_campaign_index(out_dir, scenario.name, variant.name, campaign, seconds, progress.points());
  if (!determinism_held(campaign)) return 1;
  std::cout << "verdict: "
            << (campaign.findings.empty() ? std::string("clean") : campaign.findings.front().result.verdict())
            << std::endl;
  if (not_saved > 0) return 2;
  return campaign.findings.empty() ? 0 : 1;
}

int cmd_minimize(const std::string& trace_path, const std::string& out_path) {
  const TraceFile file = read_trace_file(user_path(trace_path));
  const driver::Variant& variant = variant_or_fail(file.origin.variant);
  Scenario scenario = parse_scenario(file.scenario, trace_path + " (embedded scenario)");
  sim::ReplayStrategy replay(file.schedule);
  sim::Trace trace;
  trace.logging = false;
  const RunResult result = run_once(scenario, variant, replay, trace);
  const std::string signature = result.first()          ? result.first()->signature()
                                : result.inconclusive() ? result.verdict()
                                                        : "";
  if (signature.empty()) {
    std::cerr << fmt::format("{}: the trace ends {}, not in a violation: nothing to minimise\n", trace_path,
                             result.verdict());
    return 2;
  }
  const Minimized m = minimize(Reproducer{file.scenario, file.schedule, signature, result}, variant);
  const nlohmann::json document = reproducer_scenario(m.reproducer, variant.name, file_stem(scenario.name + "-min"));
  std::cout << fmt::format(
      "before: {} actions, {} decisions, {} preemptions\nafter:  {} actions, {} decisions, {} preemptions\n"
      "({} runs)\n",
      m.before.actions, m.before.decisions, m.before.preemptions, m.after.actions, m.after.decisions,
      m.after.preemptions, m.runs);
  if (const std::string problem = verify_reproducer(document, variant); !problem.empty()) {
    std::cerr << fmt::format("{}: no reproducer written: re-run, {}\n", out_path, problem);
    std::cout << "verdict: " << describe(m.reproducer.result) << std::endl;
    return 1;
  }
  write_file_atomically(user_path(out_path), document.dump(2) + "\n");
  std::cout << fmt::format("scenario: {} (re-run: reproduces {})\nverdict: {}\n", out_path, signature,
                           describe(m.reproducer.result));
  return 0;
}

// Every number on the command line: decimal digits only, within `min`..`max`
// (the scenario schema's range where it has one); "010" is ten.
CLI::Validator decimal(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        const std::optional<uint64_t> value = parse_decimal(text, min, max);
        if (!value) return fmt::format("expected a decimal integer from {} to {}, got '{}'", min, max, text);
        text = std::to_string(*value);
        return "";
      },
      fmt::format("{}..{}", min, max));
}

const CLI::Validator kNonEmpty([](std::string& text) -> std::string { return text.empty() ? "must not be empty" : ""; },
                               "PATH");

// --stop-on / --ignore / --check-determinism, for run and fuzz.
void add_policy_flags(CLI::App* command, PolicyFlags& flags) {
  command
      ->add_option("--stop-on", flags.stop_on,
                   "violation kinds that end a run (default: memory errors; \"all\": the first finding)")
      ->delimiter(',');
  command->add_option("--ignore", flags.ignore, "violation kinds not reported")->delimiter(',');
  command->add_flag("--check-determinism", flags.check_determinism,
                    "run every schedule twice and compare the trace hashes");
  command->add_flag("--any-instant", flags.any_instant,
                    "a due timer (scripted action, interrupt) may fire between any two steps, not only when all "
                    "tasks block");
  command->add_flag("--hostile-backend", flags.hostile_backend,
                    "with a fault bound, the strategy may also make the backend misbehave (the displ_be:* sites)");
}

CLI::App* add_run_command(CLI::App& app, RunArgs& args, PolicyFlags& flags, OutputFlags& output) {
  auto* run = app.add_subcommand("run", "run a scenario; ends with `verdict: ...`");
  add_output_flags(run, output);
  run->add_option("SCENARIO", args.path, "scenario JSON file")->required();
  run->add_option("--seed", args.seed, "schedule seed (default: the scenario's)")->transform(decimal(0, kMaxSeed));
  run->add_option("--variant", args.variant, "driver variant (default: the scenario's; see `xfsim variants`)");
  run->add_option("--trace", args.trace, "where to write the trace (default: xfsim-traces/...)")->check(kNonEmpty);
  run->add_option("--dmesg", args.dmesg, "also write the run as a kernel log (docs/from-log.md)")->check(kNonEmpty);
  run->add_option("--strategy", args.strategy, "random, pct or dfs (default: the scenario's)")
      ->check(CLI::IsMember(user_strategy_names()));
  run->add_option("--schedules", args.schedules, "how many schedules to explore (default: the scenario's)")
      ->transform(decimal(1, kMaxRunSchedules));
  run->add_option("--fault-bound", args.fault_bound,
                  "at most N failed calls a run, chosen by the strategy (default: the scenario's; see `xfsim sites`)")
      ->transform(decimal(0, 10));
  add_policy_flags(run, flags);
  return run;
}

CLI::App* add_fuzz_command(CLI::App& app, FuzzArgs& args, PolicyFlags& flags) {
  CampaignOptions& options = args.options;
  options.schedules = 10000;
  auto* fuzz = app.add_subcommand("fuzz", "explore many schedules (and timings); write each distinct violation");
  fuzz->add_option("SCENARIO", args.path, "scenario JSON file (not with --generate)");
  fuzz->add_flag("--generate", args.generate,
                 "generate scenarios, guided by lifecycle coverage, from a seed corpus (docs/fuzzing.md)");
  fuzz->add_option("--corpus", args.corpus_dir, "--generate: the seed corpus (default: scenarios)")->check(kNonEmpty);
  fuzz->add_option("--execs", args.execs, "--generate: stop after N executions (deterministic in --seed)")
      ->transform(decimal(1, kMaxFuzzSchedules));
  fuzz->add_flag("--keep-hangs", args.keep_hangs, "--generate: report hung-wait in generated scenarios");
  fuzz->add_option("--strategy", options.strategy, "random, pct or dfs")->check(CLI::IsMember(user_strategy_names()));
  fuzz->add_option("--schedules", options.schedules, "how many schedules")->transform(decimal(1, kMaxFuzzSchedules));
  fuzz->add_option("--seed", options.seed, "campaign seed")->transform(decimal(0, kMaxSeed));
  fuzz->add_option("--offset", options.offset, "first schedule index (resume a campaign)")
      ->transform(decimal(0, kMaxSeed));
  fuzz->add_option("--depth", options.depth, "pct: bug depth d (d-1 priority change points)")
      ->transform(decimal(1, 10));
  fuzz->add_option("--preemption-bound", options.preemption_bound, "dfs: at most K preemptions")
      ->transform(decimal(0, 10));
  fuzz->add_flag("--sleep-sets", options.sleep_sets, "dfs: skip reorderings of commuting steps (sleep sets)");
  fuzz->add_option("--fault-bound", options.fault_bound,
                   "at most N failed calls a run, chosen by the strategy (dfs: every placement; see `xfsim sites`)")
      ->transform(decimal(0, 10));
  fuzz->add_option("--variant", args.variant, "driver variant (default: the scenario's)");
  fuzz->add_option("--out", args.out_dir, "where traces and minimised scenarios go")->check(kNonEmpty);
  fuzz->add_flag("--fixed-timing", args.fixed_timing, "do not perturb the scenario's timings");
  fuzz->add_flag("--no-minimize", args.no_minimize, "write findings as found, unminimised");
  fuzz->add_option("--time-limit", args.time_limit_s, "stop after this many seconds (wall clock), with a summary")
      ->check(CLI::Range(0.0, 1e7));
  add_policy_flags(fuzz, flags);
  return fuzz;
}

CLI::App* add_replay_command(CLI::App& app, std::string& trace, std::string& dmesg, OutputFlags& output) {
  auto* replay = app.add_subcommand("replay", "replay a trace and check its verdict");
  replay->add_option("TRACE", trace, "trace file written by run or fuzz")->required();
  replay->add_option("--dmesg", dmesg, "also write the replayed run as a kernel log (docs/from-log.md)")
      ->check(kNonEmpty);
  add_output_flags(replay, output);
  return replay;
}

struct MinimizeArgs {
  std::string trace, out;
};

CLI::App* add_minimize_command(CLI::App& app, MinimizeArgs& args) {
  auto* minimize = app.add_subcommand("minimize", "shrink a violating trace into a small replayable scenario");
  minimize->add_option("TRACE", args.trace, "trace file ending in a violation")->required();
  minimize->add_option("--out", args.out, "scenario JSON to write")->required()->check(kNonEmpty);
  return minimize;
}

struct ShowArgs {
  std::string trace, format = "text", out;
};

CLI::App* add_show_command(CLI::App& app, ShowArgs& args) {
  auto* show = app.add_subcommand("show", "draw a trace: perfetto timeline, HTML page, mermaid diagram or text");
  show->add_option("TRACE", args.trace, "trace file written by run or fuzz")->required();
  show->add_option("--format", args.format, "perfetto, html, mermaid or text (default text)")
      ->check(CLI::IsMember(std::vector<std::string>(std::begin(kShowFormats), std::end(kShowFormats))));
  show->add_option("-o,--out", args.out, "file to write (default: stdout)")->check(kNonEmpty);
  return show;
}

CLI::App* add_check_command(CLI::App& app, std::string& scenario) {
  auto* check = app.add_subcommand("check", "run a scenario under every variant it records a verdict for");
  check->add_option("SCENARIO", scenario, "scenario JSON file")->required();
  return check;
}

CLI::App* add_coverage_command(CLI::App& app, std::string& corpus) {
  auto* coverage = app.add_subcommand("coverage", "lifecycle states and transitions a corpus reaches, and never does");
  coverage->add_option("CORPUS", corpus, "directory of scenarios")->required();
  return coverage;
}

int cmd_variants() {
  for (const auto& v : driver::all_variants()) std::cout << fmt::format("{:28} {}\n", v.name, v.summary);
  return 0;
}

int cmd_oracles() {
  for (const sim::ViolationKind* kind : oracle_kinds())
    std::cout << fmt::format("{:36} {}{}\n", kind->name, kind->meaning, kind->memory_error ? " [memory error]" : "");
  return 0;
}

int cmd_coverage(const std::string& dir) {
  std::vector<std::string> skipped;
  const std::vector<nlohmann::json> corpus = load_corpus(user_path(dir), &skipped);
  for (const auto& why : skipped) std::cerr << "xfsim: skipped " << why << "\n";
  std::cout << fmt::format("{} scenario(s), each run once under correct\n", corpus.size())
            << corpus_coverage(corpus).report();
  return 0;
}

int cmd_sites() {
  for (const sim::FaultSite* site : fault_sites())
    std::cout << fmt::format("{:44} {} (fails with {})\n", site->name, site->meaning, site->error);
  return 0;
}

struct FromLogArgs {
  FromLogOptions options;
  double time_limit_s = 60;
};

CLI::App* add_from_log_command(CLI::App& app, FromLogArgs& args) {
  auto* command = app.add_subcommand("from-log", "search a reproducer for a kernel log's crash (docs/from-log.md)");
  command->add_option("LOG", args.options.log_path, "kernel log: dmesg, journalctl -k, serial capture")->required();
  command->add_option("--hint", args.options.hint_path, "scenario to search from")->check(kNonEmpty);
  command->add_option("--variant", args.options.variant, "driver variant (default: the hint's)");
  command->add_option("--time-limit", args.time_limit_s, "stop searching after this many seconds (wall clock)")
      ->check(CLI::Range(0.0, 1e7));
  command->add_option("--out", args.options.out_dir, "where the reproducer, trace, dmesg and alignment go")
      ->required()
      ->check(kNonEmpty);
  return command;
}

int cmd_from_log(FromLogArgs args) {
  FromLogOptions& options = args.options;
  options.log_path = user_path(options.log_path);
  options.hint_path = user_path(options.hint_path);
  options.out_dir = user_path(options.out_dir);
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  options.out_of_time = [&] { return seconds() >= args.time_limit_s; };
  if (isatty(STDERR_FILENO)) {
    options.progress = [&](uint64_t schedules) {
      std::cerr << fmt::format("\r{} schedules, {:.0f} s", schedules, seconds()) << std::flush;
    };
  }
  const int code = from_log(options, std::cout, std::cerr);
  if (isatty(STDERR_FILENO)) std::cerr << "\n";
  return code;
}

// A subcommand and what runs when the command line names it.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xfsim: deterministic simulator for the xen-front display driver lifecycle"};
  app.require_subcommand(1);
  PolicyFlags flags;
  OutputFlags output;
  RunArgs run;
  FuzzArgs fuzz;
  std::string replay_trace, replay_dmesg, check_scenario, coverage_corpus;
  MinimizeArgs minimize;
  FromLogArgs from_log_args;
  ShowArgs show;
  // In the order --help lists them.
  const std::vector<Command> commands{
      {add_run_command(app, run, flags, output),
       [&] { return with_output(output, [&] { return cmd_run(run, flags); }); }},
      {add_replay_command(app, replay_trace, replay_dmesg, output),
       [&] { return with_output(output, [&] { return cmd_replay(replay_trace, replay_dmesg); }); }},
      {add_fuzz_command(app, fuzz, flags), [&] { return cmd_fuzz(fuzz, flags); }},
      {add_minimize_command(app, minimize), [&] { return cmd_minimize(minimize.trace, minimize.out); }},
      {add_check_command(app, check_scenario), [&] { return cmd_check(check_scenario); }},
      {add_from_log_command(app, from_log_args), [&] { return cmd_from_log(from_log_args); }},
      {add_show_command(app, show),
       [&] { return show_command(user_path(show.trace), show.format, show.out.empty() ? "" : user_path(show.out)); }},
      {app.add_subcommand("variants", "list driver variants (bug zoo)"), cmd_variants},
      {app.add_subcommand("oracles", "list violation kinds"), cmd_oracles},
      {app.add_subcommand("sites", "list the fallible calls a fault can be injected at"), cmd_sites},
      {add_coverage_command(app, coverage_corpus), [&] { return cmd_coverage(coverage_corpus); }},
  };

  // Usage errors exit 2 with CLI11's message (--help exits 0); an unknown
  // subcommand is named.
  if (argc > 1 && argv[1][0] != '-' &&
      std::none_of(commands.begin(), commands.end(), [&](const Command& c) { return c.app->get_name() == argv[1]; })) {
    std::cerr << fmt::format(
        "xfsim: unknown subcommand '{}' (run, replay, check, fuzz, minimize, from-log, show, variants, oracles, sites "
        "or coverage; see "
        "--help)\n",
        argv[1]);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  // Bad input (a ScenarioError) and every other error end the same way.
  try {
    for (const Command& command : commands) {
      if (*command.app) return command.run();
    }
  } catch (const std::exception& e) {
    std::cerr << "xfsim: " << e.what() << std::endl;
    return 2;
  }
  return 0;
}
