// The grant table, the page frames behind it and the event-channel close, as
// 5.10 has them (fidelity review FP-1, FN-4, FN-6): ending a grant the other
// domain still maps is deferred, not an error; freeing a page the other
// domain still maps is (free-of-granted-page); a page handed to the grant
// table is freed when the grant is released; unbind closes the port, so a
// second close is refused. Each oracle fires here and stays silent in a twin.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "fakes/events.h"
#include "fakes/grant_table.h"
#include "fakes/page_frames.h"
#include "tests/fakes/testing.h"

namespace xfsim::fakes {
namespace {

// The shared fakes bench, with what these tests also ask of it.
struct Bench : testing::FakesBench {
  bool logged(const std::string& text) const {
    return std::any_of(trace.log_lines.begin(), trace.log_lines.end(),
                       [&](const std::string& line) { return line.find(text) != std::string::npos; });
  }
  // A frontend page granted to the backend and mapped there.
  grant_ref_t granted_and_mapped(uint32_t page) {
    const grant_ref_t gref = gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, page, false);
    EXPECT_EQ(gnttab.map(gref, kBackendDomid, "map"), page);
    return gref;
  }
};

// gnttab_end_foreign_access(ref, 0, page) on a grant the backend maps: "still
// in use", deferred, and the page outlives the call; the backend's unmap
// releases grant and page. The twin ends an unmapped grant: both go at once.
TEST(GrantTable, EndingAMappedGrantDefersItAndItsPageUntilTheUnmap) {
  for (bool mapped : {true, false}) {
    Bench b;
    const uint32_t page = b.memory.alloc_page(kFrontendDomid, "ring");
    const grant_ref_t gref =
        mapped ? b.granted_and_mapped(page) : b.gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, page, false);
    b.gnttab.end_foreign_access(gref, "evtchnl_free", page);
    EXPECT_EQ(b.gnttab.active(gref), mapped);
    EXPECT_EQ(b.memory.frame(page).freed, !mapped);
    EXPECT_EQ(b.logged("WARNING: g.e. 0x1 still in use!"), mapped);
    EXPECT_EQ(b.logged(fmt::format("deferring g.e. 0x1 (pfn {:#x})", page)), mapped);
    EXPECT_EQ(b.gnttab.active_grants(kFrontendDomid).size(), mapped ? 1u : 0u);
    if (mapped) {
      b.gnttab.unmap(gref, kBackendDomid, "displ_be_unmap");
      EXPECT_FALSE(b.gnttab.active(gref));
      EXPECT_TRUE(b.memory.frame(page).freed);
      EXPECT_TRUE(b.logged(fmt::format("freeing g.e. 0x1 (pfn {:#x})", page)));
    }
    EXPECT_EQ(b.verdict(), "clean");
  }
}

// xen_front_pgdir_shbuf_free ends with page 0 and the GEM object frees the
// page itself: while the backend still maps it that is free-of-granted-page
// (FN-4). The twin frees after the backend's unmap.
TEST(GrantTable, FreeingAPageTheBackendStillMapsFires) {
  for (bool unmap_first : {false, true}) {
    Bench b;
    const uint32_t page = b.memory.alloc_page(kFrontendDomid, "gem.0");
    const grant_ref_t gref = b.granted_and_mapped(page);
    b.gnttab.end_foreign_access(gref, "xen_front_pgdir_shbuf_free");  // page 0: deferred, page not ours to free
    EXPECT_TRUE(b.logged("deferring g.e. 0x1 (pfn 0xffffffffffffffff)"));
    if (unmap_first) b.gnttab.unmap(gref, kBackendDomid, "displ_be_unmap");
    b.memory.free_page(page, "drm_gem_put_pages");
    EXPECT_EQ(b.verdict(), unmap_first ? "clean" : "free-of-granted-page");
    EXPECT_TRUE(b.memory.frame(page).freed);
  }
}

// correct's way: get_page, then the page goes with the grant end. The owner's
// put while the backend maps leaves the page alive; the unmap frees it, once.
TEST(GrantTable, APageHandedToTheGrantTableIsFreedWithTheGrant) {
  Bench b;
  const uint32_t page = b.memory.alloc_page(kFrontendDomid, "gem.0");
  const grant_ref_t gref = b.granted_and_mapped(page);
  b.memory.get_page(page);
  b.gnttab.end_foreign_access(gref, "xen_front_pgdir_shbuf_free", page);
  b.memory.free_page(page, "drm_gem_put_pages");
  EXPECT_FALSE(b.memory.frame(page).freed);
  EXPECT_EQ(b.verdict(), "clean");
  b.gnttab.unmap(gref, kBackendDomid, "displ_be_unmap");
  EXPECT_TRUE(b.memory.frame(page).freed);
  EXPECT_FALSE(b.gnttab.active(gref));
  EXPECT_EQ(b.verdict(), "clean");
}

// One put too many is still a double free, refcount or not.
TEST(GrantTable, APageFreedOnceMoreThanItWasGotIsADoubleFree) {
  for (int puts : {2, 3}) {
    Bench b;
    const uint32_t page = b.memory.alloc_page(kFrontendDomid, "p");
    b.memory.get_page(page);
    for (int i = 0; i < puts; ++i) b.memory.free_page(page, "put_page");
    EXPECT_EQ(b.verdict(), puts == 3 ? "double-free" : "clean");
  }
}

// A deferred grant ended again: the kernel would defer it twice and put its
// entry twice.
TEST(GrantTable, EndingADeferredGrantAgainIsADoubleFree) {
  for (int ends : {1, 2}) {
    Bench b;
    const uint32_t page = b.memory.alloc_page(kFrontendDomid, "p");
    const grant_ref_t gref = b.granted_and_mapped(page);
    for (int i = 0; i < ends; ++i) b.gnttab.end_foreign_access(gref, "end");
    EXPECT_EQ(b.verdict(), ends == 2 ? "double-free" : "clean");
  }
}

// free_xenballooned_pages of a page still showing a backend page loses that
// mapping: a leak, reported by the page frames themselves.
TEST(Memory, ABalloonedPageReturnedStillMappingIsALeak) {
  for (bool unmap_first : {false, true}) {
    Bench b;
    const uint32_t backend_page = b.memory.alloc_page(kBackendDomid, "be");
    const grant_ref_t gref = b.gnttab.grant_foreign_access(kBackendDomid, kFrontendDomid, backend_page, false);
    const uint32_t ballooned = b.memory.alloc_ballooned_page("front");
    b.gnttab.map_into(ballooned, gref, "map");
    if (unmap_first) b.gnttab.unmap_from(ballooned, gref, "unmap");
    b.memory.free_page(ballooned, "free_xenballooned_pages");
    EXPECT_EQ(b.verdict(), unmap_first ? "clean" : "leak");
  }
}

// unbind_from_irqhandler closes the port (__unbind_from_irq ->
// xen_evtchn_close); xenbus_free_evtchn's close after it is refused with
// -EINVAL, as Xen refuses closing a free port. Without the unbind the close
// succeeds.
sim::Task<> unbind(EventChannels& evtchn, int irq) { co_await evtchn.unbind_from_irqhandler(irq, "unbind"); }

TEST(EventChannels, UnbindClosesThePortSoTheSecondCloseIsRefused) {
  for (bool bind : {true, false}) {
    Bench b;
    const evtchn_port_t port = b.evtchn.alloc_unbound("alloc");
    if (bind) {
      const int irq = b.evtchn.bind_to_irqhandler(port, "test", []() -> sim::Task<> { co_return; });
      b.scheduler.spawn("fini", sim::TaskKind::kKthread, unbind(b.evtchn, irq));
      b.scheduler.run({});
      EXPECT_FALSE(b.evtchn.allocated(port));
    }
    EXPECT_EQ(b.evtchn.free(port, "xenbus_free_evtchn"), bind ? -EINVAL : 0);
    EXPECT_FALSE(b.evtchn.allocated(port));
    EXPECT_TRUE(b.evtchn.allocated_ports().empty());
    EXPECT_EQ(b.verdict(), "clean");
  }
}

}  // namespace
}  // namespace xfsim::fakes
