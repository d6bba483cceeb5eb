// Scenario generation for `xfsim fuzz --generate` (docs/fuzzing.md): random
// but valid scenarios over what the world can do (processes and threads
// making the DRM and dma-buf calls of harness/userspace.h, backend and host
// actions, `when` triggers, configuration, scripted faults, timings and the
// schedule seed), and structure-aware mutation and cross-over of existing
// scenarios (the shipped ones are the seed corpus).
//
// Every document these functions return passes parse_scenario's schema and
// meaning checks (tests/harness/generate_test.cc checks thousands of seeds)
// and can be written out as a scenario file as it is. All of it is
// deterministic in the seed or the Prng passed in.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "sim/prng.h"

namespace xfsim::harness {

struct GeneratorLimits {
  uint32_t max_processes = 3;        // actors of their own
  uint32_t max_threads = 2;          // actors that are threads of one of them
  uint32_t max_steps = 14;           // per actor, when generated
  uint32_t max_total_steps = 64;     // a mutated scenario grows no further
  uint32_t max_backend_actions = 3;  // backend.script
  uint32_t max_host_actions = 1;
  uint32_t max_faults = 2;     // scripted
  uint64_t horizon_ms = 600;   // at_ms and sleeps fall mostly before this
  uint64_t steps_max = 20000;  // each run's step bound
  bool ignore_hangs = true;    // expect.ignore hung-wait (docs/fuzzing.md says why)
};

// A fresh scenario from `seed`. Its variant is "correct", its expectation
// "clean", its schedule one random schedule seeded from `seed`.
nlohmann::json generate_scenario(uint64_t seed, const GeneratorLimits& limits = {});

// One to a few structure-aware changes to `scenario`: insert, delete, swap or
// duplicate actor steps, change their arguments, timings, the configuration,
// the faults, backend and host actions, add or drop an actor, reseed.
nlohmann::json mutate_scenario(const nlohmann::json& scenario, sim::Prng& prng, const GeneratorLimits& limits = {});

// `a` with parts of `b` spliced in: some of b's actor scripts (renamed where
// names clash), or b's backend, host actions, configuration or faults.
nlohmann::json cross_over(const nlohmann::json& a, const nlohmann::json& b, sim::Prng& prng,
                          const GeneratorLimits& limits = {});

// A scenario of any origin (a shipped one, a reproducer) as a fuzz input:
// expectations replaced by "clean" (ignoring hung-wait if limits say so),
// a random schedule of one run, and the fixes that keep it valid (names,
// thread_of, pipes, sizes). Mutation and cross-over end with it too.
nlohmann::json as_fuzz_input(const nlohmann::json& scenario, const GeneratorLimits& limits = {});

}  // namespace xfsim::harness
