// The DRM core and grant table in versions (fakes/core_config.h): which
// switches a version has, and each switch's behaviour against its 5.10 twin.
// drm_dev_unplug_unmaps (b9d4efa8f9a2, v5.14): unplug zaps every CPU mapping
// made through the device's files. gnttab_deferred_end_holds_page
// (42baefac638f, XSA-396, v5.17): a deferred grant end given no page holds the
// granted page itself, so its owner's free is no longer free-of-granted-page.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "fakes/core_config.h"
#include "fakes/drm.h"
#include "fakes/grant_table.h"
#include "fakes/page_frames.h"
#include "tests/fakes/stub_drm_driver.h"
#include "tests/fakes/testing.h"

namespace xfsim::fakes {
namespace {

TEST(CoreConfig, AVersionHasTheSwitchesOfEveryCommitItContains) {
  const CoreConfig v5_10 = CoreConfig::for_version(5, 10);
  EXPECT_FALSE(v5_10.drm_dev_unplug_unmaps);
  EXPECT_FALSE(v5_10.gnttab_deferred_end_holds_page);
  const CoreConfig v5_13 = CoreConfig::for_version(5, 13);
  EXPECT_FALSE(v5_13.drm_dev_unplug_unmaps);
  const CoreConfig v5_14 = CoreConfig::for_version(5, 14);
  EXPECT_TRUE(v5_14.drm_dev_unplug_unmaps);
  EXPECT_FALSE(v5_14.gnttab_deferred_end_holds_page);
  const CoreConfig v5_17 = CoreConfig::for_version(5, 17);
  EXPECT_TRUE(v5_17.drm_dev_unplug_unmaps);
  EXPECT_TRUE(v5_17.gnttab_deferred_end_holds_page);
  const CoreConfig v6_1 = CoreConfig::for_version(6, 1);
  EXPECT_TRUE(v6_1.drm_dev_unplug_unmaps && v6_1.gnttab_deferred_end_holds_page);
  const CoreConfig v4_19 = CoreConfig::for_version(4, 19);
  EXPECT_FALSE(v4_19.drm_dev_unplug_unmaps || v4_19.gnttab_deferred_end_holds_page);
  // The default is 5.10's.
  const CoreConfig fallback;
  EXPECT_EQ(fallback.drm_dev_unplug_unmaps, v5_10.drm_dev_unplug_unmaps);
  EXPECT_EQ(fallback.gnttab_deferred_end_holds_page, v5_10.gnttab_deferred_end_holds_page);
}

// xen_front_pgdir_shbuf_free ends a grant the backend still maps with page 0,
// then drm_gem_put_pages frees the page. Before XSA-396 that frees it under
// the backend's mapping (free-of-granted-page); after, the deferred entry
// holds its own reference, the owner's put leaves the page alive, and the
// backend's unmap frees it, once.
TEST(GrantTableXsa396, ADeferredEndWithoutPageHoldsTheGrantedPage) {
  for (bool xsa396 : {false, true}) {
    testing::FakesBench b;
    b.gnttab.set_deferred_end_holds_page(xsa396);
    const uint32_t page = b.memory.alloc_page(kFrontendDomid, "gem.0");
    const grant_ref_t gref = b.gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, page, false);
    ASSERT_EQ(b.gnttab.map(gref, kBackendDomid, "map"), page);
    b.gnttab.end_foreign_access(gref, "xen_front_pgdir_shbuf_free");
    b.memory.free_page(page, "drm_gem_put_pages");
    EXPECT_EQ(b.verdict(), xsa396 ? "clean" : "free-of-granted-page");
    EXPECT_EQ(b.memory.frame(page).freed, !xsa396);
    b.gnttab.unmap(gref, kBackendDomid, "displ_be_unmap");
    EXPECT_TRUE(b.memory.frame(page).freed);
    EXPECT_FALSE(b.gnttab.active(gref));
    EXPECT_EQ(b.verdict(), xsa396 ? "clean" : "free-of-granted-page");  // no double free either
  }
}

// An end that succeeds at once takes no reference in either version: the
// owner's put frees the page there and then.
TEST(GrantTableXsa396, AnUnmappedGrantEndsWithoutTakingThePage) {
  for (bool xsa396 : {false, true}) {
    testing::FakesBench b;
    b.gnttab.set_deferred_end_holds_page(xsa396);
    const uint32_t page = b.memory.alloc_page(kFrontendDomid, "gem.0");
    const grant_ref_t gref = b.gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, page, false);
    b.gnttab.end_foreign_access(gref, "xen_front_pgdir_shbuf_free");
    EXPECT_FALSE(b.gnttab.active(gref));
    b.memory.free_page(page, "drm_gem_put_pages");
    EXPECT_TRUE(b.memory.frame(page).freed);
    EXPECT_EQ(b.verdict(), "clean");
  }
}

// A driver whose mmap inserts every page up front and that has no .fault, as
// xen-front's: a zapped PTE is SIGBUS from then on.
struct MapAllDriver final : testing::StubDrmDriver {
  Kmem& kmem;
  Memory& memory;
  MapAllDriver(Kmem& k, Memory& m) : kmem(k), memory(m) {}
  struct Object : drm_gem_object {
    std::vector<uint32_t> pages;
  };
  sim::Task<> release(drm_device&) override { co_return; }
  sim::Task<> gem_free_object(drm_gem_object& obj) override {
    for (uint32_t page : static_cast<Object&>(obj).pages) memory.free_page(page, "stub_free");
    kmem.kfree(&obj, "stub_free");
    co_return;
  }
  sim::Task<int> gem_mmap(drm_gem_object& obj, Vma& vma) override {
    for (uint32_t i = 0; i < vma.ptes.size(); ++i)
      obj.dev->core->vm_insert_page(vma, i, static_cast<Object&>(obj).pages[i]);
    co_return 0;
  }
};

struct DrmBench : testing::FakesBench {
  DrmCore drm{scheduler, kmem, memory};
  MapAllDriver driver{kmem, memory};
  drm_device* dev = drm.drm_dev_alloc(driver, 1, "card0");
  int touch_result = 0;
  std::vector<uint32_t> ptes_after_unplug;
};

// A mapping made through the device's file, then drm_dev_unplug, then a
// touch. On 5.10 the PTEs survive unplug and the touch reads the page; since
// v5.14 unplug zapped them, and with no .fault the touch is SIGBUS.
sim::Task<> map_unplug_touch(DrmBench& b) {
  EXPECT_EQ(co_await b.drm.drm_dev_register(*b.dev), 0);
  drm_file* file = co_await b.drm.drm_open(b.dev->minor, "compositor");
  auto* obj = b.kmem.kzalloc<MapAllDriver::Object>("stub_object", "gem");
  b.drm.register_object(*b.dev, obj, 2 * 4096u);
  for (int i = 0; i < 2; ++i) obj->pages.push_back(b.memory.alloc_page(kFrontendDomid, "p"));
  uint32_t handle = 0;
  EXPECT_EQ(co_await b.drm.drm_gem_handle_create(*file, *obj, handle), 0);
  co_await b.drm.drm_gem_object_put(*obj, "creation");
  Vma* vma = nullptr;
  EXPECT_EQ(co_await b.drm.gem_mmap(*file, handle, vma), 0);
  EXPECT_EQ(co_await b.drm.touch(*vma, 1), 0);
  co_await b.drm.drm_dev_unplug(*b.dev);
  b.ptes_after_unplug = vma->ptes;
  b.touch_result = co_await b.drm.touch(*vma, 1);
  co_await b.drm.munmap(*vma);
  co_await b.drm.close(*file);
}

TEST(DrmDevUnplugUnmaps, UnplugZapsTheDevicesMappingsOnlySinceV5_14) {
  for (bool unmaps : {false, true}) {
    DrmBench b;
    CoreConfig config;
    config.drm_dev_unplug_unmaps = unmaps;
    b.drm.set_core_config(config);
    b.scheduler.spawn("user", sim::TaskKind::kUser, map_unplug_touch(b));
    b.scheduler.run({});
    ASSERT_EQ(b.ptes_after_unplug.size(), 2u);
    for (uint32_t pte : b.ptes_after_unplug) EXPECT_EQ(pte == kNoPage, unmaps);
    EXPECT_EQ(b.touch_result, unmaps ? -1 : 0);  // -1: SIGBUS
    EXPECT_EQ(b.verdict(), "clean");
  }
}

}  // namespace
}  // namespace xfsim::fakes
