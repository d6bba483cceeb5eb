// fakes/grant_table: grants given, mapped and ended; grant-end-while-mapped
// firing and silent.
#include <gtest/gtest.h>

#include "fakes/grant_table.h"
#include "fakes/page_frames.h"
#include "tests/fakes/testing.h"

namespace xfsim::fakes {
namespace {

using Bench = testing::FakesBench;

TEST(GrantTable, EndingAGrantTheBackendStillMapsFires) {
  for (bool unmap_first : {false, true}) {
    Bench b;
    const uint32_t page = b.memory.alloc_page(kFrontendDomid, "p");
    const grant_ref_t gref = b.gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, page, false);
    ASSERT_EQ(b.gnttab.map(gref, kBackendDomid, "map"), page);
    if (unmap_first) b.gnttab.unmap(gref, kBackendDomid, "unmap");
    b.gnttab.end_foreign_access(gref, "end");
    EXPECT_EQ(b.verdict(), unmap_first ? "clean" : "grant-end-while-mapped");
  }
}

TEST(GrantTable, DeferredEndWaitsForTheUnmapAndIsSilent) {
  Bench b;
  const uint32_t page = b.memory.alloc_page(kFrontendDomid, "p");
  const grant_ref_t gref = b.gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, page, false);
  b.gnttab.map(gref, kBackendDomid, "map");
  b.gnttab.end_foreign_access_deferred(gref, "end");
  EXPECT_TRUE(b.gnttab.active(gref));
  b.gnttab.unmap(gref, kBackendDomid, "unmap");
  EXPECT_FALSE(b.gnttab.active(gref));
  EXPECT_EQ(b.verdict(), "clean");
}

}  // namespace
}  // namespace xfsim::fakes
