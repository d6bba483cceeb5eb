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

void GrantTable::end_foreign_access(grant_ref_t ref, const char* site, bool free_page) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_end_foreign_access");
  std::vector<Grant>& grants = grants_.write();
  if (ref < 1 || ref > grants.size()) {
    scheduler_.report(kUseAfterFree, site, fmt::format("{}: grant {} was never granted", site, ref), site);
    return;
  }
  Grant& grant = grants[ref - 1];
  if (!grant.active) {
    scheduler_.report(kDoubleFree, site, fmt::format("{}: grant {} already ended", site, ref), site);
    return;
  }
  if (grant.maps > 0) {
    scheduler_.report(kGrantEndWhileMapped, site,
                      fmt::format("{}: grant {} of page {} ended while domain {} still maps it", site, ref,
                                  memory_.frame(grant.page).label, grant.grantee),
                      site);
  }
  grant.active = false;
  if (free_page) memory_.free_page(grant.page, site);
}

void GrantTable::end_foreign_access_deferred(grant_ref_t ref, const char* site, bool free_page) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_end_foreign_access");
  std::vector<Grant>& grants = grants_.write();
  if (ref >= 1 && ref <= grants.size() && grants[ref - 1].active && grants[ref - 1].maps > 0) {
    grants[ref - 1].end_deferred = true;
    grants[ref - 1].free_page_at_end = free_page;
    return;
  }
  end_foreign_access(ref, site, free_page);
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
  if (grant.maps == 0 && grant.end_deferred) {
    grant.active = false;
    if (grant.free_page_at_end) memory_.free_page(grant.page, "gnttab_handle_deferred");
  }
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
      out.push_back(fmt::format("gref {} (domain {} to {}, page {})", i + 1, grants[i].granter, grants[i].grantee,
                                memory_.frame(grants[i].page).label));
    }
  }
  return out;
}

}  // namespace xfsim::fakes
