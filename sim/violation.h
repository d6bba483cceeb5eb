// Violation: what an oracle reports. The first violation of a run ends it;
// it carries the step, the task, and (for races) the other side.
#pragma once

#include <cstdint>
#include <string>

namespace xfsim::sim {

struct Violation {
  std::string kind;    // e.g. "use-after-free"; see harness/oracles.cc
  std::string site;    // the model function where it was detected
  std::string detail;  // human-readable: both sides of the race, objects named
  uint64_t step = 0;
  std::string task;
};

}  // namespace xfsim::sim
