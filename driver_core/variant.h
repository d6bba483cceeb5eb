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
  // xen_front_pgdir_shbuf_free ends the buffer's grants with page 0 and frees
  // what they grant regardless: kfree(buf->directory) at once, the GEM pages
  // in drm_gem_put_pages later. If the backend still maps a grant, 5.10 only
  // defers its end, and the page is freed under the backend's mapping
  // (free-of-granted-page; fidelity review FN-4). correct hands the page to
  // gnttab_end_foreign_access (get_page first) so the last put comes with
  // the grant's release.
  bool grant_end_without_page = false;
  // xen_drm_drv_init's error path as in v5.10 (before 52762efa2b25, "gpu/xen:
  // Fix a use after free in xen_drm_drv_init", 5.12): a drm_dev_alloc failure
  // frees drm_info and leaves front_info->drm_info pointing at it; a later
  // failure frees it in drm_dev_put's release and again at `fail`.
  bool drv_init_unwind_v5_10 = false;
  // fb_create publishes the fb id (drm_framebuffer_init) before FB_ATTACH,
  // and its error path frees the fb ignoring references a lookup took.
  bool fb_published_before_attach = false;
  // xen_drm_front_gem_import_sg_table returns the error of a failed
  // DBUF_CREATE without putting the object it created: it leaks.
  bool import_sg_table_leaks = false;
  // xen_drm_front_evtchnl_free_all walks num_evt_pairs, which a failed
  // create_all never set: the channels it built leak (grant, page, port,
  // IRQ handler bound to the freed array).
  bool evtchnl_free_all_by_num_evt_pairs = false;
  // The backend closes while the frontend is Initialised (channels published,
  // Connected not yet handled): displback_disconnect returns (no drm_info),
  // the frontend stays Initialised, and a backend that waits for it to say
  // Initialising (libxenbe) never starts over: a hang.
  bool initialised_ignores_backend_close = false;
  // xen_front_pgdir_shbuf's backend_map (be-alloc) before XSA-361 (Jan
  // Beulich, "xen-front-pgdir-shbuf: don't record wrong grant handle upon
  // error", 2021): a per-page map failure is only logged ("Failed to map page
  // %d: %d"), gnttab_map_refs' 0 is returned, and the buffer is used with
  // holes where the backend's pages should be. correct fails with -ENXIO and
  // unmaps what it mapped.
  bool backend_map_ignores_page_errors = false;
};

// Every variant, `correct` and `upstream` first. Order is the listing order.
const std::vector<Variant>& all_variants();
const Variant* find_variant(const std::string& name);

}  // namespace xfsim::driver
