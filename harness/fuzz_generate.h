// `xfsim fuzz --generate`: a coverage-guided loop over generated scenarios
// (docs/fuzzing.md). Each execution is one input (a scenario: generated
// fresh, or a corpus entry mutated or crossed over, harness/generate.h) run
// once under its own schedule seed with lifecycle coverage on
// (harness/lifecycle_coverage.h); an input that reaches a feature no earlier
// one did joins the corpus; each violation signature not seen before is a
// finding. With a limit on executions (not on time) the whole loop is
// deterministic in its seed.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "driver_core/variant.h"
#include "harness/generate.h"
#include "harness/lifecycle_coverage.h"
#include "harness/world.h"

namespace xfsim::harness {

struct GenerateStats {
  uint64_t execs = 0;
  size_t corpus = 0;          // inputs kept (seeds included)
  size_t features = 0;        // lifecycle coverage features reached
  size_t findings = 0;        // distinct signatures
  uint64_t inconclusive = 0;  // runs that hit their step or time bound
};

struct GenerateFinding {
  std::string signature;
  RunResult result;                // the run it was found in
  std::vector<uint32_t> schedule;  // its decisions (a replay schedule)
  nlohmann::json scenario;         // the input as run, explored faults scripted
  uint64_t exec = 0;               // which execution found it
};

struct GenerateOptions {
  uint64_t seed = 1;
  uint64_t max_execs = 0;  // 0: until should_stop says so
  // Asked every 64 executions (a wall-clock limit: then not deterministic).
  std::function<bool()> should_stop;
  GeneratorLimits limits;
  uint32_t fresh_percent = 25;                              // inputs generated from nothing
  uint32_t crossover_percent = 15;                          // of the others: cross-over of two corpus entries
  std::function<void(const GenerateFinding&)> on_finding;   // once per signature, as found
  std::function<void(const nlohmann::json&)> on_new_input;  // an input joined the corpus
  std::function<void(const GenerateStats&)> progress;       // every 256 executions
};

struct GenerateResult {
  GenerateStats stats;
  bool stopped_early = false;
  std::vector<GenerateFinding> findings;
  std::vector<nlohmann::json> corpus;
  LifecycleCoverage coverage;
  // (executions, features) after the seeds and at every 256 executions.
  std::vector<std::pair<uint64_t, size_t>> growth;
};

// `seeds`: scenario documents of any origin (made fuzz inputs with
// as_fuzz_input); none: the loop starts from generated ones only.
GenerateResult fuzz_generate(const std::vector<nlohmann::json>& seeds, const driver::Variant& variant,
                             const GenerateOptions& options);

// One execution: the input run once under its schedule block's seed, its
// lifecycle features into `features` (when not null).
RunResult run_input(const nlohmann::json& input, const driver::Variant& variant, sim::Trace& trace,
                    std::vector<uint64_t>* features);

// Every *.json under `dir` (recursively, in path order) that is a valid
// scenario; the others are listed in `skipped` with why.
std::vector<nlohmann::json> load_corpus(const std::string& dir, std::vector<std::string>* skipped);

// What `xfsim fuzz --generate` is run with.
struct GenerateCampaign {
  std::string corpus_dir;  // the seed corpus (the shipped scenarios by default)
  std::string out_dir;     // findings, and OUT/corpus/ for the inputs that joined the corpus
  uint64_t seed = 1;
  uint64_t execs = 0;  // 0: 10,000, or no limit when there is a time limit
  double time_limit_s = 0;
  bool keep_hangs = false;  // report hung-wait (generated waits may rightly never end)
};

// Runs the campaign: progress lines on `log` (every 5 s: executions and
// their rate, corpus size, coverage features, distinct findings), the
// corpus written (atomically) to OUT/corpus/ at the end, each finding
// handed to `write` (the command line minimises it, re-runs it and writes the
// reproducer, as `xfsim fuzz` does), and a summary on `out`.
GenerateResult run_generate_campaign(const GenerateCampaign& campaign, const driver::Variant& variant,
                                     const std::function<void(const GenerateFinding&)>& write, std::ostream& log,
                                     std::ostream& out);

// `xfsim coverage CORPUS`: each scenario under CORPUS run once (as a fuzz
// input, under `correct`), and the lifecycle states and transitions the
// whole corpus reached and never reached.
LifecycleCoverage corpus_coverage(const std::vector<nlohmann::json>& corpus);

}  // namespace xfsim::harness
