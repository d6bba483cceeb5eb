#include "fakes/leak_check.h"

#include <set>

#include <fmt/format.h>

namespace xfsim::fakes {

bool report_leaks(sim::Scheduler& scheduler, const Kmem& kmem, const GrantTable& gnttab, const EventChannels& evtchn,
                  const XenStore& store) {
  std::vector<std::string> leaks = kmem.live_objects();
  for (const auto& grant : gnttab.active_grants(kFrontendDomid)) leaks.push_back(grant);
  for (const auto& port : evtchn.allocated_ports()) leaks.push_back(port);
  for (const auto& watch : store.active_watch_owners()) leaks.push_back("watch " + watch);
  if (leaks.empty()) return false;
  std::string list;
  for (size_t i = 0; i < leaks.size() && i < 8; ++i) list += (i ? ", " : "") + leaks[i];
  if (leaks.size() > 8) list += fmt::format(", ... ({} in all)", leaks.size());
  // What leaked, by kind (an object's type, gref, evtchn, watch): the signature.
  std::set<std::string> kinds;
  for (const auto& leak : leaks) kinds.insert(leak.substr(0, leak.find(' ')));
  std::string key;
  for (const auto& kind : kinds) key += (key.empty() ? "" : ", ") + kind;
  scheduler.report(kLeak, "end of run", "still allocated after remove and exit: " + list, key);
  return true;
}

}  // namespace xfsim::fakes
