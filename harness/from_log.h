// xfsim from-log: from a kernel log to a replayable reproducer. The log's
// crash report gives the signature to reach (harness/kernel_log.h); the
// hint scenario gives the world; campaigns over its schedules (and
// perturbed timings) run until a violation's log signature equals the
// log's. The matching run is written as a reproducer scenario, its trace,
// its dmesg, and an alignment of the log's events with the model's.
// docs/from-log.md says what this version does and does not do.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace xfsim::harness {

struct FromLogOptions {
  std::string log_path;
  std::string hint_path;  // the scenario to search from (required in this version)
  std::string variant;    // default: the hint's
  std::string out_dir;
  uint64_t seed = 1;
  std::function<bool()> out_of_time;                 // asked between campaigns and every 256 schedules
  std::function<void(uint64_t schedules)> progress;  // schedules run so far
};

// 0: reproduced; 1: not within the limit (the nearest run is written);
// 2: bad input (the reason on `err`).
int from_log(const FromLogOptions& options, std::ostream& out, std::ostream& err);

}  // namespace xfsim::harness
