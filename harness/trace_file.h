// Trace files: JSON lines. Line 1 is a header with the scenario itself (so a
// trace replays on its own), the variant and how the schedule was chosen;
// then one line per decision / spawn / log line (sim/trace.h); the last line
// is the verdict. Files are written atomically (temporary file + rename).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/scenario.h"
#include "harness/world.h"
#include "sim/trace.h"

namespace xfsim::harness {

struct TraceOrigin {
  std::string variant;
  std::string strategy;
  uint64_t seed = 0;
  uint64_t schedule_index = 0;
};

// A finding as the verdict line lists it: kind, signature, step, task
// (`--json` adds where and what to the same object).
nlohmann::ordered_json finding_json(const sim::Violation& violation);

std::string render_trace(const Scenario& scenario, const TraceOrigin& origin, const sim::Trace& trace,
                         const RunResult& result);
void write_file_atomically(const std::string& path, const std::string& contents);

struct TraceFile {
  nlohmann::json scenario;
  std::string scenario_path;
  TraceOrigin origin;
  std::vector<uint32_t> schedule;  // task id per step
  std::string verdict;
  std::string violation_site;
  std::string signature;  // of the first finding, if any
};
TraceFile read_trace_file(const std::string& path);

}  // namespace xfsim::harness
