#include "driver_core/variant.h"

namespace xfsim::driver {

namespace {

std::vector<Variant> make_variants() {
  std::vector<Variant> out;
  auto add = [&](const char* name, const char* summary, auto&& tweak) {
    Variant v;
    v.name = name;
    v.summary = summary;
    tweak(v);
    out.push_back(v);
  };
  add("correct", "upstream with every review point settled as the reviewer asked (default)", [](Variant&) {});
  add("upstream", "the driver as merged (Linux v5.10): be-alloc waits for DRM release, no fault handler",
      [](Variant& v) {
        v.be_alloc_initialising_in_release = true;
        v.mmap_inserts_all_pages = true;
        v.no_vma_unmap = true;
        v.release_uses_front_info = true;
        v.remove_switches_initialising = true;
        v.poll_only_error_signalling = true;
        v.frame_done_no_null_check = true;
        v.gem_free_uses_front_info = true;
        v.grant_end_without_page = true;
        v.no_enter_in_ioctls = true;
        v.no_hotplug_uevent = true;
        v.no_ring_full_check = true;
        v.drv_init_unwind_v5_10 = true;
        v.fb_published_before_attach = true;
        v.import_sg_table_leaks = true;
        v.evtchnl_free_all_by_num_evt_pairs = true;
        v.initialised_ignores_backend_close = true;
        v.backend_map_ignores_page_errors = true;
      });
  add("unref_before_use", "dumb create drops the GEM reference before its last use",
      [](Variant& v) { v.unref_before_use = true; });
  add("publish_before_construct", "handle published before the object is built (DBUF_CREATE)",
      [](Variant& v) { v.publish_before_construct = true; });
  add("switch_state_in_release", "xenbus Initialising in DRM release instead of unplug",
      [](Variant& v) { v.switch_state_in_release = true; });
  add("zombie_with_be_alloc", "be-alloc zombie tells the backend it is ready while still using its pages",
      [](Variant& v) { v.zombie_with_be_alloc = true; });
  add("no_sigbus_fault_handler", "the fault handler maps pages after unplug instead of SIGBUS",
      [](Variant& v) { v.no_sigbus_fault_handler = true; });
  add("no_vma_unmap", "no drm_vma_node_unmap at unplug: old PTEs outlive the backing storage",
      [](Variant& v) { v.no_vma_unmap = true; });
  add("no_teardown_mutex", "synchronous release of backing storage without the mutex against GEM free",
      [](Variant& v) { v.no_teardown_mutex = true; });
  add("timeout_in_detect", "frame-done timeout piggy-backed on connector detect (10 s poll)",
      [](Variant& v) { v.timeout_in_detect = true; });
  add("check_rejects_disconnected", "atomic check returns -EINVAL while the backend is disconnected",
      [](Variant& v) { v.check_rejects_disconnected = true; });
  add("mode_valid_on_connector", "mode_valid only on the connector: commits with any mode pass",
      [](Variant& v) { v.mode_valid_on_connector = true; });
  add("is_unplugged_check", "drm_dev_is_unplugged checks instead of drm_dev_enter/exit",
      [](Variant& v) { v.is_unplugged_check = true; });
  add("devm_driver_data", "drm_info freed with the xenbus device (devm) while the drm_device lives on",
      [](Variant& v) { v.devm_driver_data = true; });
  add("no_hotplug_uevent", "no hotplug uevent or link-status when the backend fails or goes away",
      [](Variant& v) { v.no_hotplug_uevent = true; });
  add("no_enter_in_ioctls", "dumb create and fb create talk to the backend outside drm_dev_enter/exit",
      [](Variant& v) { v.no_enter_in_ioctls = true; });
  return out;
}

}  // namespace

const std::vector<Variant>& all_variants() {
  static const std::vector<Variant> variants = make_variants();
  return variants;
}

const Variant* find_variant(const std::string& name) {
  for (const auto& v : all_variants()) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

}  // namespace xfsim::driver
