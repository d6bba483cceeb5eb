// fakes/page_frames: machine memory; backend-page-freed-while-reachable
// firing and silent.
#include <gtest/gtest.h>

#include "fakes/grant_table.h"
#include "fakes/page_frames.h"
#include "tests/fakes/testing.h"

namespace xfsim::fakes {
namespace {

using Bench = testing::FakesBench;

TEST(Memory, BackendFreeingAPageTheFrontendMapsFires) {
  for (bool unmap_first : {false, true}) {
    Bench b;
    const uint32_t backend_page = b.memory.alloc_page(kBackendDomid, "be");
    const grant_ref_t gref = b.gnttab.grant_foreign_access(kBackendDomid, kFrontendDomid, backend_page, false);
    const uint32_t ballooned = b.memory.alloc_ballooned_page("front");
    b.gnttab.map_into(ballooned, gref, "map");
    EXPECT_EQ(b.memory.backing_of(ballooned), backend_page);
    if (unmap_first) b.gnttab.unmap_from(ballooned, gref, "unmap");
    b.memory.free_page(backend_page, "backend_free");
    EXPECT_EQ(b.verdict(), unmap_first ? "clean" : "backend-page-freed-while-reachable");
    EXPECT_EQ(b.memory.backing_of(ballooned), kNoPage);
  }
}

}  // namespace
}  // namespace xfsim::fakes
