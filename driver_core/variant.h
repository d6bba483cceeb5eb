// Variant: which form of the driver runs. `correct` is upstream with every
// point of the 2018 review settled as the reviewer asked; `upstream` is the
// driver as merged (Linux v5.10, drivers/gpu/drm/xen/); each bug-zoo variant is
// `correct` with one bug of the v3 patch put back.
#pragma once

#include <string>
#include <vector>

namespace xfsim::driver {

struct Variant {
  std::string name = "correct";
  std::string summary;

  // ---- bug zoo (each from the review in shared/seed/) ----
  bool unref_before_use = false;            // drop the lookup ref before the last use
  bool publish_before_construct = false;    // drm_gem_handle_create before DBUF_CREATE
  bool switch_state_in_release = false;     // xenbus Initialising in DRM release
  bool zombie_with_be_alloc = false;        // Initialising at unplug, backend pages freed at release
  bool no_sigbus_fault_handler = false;     // fault handler maps pages after unplug
  bool no_vma_unmap = false;                // no drm_vma_node_unmap at unplug
  bool no_teardown_mutex = false;           // sync release of storage races GEM free
  bool timeout_in_detect = false;           // frame-done timeout checked in connector detect
  bool check_rejects_disconnected = false;  // atomic check -EINVAL while disconnected
  bool mode_valid_on_connector = false;     // mode_valid only on the connector
  bool is_unplugged_check = false;          // drm_dev_is_unplugged instead of enter/exit
  bool devm_driver_data = false;            // drm_info devm-allocated on the xenbus device
  bool no_hotplug_uevent = false;           // no uevent / link-status when the backend fails
  bool no_enter_in_ioctls = false;          // dumb_create / fb_create talk to the backend unguarded

  // ---- how upstream differs from correct ----
  bool be_alloc_initialising_in_release = false;  // "wait for release" for be-alloc
  bool mmap_inserts_all_pages = false;            // vm_map_pages at mmap, no fault handler
  bool release_uses_front_info = false;           // release reads front_info->cfg (devm)
  bool remove_switches_initialising = false;      // fini from remove writes Initialising
  bool poll_only_error_signalling = false;        // failures only seen by the 10 s poll
  bool frame_done_no_null_check = false;          // on_frame_done uses front_info->drm_info unchecked
  bool gem_free_uses_front_info = false;          // unplugged GEM free walks front_info->dbuf_list
  // be_prepare_req takes RING_GET_REQUEST at req_prod_pvt with no RING_FULL
  // check: once 32 requests went unanswered (timed out against a dead or
  // hung backend), the next overwrites one (ring-overflow). correct checks.
  bool no_ring_full_check = false;
  // Ending a grant the backend still maps is reported (a stand-in for the
  // pre-XSA-396 hazard of the page being freed under the backend).
  bool immediate_grant_end = false;
  // xen_drm_front_gem_import_sg_table returns the error of a failed
  // DBUF_CREATE without putting the object it created: it leaks.
  bool import_sg_table_leaks = false;
};

// Every variant, `correct` and `upstream` first. Order is the listing order.
const std::vector<Variant>& all_variants();
const Variant* find_variant(const std::string& name);

}  // namespace xfsim::driver
