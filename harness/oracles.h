// The catalogue of violation kinds (`xfsim oracles`), gathered from where
// each layer declares the kinds its oracles fire.
#pragma once

#include <string>
#include <vector>

#include "sim/violation.h"

namespace xfsim::harness {

// Every kind, in layer order (engine, fakes, userspace), each once.
const std::vector<const sim::ViolationKind*>& oracle_kinds();
bool is_oracle_kind(const std::string& name);

}  // namespace xfsim::harness
