#include "harness/fuzz_generate.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "harness/explore.h"
#include "harness/fault_sites.h"
#include "harness/scenario.h"
#include "harness/trace_file.h"
#include "sim/prng.h"

namespace xfsim::harness {

namespace fs = std::filesystem;

RunResult run_input(const nlohmann::json& input, const driver::Variant& variant, sim::Trace& trace,
                    std::vector<uint64_t>* features) {
  // The generator and the mutations keep inputs valid (tests/harness/
  // generate_test.cc validates thousands): the schema is not run again here.
  const Scenario scenario = parse_scenario(input, input.value("name", "input"), /*validate=*/false);
  auto strategy = make_strategy(scenario, options_from(scenario));
  strategy->begin_schedule(0);
  trace.clear();
  trace.logging = false;
  LifecycleObserver observer;
  RunResult result = run_once(scenario, variant, *strategy, trace, features ? &observer : nullptr);
  strategy->end_schedule();
  if (features) *features = observer.features();
  return result;
}

GenerateResult fuzz_generate(const std::vector<nlohmann::json>& seeds, const driver::Variant& variant,
                             const GenerateOptions& options) {
  GenerateResult out;
  std::set<std::string> signatures;
  sim::Trace trace;
  std::vector<uint64_t> features;
  // Runs one input; keeps it when it reached something new.
  auto execute = [&](const nlohmann::json& input, bool seed) {
    const RunResult result = run_input(input, variant, trace, &features);
    ++out.stats.execs;
    out.stats.inconclusive += result.inconclusive();
    const size_t added = out.coverage.merge(features);
    if (added > 0 || (seed && out.corpus.empty())) {
      out.corpus.push_back(input);
      if (options.on_new_input) options.on_new_input(input);
    }
    for (const sim::Violation& v : result.violations) {
      if (!signatures.insert(v.signature()).second) continue;
      out.findings.push_back(GenerateFinding{v.signature(), result, trace.schedule(),
                                             with_explored_faults(input, result.faults), out.stats.execs});
      if (options.on_finding) options.on_finding(out.findings.back());
    }
  };
  auto stats = [&] {
    out.stats.corpus = out.corpus.size();
    out.stats.features = out.coverage.size();
    out.stats.findings = out.findings.size();
    return out.stats;
  };
  for (const auto& seed : seeds) execute(as_fuzz_input(seed, options.limits), /*seed=*/true);
  out.growth.emplace_back(out.stats.execs, out.coverage.size());
  for (uint64_t n = 0; options.max_execs == 0 || n < options.max_execs; ++n) {
    sim::Prng prng(sim::Prng::schedule_seed(options.seed, n));
    nlohmann::json input;
    if (out.corpus.empty() || prng.below(100) < options.fresh_percent) {
      input = generate_scenario(prng.next(), options.limits);
    } else {
      const nlohmann::json& parent = out.corpus[prng.below(out.corpus.size())];
      if (out.corpus.size() > 1 && prng.below(100) < options.crossover_percent) {
        input = cross_over(parent, out.corpus[prng.below(out.corpus.size())], prng, options.limits);
      } else {
        input = mutate_scenario(parent, prng, options.limits);
      }
      // Half the time another interleaving of the same script.
      if (prng.below(2) == 0) input["schedule"]["seed"] = prng.below(kMaxSeed);
    }
    input["name"] = fmt::format("gen-{}-{}", options.seed, n);
    execute(input, /*seed=*/false);
    if ((n + 1) % 256 == 0) {
      out.growth.emplace_back(out.stats.execs, out.coverage.size());
      if (options.progress) options.progress(stats());
    }
    if ((n + 1) % 64 == 0 && options.should_stop && options.should_stop()) {
      out.stopped_early = true;
      break;
    }
  }
  stats();
  out.growth.emplace_back(out.stats.execs, out.coverage.size());
  return out;
}

std::vector<nlohmann::json> load_corpus(const std::string& dir, std::vector<std::string>* skipped) {
  std::vector<std::string> paths;
  if (!fs::is_directory(dir)) throw ScenarioError(fmt::format("{}: not a directory", dir));
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<nlohmann::json> corpus;
  for (const auto& path : paths) {
    try {
      corpus.push_back(load_scenario(path).source);
    } catch (const std::exception& e) {
      if (skipped) skipped->push_back(e.what());
    }
  }
  return corpus;
}

GenerateResult run_generate_campaign(const GenerateCampaign& campaign, const driver::Variant& variant,
                                     const std::function<void(const GenerateFinding&)>& write, std::ostream& log,
                                     std::ostream& out) {
  std::vector<std::string> skipped;
  const std::vector<nlohmann::json> seeds = load_corpus(campaign.corpus_dir, &skipped);
  for (const auto& why : skipped) log << "xfsim: seed corpus: skipped " << why << "\n";
  const fs::path corpus_out = fs::path(campaign.out_dir) / "corpus";
  fs::create_directories(corpus_out);
  GenerateOptions options;
  options.seed = campaign.seed;
  options.limits.ignore_hangs = !campaign.keep_hangs;
  options.max_execs = campaign.execs != 0 ? campaign.execs : campaign.time_limit_s > 0 ? 0 : 10000;
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (campaign.time_limit_s > 0) options.should_stop = [&] { return seconds() >= campaign.time_limit_s; };
  auto last = start;
  options.progress = [&](const GenerateStats& s) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(5)) return;
    last = now;
    log << fmt::format("execs {} ({:.0f}/s), corpus {}, coverage {} features, distinct findings {}\n", s.execs,
                       s.execs / std::max(seconds(), 1e-9), s.corpus, s.features, s.findings)
        << std::flush;
  };
  options.on_finding = write;
  out << fmt::format("fuzz --generate under {}: seed {}, {} seed scenario(s) from {}, {}\n", variant.name,
                     campaign.seed, seeds.size(), campaign.corpus_dir,
                     options.max_execs ? fmt::format("{} executions", options.max_execs)
                                       : fmt::format("for {} s", campaign.time_limit_s));
  GenerateResult result = fuzz_generate(seeds, variant, options);
  const double elapsed = seconds();
  // The corpus, once at the end (each file synced: writing them as found
  // cost more than the runs).
  for (size_t i = 0; i < result.corpus.size(); ++i)
    write_file_atomically((corpus_out / fmt::format("{:06}.json", i)).string(), result.corpus[i].dump(2) + "\n");
  out << fmt::format(
      "executions: {} in {:.1f} s ({:.0f}/s){}\ncorpus: {} (written to {})\ncoverage: {} lifecycle features\n"
      "inconclusive runs: {}\ndistinct findings: {}\n",
      result.stats.execs, elapsed, result.stats.execs / std::max(elapsed, 1e-9),
      result.stopped_early ? ", stopped at the time limit" : "", result.stats.corpus, corpus_out.string(),
      result.stats.features, result.stats.inconclusive, result.findings.size());
  for (const auto& f : result.findings) out << fmt::format("  {} (execution {})\n", f.signature, f.exec);
  return result;
}

LifecycleCoverage corpus_coverage(const std::vector<nlohmann::json>& corpus) {
  LifecycleCoverage coverage;
  sim::Trace trace;
  std::vector<uint64_t> features;
  GeneratorLimits limits;
  limits.steps_max = 100000;
  for (const auto& input : corpus) {
    run_input(as_fuzz_input(input, limits), *driver::find_variant("correct"), trace, &features);
    coverage.merge(features);
  }
  return coverage;
}

}  // namespace xfsim::harness
