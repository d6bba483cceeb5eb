// PRIME (fakes/drm_prime.cc, fakes/dma_buf.cc) on a small stand-in driver,
// each function proven by a test that fails when it is broken; then the
// xen-front hooks and the scenario steps on the whole world.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "driver_core/variant.h"
#include "fakes/drm.h"
#include "fakes/kmem.h"
#include "fakes/page_frames.h"
#include "harness/scenario.h"
#include "harness/trace_file.h"
#include "harness/world.h"
#include "sim/random_strategy.h"
#include "sim/scheduler.h"
#include "tests/fakes/stub_drm_driver.h"

namespace xfsim::fakes {
namespace {

// A driver with plain shmem-like pages: what PRIME needs and nothing else.
// Its callbacks record the order they run in.
struct StubDriver final : testing::StubDrmDriver {
  Kmem& kmem;
  Memory& memory;
  std::vector<std::string> calls;
  StubDriver(Kmem& k, Memory& m) : kmem(k), memory(m) {}

  struct Object : drm_gem_object {
    std::vector<uint32_t> pages;
  };
  sim::Task<> release(drm_device& dev) override {
    calls.push_back("release " + dev.label);
    co_return;
  }
  sim::Task<> gem_free_object(drm_gem_object& obj) override {
    calls.push_back("free " + obj.label);
    auto& object = static_cast<Object&>(obj);
    if (obj.import_attach != nullptr) {
      co_await obj.dev->core->drm_prime_gem_destroy(obj);
    } else {
      for (uint32_t page : object.pages) memory.free_page(page, "stub_free");
    }
    kmem.kfree(&obj, "stub_free");
  }

  sim::Task<int> gem_prime_import_sg_table(drm_device& dev, dma_buf_attachment& attach,
                                           const std::vector<uint32_t>& sgt, drm_gem_object*& out) override {
    calls.push_back("import_sg_table " + attach.dmabuf->label);
    auto* obj = kmem.kzalloc<Object>("stub_object", "gem");
    dev.core->register_object(dev, obj, attach.dmabuf->size);
    obj->pages = sgt;
    out = obj;
    co_return 0;
  }
  int gem_prime_get_sg_table(drm_gem_object& obj, std::vector<uint32_t>& sgt) override {
    calls.push_back("get_sg_table " + obj.label);
    sgt = static_cast<Object&>(obj).pages;
    return 0;
  }
  bool gem_prime_vmap(drm_gem_object& obj, std::vector<uint32_t>& pages) override {
    calls.push_back("vmap " + obj.label);
    pages = static_cast<Object&>(obj).pages;
    return true;
  }
  void gem_prime_vunmap(drm_gem_object& obj) override { calls.push_back("vunmap " + obj.label); }
  sim::Task<int> gem_prime_mmap(drm_gem_object& obj, Vma& vma) override {
    calls.push_back("prime_mmap " + obj.label);
    obj.dev->core->drm_gem_mmap_obj(obj, vma);
    for (uint32_t i = 0; i < vma.ptes.size(); ++i) {
      obj.dev->core->vm_insert_page(vma, i, static_cast<Object&>(obj).pages[i]);
    }
    co_return 0;
  }
};

struct Bench {
  sim::RandomStrategy strategy{1};
  sim::Trace trace;
  sim::Scheduler scheduler{strategy, trace};
  Kmem kmem{scheduler};
  Memory memory{scheduler};
  DrmCore drm{scheduler, kmem, memory};
  StubDriver driver{kmem, memory};
  drm_device* dev = nullptr;

  Bench() { dev = drm.drm_dev_alloc(driver, 1, "card0"); }
  std::string verdict() const {
    return scheduler.has_violation() ? scheduler.violations().front().kind_name() : "clean";
  }
  // Runs `body` as one user task to its end.
  template <typename F>
  std::string run(F body) {
    scheduler.spawn("user", sim::TaskKind::kUser, body(*this));
    scheduler.run({});
    return verdict();
  }
  // A GEM object of `pages` pages with a handle on `file`.
  sim::Task<uint32_t> object_with_handle(drm_file& file, uint32_t pages) {
    auto* obj = kmem.kzalloc<StubDriver::Object>("stub_object", "gem");
    drm.register_object(*dev, obj, pages * 4096u);
    for (uint32_t i = 0; i < pages; ++i) obj->pages.push_back(memory.alloc_page(kFrontendDomid, "p"));
    uint32_t handle = 0;
    EXPECT_EQ(co_await drm.drm_gem_handle_create(file, *obj, handle), 0);
    co_await drm.drm_gem_object_put(*obj, "creation");  // the handle holds it now
    co_return handle;
  }
  bool has_call(const std::string& call) const {
    return std::find(driver.calls.begin(), driver.calls.end(), call) != driver.calls.end();
  }
  // What is still allocated but the device itself (whose driver reference
  // these tests keep).
  std::vector<std::string> leftovers() const {
    std::vector<std::string> live = kmem.live_objects();
    std::erase_if(live, [](const std::string& name) { return name.find("card0") != std::string::npos; });
    return live;
  }
  size_t index_of(const std::string& call) const {
    return static_cast<size_t>(std::find(driver.calls.begin(), driver.calls.end(), call) - driver.calls.begin());
  }
};

sim::Task<> register_device(Bench& b) { EXPECT_EQ(co_await b.drm.drm_dev_register(*b.dev), 0); }

// drm_gem_dmabuf_export takes a drm_device reference: with a dma-buf left
// and no file open, the driver's own put after unplug is not the last, and
// release runs at the dma-buf's release, after the GEM free. Without the
// export the same put releases the device at once.
TEST(DrmPrime, ExportPinsTheDeviceUntilTheDmaBufIsReleased) {
  for (bool exported : {true, false}) {
    Bench b;
    dma_buf* dmabuf = nullptr;
    const std::string verdict = b.run([&](Bench& bench) -> sim::Task<> {
      co_await register_device(bench);
      drm_file* file = co_await bench.drm.drm_open(bench.dev->minor, "compositor");
      const uint32_t handle = co_await bench.object_with_handle(*file, 2);
      if (exported) {
        EXPECT_EQ(co_await bench.drm.prime_handle_to_fd(*file, handle, dmabuf), 0);
      }
      co_await bench.drm.close(*file);  // handles, and the cache entry, go
      co_await bench.drm.drm_dev_unplug(*bench.dev);
      co_await bench.drm.drm_dev_put(*bench.dev, "driver");
      EXPECT_EQ(bench.has_call("release card0"), !exported);
      if (exported) {
        EXPECT_FALSE(bench.has_call("free gem0"));
        co_await bench.drm.dma_buf_put(*dmabuf, "close");
      }
    });
    EXPECT_EQ(verdict, "clean");
    ASSERT_TRUE(b.has_call("free gem0") && b.has_call("release card0"));
    EXPECT_LT(b.index_of("free gem0"), b.index_of("release card0"));
    EXPECT_TRUE(b.kmem.live_objects().empty()) << b.kmem.live_objects().front();
  }
}

// A second export of the same handle is the same dma-buf (the file's cache,
// then obj->dma_buf); importing it back on the same file gives the same
// handle, on another file a new handle to the same object (no attachment).
TEST(DrmPrime, ReExportAndSelfImportGiveTheSameBufferAndObject) {
  Bench b;
  const std::string verdict = b.run([&](Bench& bench) -> sim::Task<> {
    co_await register_device(bench);
    drm_file* file = co_await bench.drm.drm_open(bench.dev->minor, "compositor");
    drm_file* other = co_await bench.drm.drm_open(bench.dev->minor, "client");
    const uint32_t handle = co_await bench.object_with_handle(*file, 1);
    dma_buf* first = nullptr;
    dma_buf* second = nullptr;
    EXPECT_EQ(co_await bench.drm.prime_handle_to_fd(*file, handle, first), 0);
    EXPECT_EQ(co_await bench.drm.prime_handle_to_fd(*file, handle, second), 0);
    EXPECT_EQ(first, second);
    // two fds, the object's own reference, the file's cache entry
    EXPECT_EQ(first->f_count, 4u);
    uint32_t same = 0;
    EXPECT_EQ(co_await bench.drm.prime_fd_to_handle(*file, *first, same), 0);
    EXPECT_EQ(same, handle);
    uint32_t theirs = 0;
    EXPECT_EQ(co_await bench.drm.prime_fd_to_handle(*other, *first, theirs), 0);
    drm_gem_object* obj = co_await bench.drm.drm_gem_object_lookup(*other, theirs);
    EXPECT_EQ(obj, first->priv);
    EXPECT_EQ(obj->import_attach, nullptr);
    EXPECT_EQ(obj->handle_count, 2u);
    co_await bench.drm.drm_gem_object_put(*obj, "lookup");
    co_await bench.drm.dma_buf_put(*first, "close");
    co_await bench.drm.dma_buf_put(*second, "close");
    co_await bench.drm.close(*other);
    co_await bench.drm.close(*file);
  });
  EXPECT_EQ(verdict, "clean");
  EXPECT_FALSE(b.has_call("import_sg_table dmabuf0-gem0"));
  EXPECT_TRUE(b.has_call("free gem0"));
  EXPECT_EQ(b.leftovers(), std::vector<std::string>{});
}

// The object's reference to its dma-buf goes with its last handle
// (drm_gem_object_exported_dma_buf_free): with the fd closed first the
// dma-buf is released then, and the GEM object with it; while a handle is
// left, both live on.
TEST(DrmPrime, LastHandleDropsTheObjectsDmaBufReference) {
  for (bool close_handle : {true, false}) {
    Bench b;
    const std::string verdict = b.run([&](Bench& bench) -> sim::Task<> {
      co_await register_device(bench);
      drm_file* file = co_await bench.drm.drm_open(bench.dev->minor, "compositor");
      const uint32_t handle = co_await bench.object_with_handle(*file, 1);
      dma_buf* dmabuf = nullptr;
      EXPECT_EQ(co_await bench.drm.prime_handle_to_fd(*file, handle, dmabuf), 0);
      co_await bench.drm.dma_buf_put(*dmabuf, "close");
      EXPECT_TRUE(bench.kmem.live(dmabuf));
      if (close_handle) {
        EXPECT_EQ(co_await bench.drm.gem_close(*file, handle), 0);
      }
      EXPECT_EQ(bench.kmem.live(dmabuf), !close_handle);
      EXPECT_EQ(bench.has_call("free gem0"), close_handle);
    });
    EXPECT_EQ(verdict, "clean");
  }
}

// A foreign dma-buf goes through gem_prime_import_sg_table with the
// exporter's pages; the imported object's free drops its attachment and
// reference (drm_prime_gem_destroy), and the heap's pages go at its release.
TEST(DrmPrime, ForeignImportGoesThroughImportSgTableAndFreeDropsTheAttachment) {
  Bench b;
  std::vector<uint32_t> heap_pages;
  const std::string verdict = b.run([&](Bench& bench) -> sim::Task<> {
    co_await register_device(bench);
    drm_file* file = co_await bench.drm.drm_open(bench.dev->minor, "compositor");
    dma_buf* heap = co_await bench.drm.dma_heap_alloc(8192, "h");
    heap_pages = heap->pages;
    uint32_t handle = 0;
    EXPECT_EQ(co_await bench.drm.prime_fd_to_handle(*file, *heap, handle), 0);
    drm_gem_object* obj = co_await bench.drm.drm_gem_object_lookup(*file, handle);
    EXPECT_NE(obj->import_attach, nullptr);
    EXPECT_EQ(static_cast<StubDriver::Object*>(obj)->pages, heap->pages);
    EXPECT_EQ(heap->attachments, 1u);
    co_await bench.drm.drm_gem_object_put(*obj, "lookup");
    co_await bench.drm.dma_buf_put(*heap, "close");
    EXPECT_TRUE(bench.kmem.live(heap));  // the import holds it
    co_await bench.drm.close(*file);
  });
  EXPECT_EQ(verdict, "clean");
  EXPECT_TRUE(b.has_call("import_sg_table heap-h"));
  EXPECT_EQ(b.leftovers(), std::vector<std::string>{});
  for (uint32_t page : heap_pages) EXPECT_TRUE(b.memory.frame(page).freed);
}

// An importer's vmap goes through gem_prime_vmap and its map_attachment
// through gem_prime_get_sg_table; a read through a vmap whose page is gone
// is access-after-free, through a live one nothing.
TEST(DrmPrime, ImporterVmapReadsThroughTheExportersHooks) {
  for (bool free_page : {true, false}) {
    Bench b;
    const std::string verdict = b.run([&](Bench& bench) -> sim::Task<> {
      co_await register_device(bench);
      drm_file* file = co_await bench.drm.drm_open(bench.dev->minor, "compositor");
      const uint32_t handle = co_await bench.object_with_handle(*file, 2);
      dma_buf* dmabuf = nullptr;
      EXPECT_EQ(co_await bench.drm.prime_handle_to_fd(*file, handle, dmabuf), 0);
      dma_buf_attachment* attach = bench.drm.dma_buf_attach(*dmabuf, "importer");
      EXPECT_EQ(bench.drm.dma_buf_map_attachment(*attach), 0);
      DmaBufVmap map;
      EXPECT_EQ(bench.drm.dma_buf_vmap(*dmabuf, map), 0);
      EXPECT_EQ(map.pages.size(), 2u);
      if (free_page) bench.memory.free_page(map.pages[1], "planted");
      co_await bench.drm.dma_buf_vmap_read(map, 1);
    });
    EXPECT_EQ(verdict, free_page ? "access-after-free" : "clean");
    EXPECT_TRUE(b.has_call("vmap gem0"));
    EXPECT_TRUE(b.has_call("get_sg_table gem0"));
  }
}

// mmap of the dma-buf: gem_prime_mmap, a vma holding a GEM reference and the
// dma-buf file, both dropped at munmap.
TEST(DrmPrime, DmaBufMmapHoldsTheObjectAndTheBufferUntilMunmap) {
  Bench b;
  const std::string verdict = b.run([&](Bench& bench) -> sim::Task<> {
    co_await register_device(bench);
    drm_file* file = co_await bench.drm.drm_open(bench.dev->minor, "compositor");
    const uint32_t handle = co_await bench.object_with_handle(*file, 1);
    dma_buf* dmabuf = nullptr;
    EXPECT_EQ(co_await bench.drm.prime_handle_to_fd(*file, handle, dmabuf), 0);
    Vma* vma = nullptr;
    EXPECT_EQ(co_await bench.drm.dma_buf_mmap(*dmabuf, vma), 0);
    co_await bench.drm.dma_buf_put(*dmabuf, "close");
    co_await bench.drm.close(*file);
    EXPECT_TRUE(bench.kmem.live(dmabuf));
    EXPECT_FALSE(bench.has_call("free gem0"));
    EXPECT_EQ(co_await bench.drm.touch(*vma, 0), 0);
    EXPECT_EQ(co_await bench.drm.munmap(*vma), 0);
    EXPECT_FALSE(bench.kmem.live(dmabuf));
  });
  EXPECT_EQ(verdict, "clean");
  EXPECT_TRUE(b.has_call("prime_mmap gem0"));
  EXPECT_TRUE(b.has_call("free gem0"));
  EXPECT_EQ(b.leftovers(), std::vector<std::string>{});
}

// drm_prime_destroy_file_private warns when a file is freed with entries
// left in its cache (drm_gem_release should have emptied it).
TEST(DrmPrime, FileFreedWithACachedDmaBufWarns) {
  for (bool planted : {true, false}) {
    Bench b;
    const std::string verdict = b.run([&](Bench& bench) -> sim::Task<> {
      co_await register_device(bench);
      drm_file* file = co_await bench.drm.drm_open(bench.dev->minor, "compositor");
      dma_buf* heap = co_await bench.drm.dma_heap_alloc(4096, "h");
      if (planted) file->prime.push_back(drm_prime_member{heap, 7});
      co_await bench.drm.close(*file);
    });
    EXPECT_EQ(verdict, planted ? "warning" : "clean");
  }
}

}  // namespace
}  // namespace xfsim::fakes

namespace xfsim::harness {
namespace {

RunResult run_scenario(const Scenario& s, const char* variant, uint64_t seed, std::string* trace_text = nullptr) {
  sim::RandomStrategy strategy(seed);
  strategy.begin_schedule(0);
  sim::Trace trace;
  const RunResult result = run_once(s, *driver::find_variant(variant), strategy, trace);
  if (trace_text) *trace_text = render_trace(s, TraceOrigin{variant, "random", seed, 0}, trace, result);
  return result;
}

// The dma-buf that outlives remove: under upstream its close frees the GEM
// object, whose unplugged free reaches front_info (devm, freed by remove)
// through drm_info; under correct nothing is reached.
TEST(XenFrontPrime, DmaBufClosedAfterRemoveReachesFreedFrontInfoUpstreamOnly) {
  const Scenario s = load_scenario("scenarios/lifecycle/prime_outlives_remove.json");
  const RunResult upstream = run_scenario(s, "upstream", 1);
  ASSERT_NE(upstream.first(), nullptr);
  EXPECT_EQ(upstream.first()->signature(),
            "use-after-free on xen_drm_front_info between xen_drm_drv_free_object_unlocked and xen_drv_remove alloc "
            "xen_drv_probe");
  EXPECT_EQ(upstream.first()->task, "client");  // the process that never opened the card
  EXPECT_EQ(run_scenario(s, "correct", 1).verdict(), "clean");
}

// FP-6: with be-alloc, release (and v5.10's switch to Initialising in it)
// runs at the dma-buf's close, by the client, after fini's dbuf_free_all.
TEST(XenFrontPrime, BeAllocReleaseWaitsForTheDmaBufNotFinisPut) {
  const Scenario s = load_scenario("scenarios/lifecycle/prime_be_alloc_disconnect.json");
  std::string trace;
  EXPECT_EQ(run_scenario(s, "upstream", 1, &trace).verdict(), "clean");
  EXPECT_NE(
      trace.find("\"log\":\"xenbus: device/vdispl/0 frontend Reconfiguring -> Initialising\",\"task\":\"client\""),
      std::string::npos)
      << trace;
}

// gem_prime_import_sg_table: DBUF_CREATE over the heap's pages; a refused
// one leaks the object under upstream (v5.10 never puts it), not under correct.
TEST(XenFrontPrime, ImportSgTableSendsDbufCreateAndARefusalLeaksUpstreamOnly) {
  const Scenario share = load_scenario("scenarios/lifecycle/prime_share.json");
  std::string trace;
  EXPECT_EQ(run_scenario(share, "correct", 3, &trace).verdict(), "clean");
  EXPECT_NE(trace.find("[drm] Imported buffer of size 16384 with nents 4"), std::string::npos);
  EXPECT_EQ(trace.find(" -> -"), std::string::npos) << "a step failed:\n" << trace;
  const Scenario refused = load_scenario("scenarios/bugs/import_sg_table_leaks.json");
  const RunResult upstream = run_scenario(refused, "upstream", 1);
  ASSERT_NE(upstream.find("leak in end of run (xen_gem_object)"), nullptr);
  EXPECT_EQ(run_scenario(refused, "correct", 1).verdict(), "clean");
}

// The new steps are checked like the old: what each needs, a receiver that
// is a process, no unknown field.
TEST(ScenarioPrime, StepsAreValidatedWithTheirPlace) {
  const auto parse_steps = [](const std::string& steps, const std::string& extra_actor = "") {
    const std::string text = R"({"format": "xfsim-scenario/0", "name": "t", "actors": [{"name": "a", "steps": [)" +
                             steps + "]}" + extra_actor + R"(], "expect": {"verdict": "clean"}})";
    return parse_scenario(nlohmann::json::parse(text), "t.json");
  };
  const auto error_of = [&](const std::string& steps, const std::string& extra_actor = "") -> std::string {
    try {
      parse_steps(steps, extra_actor);
    } catch (const ScenarioError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of(R"({"op": "prime_export", "buffer": "b"})"),
            "t.json: at /actors/0/steps/0: op 'prime_export' needs \"buffer\" and \"as\"");
  EXPECT_EQ(error_of(R"({"op": "prime_import", "as": "b"})"),
            "t.json: at /actors/0/steps/0: op 'prime_import' needs \"dmabuf\" and \"as\"");
  EXPECT_EQ(error_of(R"({"op": "dmabuf_close"})"), "t.json: at /actors/0/steps/0: op 'dmabuf_close' needs \"dmabuf\"");
  EXPECT_EQ(error_of(R"({"op": "dmabuf_pass", "dmabuf": "d", "to": "nobody"})"),
            "t.json: at /actors/0/steps/0/to: no process named 'nobody' (an actor that is not a thread_of another)");
  EXPECT_EQ(error_of(R"({"op": "dmabuf_pass", "dmabuf": "d", "to": "t2"})",
                     R"(, {"name": "t2", "thread_of": "a", "steps": []})"),
            "t.json: at /actors/0/steps/0/to: no process named 't2' (an actor that is not a thread_of another)");
  EXPECT_NE(error_of(R"({"op": "dmabuf_close", "dmabuf": "d", "fd": 3})").find("/actors/0/steps/0"), std::string::npos);
  EXPECT_NE(error_of(R"({"op": "dmabuf_close", "dmabuf": ""})"), "");
  const Scenario ok = parse_steps(R"({"op": "dmabuf_pass", "dmabuf": "d", "to": "b"})",
                                  R"(, {"name": "b", "steps": [{"op": "dmabuf_recv", "as": "d"}]})");
  EXPECT_EQ(ok.actors[0].steps[0].kind, UserOp::kDmabufPass);
  EXPECT_EQ(ok.actors[0].steps[0].to, "b");
  EXPECT_EQ(ok.actors[1].steps[0].kind, UserOp::kDmabufRecv);
}

}  // namespace
}  // namespace xfsim::harness
