// Minimisation: from a violating run (scenario + schedule), a smaller
// scenario and a shorter schedule with fewer preemptions that still report
// the same finding: the same signature (sim/violation.h), never just the same
// kind, so a hang is not shrunk into another hang.
//   1. fewer actions: ddmin over the scenario's deletable parts (actors,
//      their steps, backend script and host actions): chunks of half, a
//      quarter, ... one part, each candidate built only when tried, so time
//      and memory stay near linear in the scenario's size;
//   2. the shortest schedule prefix that still reproduces (past it, replay
//      goes on without preempting);
//   3. preemptions replaced by "the same task goes on" where the finding
//      survives.
// A reproducer is written only after verify_reproducer re-ran it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "driver_core/variant.h"
#include "harness/world.h"

namespace xfsim::harness {

struct Reproducer {
  nlohmann::json scenario;  // without expect/schedule changes
  std::vector<uint32_t> decisions;
  std::string signature;  // the finding it reproduces
  RunResult result;       // the run that reproduced it
};

struct ReproducerSize {
  size_t actions = 0;  // actor steps + backend script + host actions
  size_t decisions = 0;
  uint64_t preemptions = 0;
};

struct Minimized {
  Reproducer reproducer;
  ReproducerSize before, after;
  uint64_t runs = 0;        // schedules executed while minimising
  bool reproduced = false;  // false: the original did not reproduce; returned unchanged
};

// `search_schedules`: schedules tried per candidate when replaying the old
// schedule no longer reproduces.
Minimized minimize(const Reproducer& original, const driver::Variant& variant, uint64_t search_schedules = 16);

// The reproducer as a scenario `xfsim run` and `bazel test` take: variant,
// expected verdict and signature, and the replay schedule filled in.
nlohmann::json reproducer_scenario(const Reproducer& reproducer, const std::string& variant, const std::string& name);

// Re-runs a reproducer scenario as `xfsim check` would: it must pass the
// schema, report its expected signature under `variant`, and be clean under
// `correct` if it says so. Returns what is wrong, or "" when it holds.
std::string verify_reproducer(const nlohmann::json& scenario, const driver::Variant& variant);

// True when the run reported `signature` ("step-limit" for a run that hit it).
bool reports(const RunResult& result, const std::string& signature);

// True when the run reported a violation of `kind` whose path goes through
// `function`: its site, or a frame of its stack, alloc or free stack.
bool reports_through(const RunResult& result, const std::string& kind, const std::string& function);

size_t count_actions(const nlohmann::json& scenario);

}  // namespace xfsim::harness
