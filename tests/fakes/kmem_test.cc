// fakes/kmem: the lifetime tracker (KASAN-like) and kref, each oracle firing
// and silent.
#include <gtest/gtest.h>

#include "fakes/kmem.h"
#include "sim/scheduler.h"
#include "sim/stack.h"
#include "tests/fakes/testing.h"

namespace xfsim::fakes {
namespace {

using Bench = testing::FakesBench;
using testing::Thing;

TEST(Kmem, UseAfterFreeNamesBothSidesAndTheTwinIsSilent) {
  for (bool free_first : {true, false}) {
    Bench b;
    Thing* thing = b.kmem.kzalloc<Thing>("thing", "t0");
    if (free_first) b.kmem.kfree(thing, "freer");
    b.kmem.check(thing, "user");
    EXPECT_EQ(b.verdict(), free_first ? "use-after-free" : "clean");
    if (free_first) {
      EXPECT_NE(b.scheduler.violations().front().detail.find("freer"), std::string::npos);
    }
  }
}

// A report as KASAN prints one: the access with its stack, where the object
// was allocated and freed (task and stack), and a signature made of them.
sim::Task<> allocate(Bench& b, Thing*& out) {
  XFSIM_KFUNC_AS(b.scheduler, "thing_create");
  co_await b.scheduler.point("thing_create");
  out = b.kmem.kzalloc<Thing>("thing", "t0");
}
sim::Task<> release(Bench& b, Thing* thing) {
  XFSIM_KFUNC_AS(b.scheduler, "thing_destroy");
  co_await b.scheduler.point("thing_destroy");
  b.kmem.kfree(thing, "thing_destroy");
}
sim::Task<> use(Bench& b, Thing* thing) {
  XFSIM_KFUNC_AS(b.scheduler, "thing_use");
  co_await b.scheduler.point("thing_use");
  b.kmem.check(thing, "thing_use", "write");
}
sim::Task<> lifecycle(Bench& b) {
  XFSIM_KFUNC_AS(b.scheduler, "thing_ioctl");
  Thing* thing = nullptr;
  co_await allocate(b, thing);
  co_await release(b, thing);
  co_await use(b, thing);
}

TEST(Kmem, UseAfterFreeReportCarriesAccessAllocationAndFreeStacks) {
  Bench b;
  b.scheduler.spawn("ioctl", sim::TaskKind::kUser, lifecycle(b));
  EXPECT_EQ(b.run(), "use-after-free");
  const sim::Violation& v = b.scheduler.violations().front();
  EXPECT_EQ(v.access, "write");
  EXPECT_EQ(v.object_type, "thing");
  EXPECT_EQ(v.where.frames, (std::vector<std::string>{"thing_use", "thing_ioctl"}));
  ASSERT_TRUE(v.allocated && v.freed);
  EXPECT_EQ(v.allocated->frames, (std::vector<std::string>{"thing_create", "thing_ioctl"}));
  EXPECT_EQ(v.freed->frames, (std::vector<std::string>{"thing_destroy", "thing_ioctl"}));
  EXPECT_EQ(v.freed->task, "ioctl");
  EXPECT_EQ(v.signature(), "use-after-free on thing between thing_destroy and thing_use alloc thing_create");
  const std::string report = v.report();
  for (const char* line : {"BUG: KASAN: use-after-free in thing_use", "Write of thing t0 by task ioctl (user)",
                           "Call Trace:\n thing_use\n thing_ioctl\n", "Allocated by task ioctl (user)",
                           "Freed by task ioctl (user)", " thing_destroy\n thing_ioctl\n"}) {
    EXPECT_NE(report.find(line), std::string::npos) << line << "\n" << report;
  }
}

TEST(Kmem, DoubleFreeFiresOnTheSecondFreeOnly) {
  for (int frees : {1, 2}) {
    Bench b;
    Thing* thing = b.kmem.kzalloc<Thing>("thing", "t0");
    for (int i = 0; i < frees; ++i) b.kmem.kfree(thing, "kfree");
    EXPECT_EQ(b.verdict(), frees == 2 ? "double-free" : "clean");
  }
}

TEST(Kmem, NullDereferenceIsReported) {
  for (bool null : {true, false}) {
    Bench b;
    Thing* thing = b.kmem.kzalloc<Thing>("thing", "t0");
    b.kmem.check(null ? nullptr : thing, "deref");
    EXPECT_EQ(b.verdict(), null ? "null-deref" : "clean");
  }
}

TEST(Kmem, DevmObjectsDieWithTheirDevice) {
  Bench b;
  Thing* owned = b.kmem.devm_kzalloc<Thing>(7, "thing", "devm");
  Thing* other = b.kmem.kzalloc<Thing>("thing", "plain");
  b.kmem.devres_release_all(7, "devres_release_all");
  EXPECT_FALSE(b.kmem.live(owned));
  EXPECT_TRUE(b.kmem.live(other));
  EXPECT_EQ(b.verdict(), "clean");
}

TEST(Kref, UnderflowFiresAndBalancedGetPutIsSilent) {
  for (int puts : {2, 3}) {
    Bench b;
    Kref ref;
    ref.get(b.scheduler, "get", "obj");
    bool released = false;
    for (int i = 0; i < puts; ++i) released |= ref.put(b.scheduler, "put", "obj");
    EXPECT_TRUE(released);
    EXPECT_EQ(b.verdict(), puts == 3 ? "refcount-underflow" : "clean");
  }
}

}  // namespace
}  // namespace xfsim::fakes
