#include "fakes/grant_table.h"

#include <fmt/format.h>

#include "fakes/memory_errors.h"
#include "sim/assert.h"

namespace xfsim::fakes {

grant_ref_t GrantTable::grant_foreign_access(int granter, int grantee, uint32_t page, bool readonly) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_grant_foreign_access");
  std::vector<Grant>& grants = grants_.write();
  grants.push_back(Grant{granter, grantee, page, readonly, true, 0});
  return static_cast<grant_ref_t>(grants.size());
}

bool GrantTable::active(grant_ref_t ref) const {
  const std::vector<Grant>& grants = grants_.read();
  return ref >= 1 && ref <= grants.size() && grants[ref - 1].active;
}

void GrantTable::end_foreign_access(grant_ref_t ref, const char* site, uint32_t page) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_end_foreign_access");
  std::vector<Grant>& grants = grants_.write();
  if (ref < 1 || ref > grants.size()) {
    scheduler_.report(kUseAfterFree, site, fmt::format("{}: grant {} was never granted", site, ref), site);
    return;
  }
  Grant& grant = grants[ref - 1];
  if (!grant.active || grant.end_deferred) {
    scheduler_.report(kDoubleFree, site, fmt::format("{}: grant {} already ended", site, ref), site);
    return;
  }
  XFSIM_ASSERT(page == kNoPage || page == grant.page, "grant {} is of page {}, not {}", ref, grant.page, page);
  if (grant.maps == 0) {  // gnttab_end_foreign_access_ref succeeded
    release(grant, ref, page, /*deferred=*/false);
    return;
  }
  scheduler_.logf("WARNING: g.e. {:#x} still in use!", ref);
  if (page == kNoPage && deferred_end_holds_page_) {
    // 42baefac638f (XSA-396): gnttab_add_deferred reads the grant's frame and
    // takes its own reference to that page.
    memory_.get_page(grant.page);
    page = grant.page;
  }
  grant.end_deferred = true;  // gnttab_add_deferred
  grant.deferred_page = page;
  if (page == kNoPage)
    scheduler_.logf("deferring g.e. {:#x} (pfn {:#x})", ref, static_cast<uint64_t>(-1));
  else
    scheduler_.logf("deferring g.e. {:#x} (pfn {:#x})", ref, page);
}

void GrantTable::release(Grant& grant, grant_ref_t ref, uint32_t page, bool deferred) {
  grant.active = false;
  grant.end_deferred = false;
  grant.deferred_page = kNoPage;
  if (deferred) {
    if (page != kNoPage)
      scheduler_.logf("freeing g.e. {:#x} (pfn {:#x})", ref, page);
    else
      scheduler_.logf("freeing g.e. {:#x}", ref);
  }
  if (page != kNoPage) memory_.free_page(page, deferred ? "gnttab_handle_deferred" : "gnttab_end_foreign_access");
}

uint32_t GrantTable::map(grant_ref_t ref, int mapper, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_map_refs");
  std::vector<Grant>& grants = grants_.write();
  if (ref < 1 || ref > grants.size() || !grants[ref - 1].active || grants[ref - 1].grantee != mapper) {
    scheduler_.logf("{}: map of invalid grant {} refused", site, ref);
    return kNoPage;
  }
  Grant& grant = grants[ref - 1];
  ++grant.maps;
  ++memory_.frame(grant.page).grant_mapped_by_other;
  return grant.page;
}

void GrantTable::unmap(grant_ref_t ref, int mapper, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_unmap_refs");
  std::vector<Grant>& grants = grants_.write();
  XFSIM_ASSERT(ref >= 1 && ref <= grants.size(), "unmap of grant {} of {}", ref, grants.size());
  Grant& grant = grants[ref - 1];
  (void)mapper;
  if (grant.maps == 0) {
    scheduler_.report(kRefcountUnderflow, site, fmt::format("{}: grant {} unmapped more often than mapped", site, ref),
                      site);
    return;
  }
  --grant.maps;
  --memory_.frame(grant.page).grant_mapped_by_other;
  if (grant.maps == 0 && grant.end_deferred) release(grant, ref, grant.deferred_page, /*deferred=*/true);
}

void GrantTable::map_into(uint32_t ballooned_page, grant_ref_t ref, const char* site) {
  const uint32_t page = map(ref, kFrontendDomid, site);
  memory_.frame(ballooned_page).mapped_foreign = page;
}

void GrantTable::unmap_from(uint32_t ballooned_page, grant_ref_t ref, const char* site) {
  PageFrame& frame = memory_.frame(ballooned_page);
  if (frame.mapped_foreign == kNoPage) return;
  unmap(ref, kFrontendDomid, site);
  frame.mapped_foreign = kNoPage;
}

std::vector<std::string> GrantTable::active_grants(int granter) const {
  const std::vector<Grant>& grants = grants_.read();
  std::vector<std::string> out;
  for (size_t i = 0; i < grants.size(); ++i) {
    if (grants[i].active && grants[i].granter == granter) {
      out.push_back(fmt::format("gref {} (domain {} to {}, page {}{})", i + 1, grants[i].granter, grants[i].grantee,
                                memory_.frame(grants[i].page).label,
                                grants[i].end_deferred ? ", ended but deferred: still mapped" : ""));
    }
  }
  return out;
}

}  // namespace xfsim::fakes
