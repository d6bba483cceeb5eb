// The catalogue of injectable fault sites (`xfsim sites`), gathered from
// where each layer declares the fallible calls it makes (sim/fault.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/fault.h"

namespace xfsim::harness {

// Every site, in layer order, each once.
const std::vector<const sim::FaultSite*>& fault_sites();
const sim::FaultSite* find_fault_site(const std::string& name);

// `scenario` with the faults a strategy chose in a run appended to its
// "faults" (as scripted faults), so a finding's scenario replays with them.
nlohmann::json with_explored_faults(nlohmann::json scenario, const std::vector<sim::InjectedFault>& faults);

}  // namespace xfsim::harness
