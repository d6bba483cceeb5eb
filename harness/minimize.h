// Minimisation: from a violating run (scenario + schedule), a smaller
// scenario and a shorter schedule with fewer preemptions that give the same
// violation kind at the same site. Greedy one-at-a-time deletion (ddmin with
// granularity one): actors, actor steps, backend and host actions; then the
// schedule is cut to its shortest reproducing prefix and preemptions are
// replaced by "the same task goes on" where the violation survives.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "driver_core/variant.h"
#include "harness/world.h"

namespace xfsim::harness {

struct Reproducer {
  nlohmann::json scenario;         // without expect/schedule changes
  std::vector<uint32_t> decisions;
  RunResult result;
};

struct ReproducerSize {
  size_t actions = 0;  // actor steps + backend script + host actions
  size_t decisions = 0;
  uint64_t preemptions = 0;
};

struct Minimized {
  Reproducer reproducer;
  ReproducerSize before, after;
  uint64_t runs = 0;  // schedules executed while minimising
};

// `search_schedules`: schedules tried per candidate when replaying the old
// schedule no longer reproduces.
Minimized minimize(const Reproducer& original, const driver::Variant& variant, uint64_t search_schedules = 64);

// The reproducer as a scenario `xfsim run` and `bazel test` take: variant,
// expected verdict and the replay schedule filled in.
nlohmann::json reproducer_scenario(const Reproducer& reproducer, const std::string& variant,
                                   const std::string& name);

size_t count_actions(const nlohmann::json& scenario);

}  // namespace xfsim::harness
