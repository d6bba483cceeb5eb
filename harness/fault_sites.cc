#include "harness/fault_sites.h"

#include <cstring>

#include "driver_core/xen_drm_front.h"
#include "fakes/backend.h"
#include "sim/assert.h"

namespace xfsim::harness {

const std::vector<const sim::FaultSite*>& fault_sites() {
  static const std::vector<const sim::FaultSite*> sites = [] {
    std::vector<const sim::FaultSite*> all(std::begin(driver::kDriverFaultSites), std::end(driver::kDriverFaultSites));
    all.insert(all.end(), std::begin(fakes::kBackendFaultSites), std::end(fakes::kBackendFaultSites));
    for (size_t i = 0; i < all.size(); ++i) {
      XFSIM_ASSERT(all[i]->error < 0, "fault site {} fails with {}, not a negative errno", all[i]->name, all[i]->error);
      for (size_t j = 0; j < i; ++j) {
        XFSIM_ASSERT(std::strcmp(all[i]->name, all[j]->name) != 0, "fault site {} declared twice", all[i]->name);
      }
    }
    return all;
  }();
  return sites;
}

const sim::FaultSite* find_fault_site(const std::string& name) {
  for (const sim::FaultSite* site : fault_sites()) {
    if (name == site->name) return site;
  }
  return nullptr;
}

nlohmann::json with_explored_faults(nlohmann::json scenario, const std::vector<sim::InjectedFault>& faults) {
  for (const sim::InjectedFault& fault : faults) {
    if (!fault.explored) continue;
    scenario["faults"].push_back({{"site", fault.site->name}, {"nth", fault.nth}, {"error", fault.error}});
  }
  return scenario;
}

}  // namespace xfsim::harness
