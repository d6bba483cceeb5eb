// harness/from_log: see from_log.h.
#include "harness/from_log.h"

#include <filesystem>
#include <optional>
#include <ostream>
#include <sstream>

#include <fmt/format.h>

#include "driver_core/variant.h"
#include "harness/dmesg.h"
#include "harness/explore.h"
#include "harness/kernel_log.h"
#include "harness/minimize.h"
#include "harness/scenario.h"
#include "harness/trace_file.h"
#include "sim/replay_strategy.h"

namespace xfsim::harness {
namespace {

namespace fs = std::filesystem;

// The run a campaign found, re-run with its log lines.
struct Candidate {
  Finding finding;
  std::string strategy;
  uint64_t seed = 0;
  const sim::Violation* matching = nullptr;  // in finding.result
};

bool same_event(const LogEvent& observed, const LogEvent& model) {
  return observed.type == model.type && observed.function == model.function && observed.text == model.text;
}

// Each event of the log matched, in order, to the first model event after
// the previous match that says the same; the rest listed.
std::string alignment(const ParsedLog& observed, const std::string& log_path, const ParsedLog& model,
                      const std::vector<uint64_t>& line_steps, const std::string& target,
                      const std::string& model_signature, const std::string& full_signature) {
  std::string out = fmt::format("# from-log alignment: {} against model.dmesg\n\n## events\n", log_path);
  size_t cursor = 0, matched = 0;
  std::vector<const LogEvent*> unmatched;
  for (const LogEvent& event : observed.events) {
    size_t at = cursor;
    while (at < model.events.size() && !same_event(event, model.events[at])) ++at;
    const std::string what = fmt::format("{} {}{}", log_event_type_name(event.type),
                                         event.function.empty() ? "" : event.function + ": ", event.text);
    if (at == model.events.size()) {
      unmatched.push_back(&event);
      out += fmt::format("log line {:>6} -> (none)                  {}\n", event.line, what);
      continue;
    }
    const uint64_t line = model.events[at].line;
    const uint64_t step = line >= 1 && line <= line_steps.size() ? line_steps[line - 1] : 0;
    out += fmt::format("log line {:>6} -> model.dmesg line {:>5}, step {:>6}  {}\n", event.line, line, step, what);
    cursor = at + 1;
    ++matched;
  }
  out += fmt::format("\nmatched {} of {} events in order", matched, observed.events.size());
  if (!unmatched.empty()) out += fmt::format("; {} not matched (listed with (none))", unmatched.size());
  out += "\n\n## signature\n";
  out += fmt::format("log:   {}\nmodel: {}\n{}\nmodel finding: {}\n", target, model_signature,
                     target == model_signature ? "equal" : "DIFFERENT", full_signature);
  if (!observed.unmapped.empty()) {
    out += "\n## kernel functions of the log the model does not have\n";
    for (const auto& name : observed.unmapped) out += name + "\n";
  }
  return out;
}

}  // namespace

int from_log(const FromLogOptions& options, std::ostream& out, std::ostream& err) {
  ParsedLog observed;
  try {
    observed = parse_kernel_log_file(options.log_path);
  } catch (const LogError& e) {
    err << "xfsim: " << e.what() << "\n";
    return 2;
  }
  const CrashSignature* report = nullptr;
  for (const auto& r : observed.reports)
    if (!report || (r.complete && !report->complete)) report = &r;
  if (report == nullptr) {
    err << fmt::format("xfsim: {}: no crash report found ({} lines, {} xen-front events): nothing to reproduce\n",
                       options.log_path, observed.lines, observed.events.size());
    return 2;
  }
  if (report->function.empty()) {
    err << fmt::format("xfsim: {}: line {}: the report ({}) names no function\n", options.log_path, report->first_line,
                       report->title);
    return 2;
  }
  if (options.hint_path.empty()) {
    err << "xfsim: --hint SCENARIO is required: this version does not derive a scenario from the log alone\n";
    return 2;
  }
  const std::string target = report->signature();
  out << fmt::format(
      "log: {} lines, {} xen-front events, {} report(s){}\ntarget: {}{}\n", observed.lines, observed.events.size(),
      observed.reports.size(),
      observed.unmapped.empty() ? "" : fmt::format(", {} unmapped function(s)", observed.unmapped.size()), target,
      report->complete ? "" : " (the report is cut short)");
  Scenario scenario = load_scenario(options.hint_path);
  scenario.path = options.hint_path;
  const std::string variant_name = options.variant.empty() ? scenario.variant : options.variant;
  const driver::Variant* variant = driver::find_variant(variant_name);
  if (variant == nullptr) {
    err << fmt::format("xfsim: --variant: unknown variant '{}'\n", variant_name);
    return 2;
  }

  // Campaigns: the hint's own schedule choice first, then random schedules
  // with perturbed timings, seed after seed, until a match or the limit.
  std::optional<Candidate> match, nearest;
  uint64_t schedules_total = 0;
  for (uint64_t round = 0; !match; ++round) {
    if (options.out_of_time && options.out_of_time()) break;
    CampaignOptions campaign = options_from(scenario);
    if (round > 0) {
      campaign.strategy = "random";
      campaign.seed = options.seed + round;
      campaign.schedules = 2000;
      campaign.mutate_timing = true;
    }
    if (find_strategy(campaign.strategy)->exhaustive) campaign.mutate_timing = false;
    campaign.stop_at_first = false;
    campaign.should_stop = [&] { return match.has_value() || (options.out_of_time && options.out_of_time()); };
    campaign.progress = [&](uint64_t done, size_t, uint64_t) {
      if (options.progress) options.progress(schedules_total + done);
    };
    campaign.on_finding = [&](const Finding& finding) {
      if (match) return;
      for (const auto& v : finding.result.violations) {
        if (log_signature(v) == target) {
          match = Candidate{finding, campaign.strategy, campaign.seed, nullptr};
          return;
        }
        if (!nearest && v.kind_name() == report->kind) nearest = Candidate{finding, campaign.strategy, campaign.seed};
      }
      if (!nearest) nearest = Candidate{finding, campaign.strategy, campaign.seed};
    };
    const CampaignResult result = explore(scenario, *variant, campaign);
    schedules_total += result.schedules_run;
    if (round > 0 && result.schedules_run == 0) break;
    if (round >= 1000) break;
  }
  if (options.progress) options.progress(schedules_total);

  fs::create_directories(options.out_dir);
  const Candidate* chosen = match ? &*match : nearest ? &*nearest : nullptr;
  if (chosen == nullptr) {
    out << fmt::format("not reproduced: {} schedule(s) of {} under {} found no violation at all\n", schedules_total,
                       scenario.name, variant->name);
    write_file_atomically((fs::path(options.out_dir) / "alignment.txt").string(),
                          fmt::format("# from-log: {}\nnot reproduced: no run of {} under {} reported anything\n"
                                      "target: {}\n",
                                      options.log_path, scenario.name, variant->name, target));
    return 1;
  }
  // The chosen run again, with its log lines.
  Scenario as_run = parse_scenario(chosen->finding.scenario, options.hint_path, /*validate=*/false);
  as_run.report_policy = scenario.report_policy;
  sim::ReplayStrategy replay(chosen->finding.schedule);
  sim::Trace trace;
  const RunResult result = run_once(as_run, *variant, replay, trace);
  std::vector<uint64_t> line_steps;
  const std::string dmesg = render_dmesg(trace, result, &line_steps);
  const sim::Violation* violation = nullptr;
  for (const auto& v : result.violations)
    if (log_signature(v) == target) violation = &v;
  if (!violation && !result.violations.empty()) violation = &result.violations.front();
  const std::string model_signature = violation ? log_signature(*violation) : result.verdict();
  const std::string full_signature = violation ? violation->signature() : result.verdict();
  const fs::path dir(options.out_dir);
  write_file_atomically((dir / "model.dmesg").string(), dmesg);
  write_file_atomically(
      (dir / "trace.jsonl").string(),
      render_trace(as_run, TraceOrigin{variant->name, chosen->strategy, chosen->seed, chosen->finding.schedule_index},
                   trace, result));
  const ParsedLog model = parse_kernel_log(dmesg);
  write_file_atomically((dir / "alignment.txt").string(), alignment(observed, options.log_path, model, line_steps,
                                                                    target, model_signature, full_signature));
  const bool reproduced = match.has_value() && model_signature == target;
  std::string reproducer_note;
  if (reproduced) {
    const Reproducer reproducer{chosen->finding.scenario, chosen->finding.schedule, full_signature, result};
    const nlohmann::json document =
        reproducer_scenario(reproducer, variant->name, file_stem(scenario.name + "-from-log"));
    if (const std::string problem = verify_reproducer(document, *variant); problem.empty()) {
      write_file_atomically((dir / "reproducer.json").string(), document.dump(2) + "\n");
      reproducer_note = fmt::format("reproducer: {}\n", (dir / "reproducer.json").string());
    } else {
      reproducer_note = fmt::format("no reproducer scenario written (re-run: {}); the trace is exact\n", problem);
    }
  }
  out << fmt::format("schedules run: {}\n{}: {}\nmodel finding: {}\n{}trace: {}\ndmesg: {}\nalignment: {}\n",
                     schedules_total, reproduced ? "reproduced" : "NOT reproduced; nearest run", model_signature,
                     full_signature, reproducer_note, (dir / "trace.jsonl").string(), (dir / "model.dmesg").string(),
                     (dir / "alignment.txt").string());
  if (!reproduced) out << fmt::format("missing: a run whose report reads \"{}\"\n", target);
  return reproduced ? 0 : 1;
}

}  // namespace xfsim::harness
