// The grant table (drivers/xen/grant-table.c, include/xen/grant_table.h): a
// domain lets another map one of its page frames. Ending a grant the other
// domain still maps is no error in 5.10: gnttab_end_foreign_access defers it
// (gnttab_add_deferred) and releases it, with the page it was given, once the
// mapping is gone. The hazard is a page freed by its owner meanwhile, which
// Memory::free_page reports (free-of-granted-page). From XSA-396 on
// (CoreConfig::gnttab_deferred_end_holds_page, v5.17) a deferred end given no
// page takes a reference to the granted page itself, and that hazard is gone.
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

using grant_ref_t = uint32_t;

class GrantTable {
 public:
  GrantTable(sim::Scheduler& scheduler, Memory& memory) : scheduler_(scheduler), grants_(scheduler), memory_(memory) {}
  // XSA-396's deferred end (CoreConfig::gnttab_deferred_end_holds_page,
  // fakes/core_config.h); off, as in 5.10.7, unless set.
  void set_deferred_end_holds_page(bool on) { deferred_end_holds_page_ = on; }
  // gnttab_grant_foreign_access: `granter` lets `grantee` map `page`.
  grant_ref_t grant_foreign_access(int granter, int grantee, uint32_t page, bool readonly);
  // gnttab_end_foreign_access(ref, readonly, page) as in v5.10
  // (grant-table.c:438-447). If the other domain does not map the grant it
  // ends now and `page`, if given (not kNoPage: the caller hands over one
  // reference to the granted page), is put. Otherwise it warns "g.e. still in
  // use", and gnttab_add_deferred keeps grant and page until the mapping is
  // gone; from XSA-396 on, a deferred end given no page takes a reference to
  // the granted page (gnttab_add_deferred: read_frame, get_page) and puts it
  // with the grant, so the caller's own put cannot free it under the
  // mapping. The kernel's deferred_timer retries every second
  // (gnttab_handle_deferred); the model releases in the unmap's own step, the
  // earliest a retry could succeed.
  void end_foreign_access(grant_ref_t ref, const char* site, uint32_t page = kNoPage);
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
    bool end_deferred = false;         // on gnttab's deferred_list
    uint32_t deferred_page = kNoPage;  // the page the deferred entry puts
  };
  sim::Scheduler& scheduler_;
  bool deferred_end_holds_page_ = false;
  // put_free_entry, and the deferred page put (gnttab_handle_deferred).
  void release(Grant& grant, grant_ref_t ref, uint32_t page, bool deferred);

  sim::Shared<std::vector<Grant>> grants_;  // ref = index + 1 (0 is never a valid gref); both domains reach it
  Memory& memory_;
};

}  // namespace xfsim::fakes
