// fakes/leak_check: the end-of-run leak oracle, firing and silent.
#include <gtest/gtest.h>

#include "fakes/events.h"
#include "fakes/grant_table.h"
#include "fakes/kmem.h"
#include "fakes/leak_check.h"
#include "fakes/page_frames.h"
#include "fakes/xenstore.h"
#include "tests/fakes/testing.h"

namespace xfsim::fakes {
namespace {

using Bench = testing::FakesBench;
using testing::Thing;

TEST(Leaks, AnythingTheFrontendStillHoldsIsALeak) {
  for (bool release : {false, true}) {
    Bench b;
    Thing* thing = b.kmem.kzalloc<Thing>("thing", "t0");
    const uint32_t page = b.memory.alloc_page(kFrontendDomid, "p");
    const grant_ref_t gref = b.gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, page, false);
    const evtchn_port_t port = b.evtchn.alloc_unbound("alloc");
    if (release) {
      b.kmem.kfree(thing, "kfree");
      b.gnttab.end_foreign_access(gref, "end");
      b.evtchn.free(port, "free");
    }
    EXPECT_EQ(report_leaks(b.scheduler, b.kmem, b.gnttab, b.evtchn, b.store), !release);
    EXPECT_EQ(b.verdict(), release ? "clean" : "leak");
  }
}

}  // namespace
}  // namespace xfsim::fakes
