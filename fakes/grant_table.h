// The grant table (drivers/xen/grant-table.c, include/xen/grant_table.h): a
// domain lets another map one of its page frames.
//   grant-end-while-mapped  gnttab_end_foreign_access on a grant the other
//                           domain still maps
//   refcount-underflow      a grant unmapped more often than mapped
//   double-free             a grant ended twice
//   use-after-free          ending a grant ref that was never granted
//   leak                    grants still active at the end of a run (the
//                           leak oracle asks active_grants)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fakes/page_frames.h"
#include "sim/scheduler.h"
#include "sim/shared.h"

namespace xfsim::fakes {

inline constexpr sim::ViolationKind kGrantEndWhileMapped{"grant-end-while-mapped",
                                                         "the frontend ends a grant the backend still maps"};
inline constexpr const sim::ViolationKind* kGrantTableOracles[] = {&kGrantEndWhileMapped};

using grant_ref_t = uint32_t;

class GrantTable {
 public:
  GrantTable(sim::Scheduler& scheduler, Memory& memory) : scheduler_(scheduler), grants_(scheduler), memory_(memory) {}
  // gnttab_grant_foreign_access: `granter` lets `grantee` map `page`.
  grant_ref_t grant_foreign_access(int granter, int grantee, uint32_t page, bool readonly);
  // gnttab_end_foreign_access.
  // With free_page, the granted page is freed too (gnttab_end_foreign_access
  // with a page argument).
  void end_foreign_access(grant_ref_t ref, const char* site, bool free_page = false);
  // Since XSA-396 (Linux 5.17): a grant still mapped is ended once the other
  // side unmaps it, and a page to free is kept until then — no violation.
  void end_foreign_access_deferred(grant_ref_t ref, const char* site, bool free_page = false);
  // The other domain maps/unmaps a grant (gnttab_map_refs / gnttab_unmap_refs);
  // returns the granted page, or kNoPage if the grant is not valid.
  uint32_t map(grant_ref_t ref, int mapper, const char* site);
  void unmap(grant_ref_t ref, int mapper, const char* site);
  bool active(grant_ref_t ref) const;
  // Grants `granter` still has active (the leak oracle asks for the frontend's).
  std::vector<std::string> active_grants(int granter) const;
  // Ballooned frontend pages showing backend grants.
  void map_into(uint32_t ballooned_page, grant_ref_t ref, const char* site);
  void unmap_from(uint32_t ballooned_page, grant_ref_t ref, const char* site);

 private:
  struct Grant {
    int granter;
    int grantee;
    uint32_t page;
    bool readonly;
    bool active;
    uint32_t maps;
    bool end_deferred = false;
    bool free_page_at_end = false;
  };
  sim::Scheduler& scheduler_;
  sim::Shared<std::vector<Grant>> grants_;  // ref = index + 1 (0 is never a valid gref); both domains reach it
  Memory& memory_;
};

}  // namespace xfsim::fakes
