// The xen-front driver (drivers/gpu/drm/xen/), modelled function by function.
// Every model function is named after the kernel function it stands for, so
// this file reads next to xen_drm_front.c, _evtchnl.c, _gem.c and _kms.c.
// The Variant selects upstream, correct, or one bug of the bug zoo.
#pragma once

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "driver_core/variant.h"
#include "fakes/displif.h"
#include "fakes/drm.h"
#include "fakes/events.h"
#include "fakes/grant_table.h"
#include "fakes/kmem.h"
#include "fakes/page_frames.h"
#include "fakes/xenstore.h"
#include "sim/completion.h"
#include "sim/fault.h"
#include "sim/lock.h"
#include "sim/scheduler.h"
#include "sim/wait_queue.h"
#include "sim/workqueue.h"

namespace xfsim::driver {

using namespace xfsim::fakes;

inline constexpr int64_t XEN_DRM_FRONT_WAIT_BACK_MS = 3000;
inline constexpr int64_t FRAME_DONE_TO_MS = XEN_DRM_FRONT_WAIT_BACK_MS + 100;
inline constexpr uint32_t XEN_DRM_FRONT_MAX_CRTCS = 4;
inline constexpr uint32_t GENERIC_OP_EVT_CHNL = 0;

// The driver's fallible calls (sim/fault.h), "<call>@<caller>", listed by
// `xfsim sites`. Each is asked where the kernel's call can fail, and the
// caller unwinds as the variant's version of it does.
inline constexpr sim::FaultSite kFaultDrmInfoAlloc{"kzalloc@xen_drm_drv_init", "allocating drm_info", -ENOMEM};
inline constexpr sim::FaultSite kFaultDrmDevAlloc{"drm_dev_alloc@xen_drm_drv_init", "allocating the drm_device",
                                                  -ENOMEM};
inline constexpr sim::FaultSite kFaultDrmDevRegister{"drm_dev_register@xen_drm_drv_init",
                                                     "registering the drm_device (its minors)", -ENOMEM};
inline constexpr sim::FaultSite kFaultGemObjectAlloc{"kzalloc@xen_drm_front_gem_create",
                                                     "allocating a dumb buffer's GEM object", -ENOMEM};
inline constexpr sim::FaultSite kFaultGemHandleCreate{"drm_gem_handle_create@xen_drm_drv_dumb_create",
                                                      "publishing a dumb buffer's handle (idr_alloc)", -ENOMEM};
// xen_drm_front_evtchnl.c: the channel array and each channel's page, grant,
// port and IRQ (evtchnl_alloc), in the order the kernel makes the calls.
inline constexpr sim::FaultSite kFaultEvtPairsAlloc{"kcalloc@xen_drm_front_evtchnl_create_all",
                                                    "allocating the event channel pairs", -ENOMEM};
inline constexpr sim::FaultSite kFaultEvtchnlPage{"get_zeroed_page@evtchnl_alloc", "allocating a ring or event page",
                                                  -ENOMEM};
inline constexpr sim::FaultSite kFaultEvtchnlGrantRing{"xenbus_grant_ring@evtchnl_alloc",
                                                       "granting the backend a request ring", -ENOSPC};
inline constexpr sim::FaultSite kFaultEvtchnlGrantPage{"gnttab_grant_foreign_access@evtchnl_alloc",
                                                       "granting the backend an event page", -ENOSPC};
inline constexpr sim::FaultSite kFaultEvtchnlAllocPort{"xenbus_alloc_evtchn@evtchnl_alloc",
                                                       "allocating an unbound event channel", -ENOSPC};
inline constexpr sim::FaultSite kFaultEvtchnlBindIrq{"bind_evtchn_to_irqhandler@evtchnl_alloc",
                                                     "binding the port to an IRQ handler", -ENOMEM};
inline constexpr const sim::FaultSite* kDriverFaultSites[] = {
    &kFaultDrmInfoAlloc,     &kFaultDrmDevAlloc,      &kFaultDrmDevRegister, &kFaultGemObjectAlloc,
    &kFaultGemHandleCreate,  &kFaultEvtPairsAlloc,    &kFaultEvtchnlPage,    &kFaultEvtchnlGrantRing,
    &kFaultEvtchnlGrantPage, &kFaultEvtchnlAllocPort, &kFaultEvtchnlBindIrq};

// xen_drm_front_dbuf_to_cookie / xen_drm_front_fb_to_cookie: the kernel sends
// the object's address; xfsim its allocation id, as unique and, unlike an
// address, the same in every run.
inline uint64_t xen_drm_front_dbuf_to_cookie(const drm_gem_object& obj) { return 0x1000ULL + obj.kmem_id; }
inline uint64_t xen_drm_front_fb_to_cookie(const drm_framebuffer& fb) { return 0x100000ULL + fb.kmem_id; }

enum class EvtchnlState { DISCONNECTED, CONNECTED };
enum class EvtchnlType { REQ, EVT };

// struct xen_drm_front_evtchnl
struct xen_drm_front_evtchnl {
  uint32_t index = 0;
  EvtchnlType type = EvtchnlType::REQ;
  EvtchnlState state = EvtchnlState::DISCONNECTED;
  grant_ref_t gref = 0;
  evtchn_port_t port = 0;
  int irq = -1;
  uint32_t page = kNoPage;
  uint16_t evt_id = 0;
  uint16_t evt_next_id = 0;
  DisplifRing* ring = nullptr;                  // REQ
  DisplifEventPage* event_page = nullptr;       // EVT
  std::unique_ptr<sim::Completion> completion;  // REQ
  std::unique_ptr<sim::Mutex> req_io_lock;      // REQ
  int resp_status = 0;
  // evtchnl_free ends with memset(evtchnl, 0): the live completion (and
  // req_io_lock) zeroed under whoever still uses them. The model's objects
  // live on; this says their memory reads as zero now.
  bool zeroed = false;
};

struct xen_drm_front_evtchnl_pair {
  xen_drm_front_evtchnl req;
  xen_drm_front_evtchnl evt;
};

// kcalloc'd array of pairs: one tracked allocation, as in the kernel.
struct EvtPairs : KObject {
  std::vector<xen_drm_front_evtchnl_pair> pairs;
};

struct xen_drm_front_cfg_connector {
  uint32_t width = 0, height = 0;
};

struct xen_drm_front_drm_info;

// struct xen_drm_front_info: devm-allocated at probe.
struct xen_drm_front_info : KObject {
  XenbusDevice* xb_dev = nullptr;
  xen_drm_front_drm_info* drm_info = nullptr;
  std::unique_ptr<sim::SpinLock> io_lock;
  EvtPairs* evt_pairs = nullptr;
  uint32_t num_evt_pairs = 0;
  std::vector<xen_drm_front_cfg_connector> connectors;
  bool be_alloc = false;
  std::vector<struct xen_drm_front_dbuf*> dbuf_list;
};

// struct xen_drm_front_dbuf with its shared buffer (xen_front_pgdir_shbuf).
struct xen_drm_front_dbuf : KObject {
  uint64_t dbuf_cookie = 0;
  uint64_t fb_cookie = 0;
  DisplifPageDirectory* directory = nullptr;
  uint32_t directory_page = kNoPage;
  grant_ref_t directory_gref = 0;
  std::vector<grant_ref_t> grefs;       // !be_alloc: our pages granted
  std::vector<uint32_t> pages;          // !be_alloc: the pages grefs grant (buf->pages)
  std::vector<uint32_t> backend_grefs;  // be_alloc: the backend's, mapped into our pages
  std::vector<uint32_t> mapped_pages;   // be_alloc: our ballooned pages now mapped
};

// struct xen_drm_front_drm_pipeline
struct xen_drm_front_drm_pipeline {
  uint32_t index = 0;
  uint32_t width = 0, height = 0;
  drm_pending_vblank_event* pending_event = nullptr;
  bool conn_connected = true;
  std::unique_ptr<sim::DelayedWork> pflip_to_worker;  // the frame-done watchdog
  uint64_t pflip_timeout = 0;                         // timeout_in_detect: jiffies of the deadline, 0 when idle
};

// struct xen_drm_front_drm_info: the drm_device's dev_private.
struct xen_drm_front_drm_info : KObject {
  xen_drm_front_info* front_info = nullptr;
  drm_device* drm_dev = nullptr;
  std::vector<xen_drm_front_drm_pipeline> pipeline;
  // correct: the mutex Daniel asked for against the GEM free callback, and
  // the fact that backing storage was released at unplug.
  std::unique_ptr<sim::Mutex> teardown_lock;
  bool storage_released = false;
};

// struct xen_gem_object
struct xen_gem_object : drm_gem_object {
  bool be_alloc = false;
  std::vector<uint32_t> pages;  // shmem pages, or ballooned pages (be_alloc)
};

struct Machine {
  sim::Scheduler& scheduler;
  Kmem& kmem;
  Memory& memory;
  XenStore& store;
  Xenbus& xenbus;
  GrantTable& gnttab;
  EventChannels& evtchn;
  SharedPages& shared;
  DrmCore& drm;
};

class XenDrmFront final : public DrmDriver {
 public:
  XenDrmFront(Machine machine, Variant variant);

  // ---- xenbus driver (xen_drm_front.c) ----
  sim::Task<int> xen_drv_probe(XenbusDevice& dev);
  sim::Task<> xenbus_otherend_changed(XenbusDevice& dev);  // the B/state watch
  sim::Task<> displback_changed(XenbusState backend_state);
  sim::Task<> xen_drv_remove();
  xen_drm_front_info* front_info() const { return front_info_; }
  const Variant& variant() const { return variant_; }

  // ---- DrmDriver ----
  sim::Task<> release(drm_device& dev) override;
  sim::Task<> gem_free_object(drm_gem_object& obj) override;
  sim::Task<int> dumb_create(drm_file& file, uint32_t width, uint32_t height, uint32_t bpp, uint32_t& handle) override;
  sim::Task<int> gem_mmap(drm_gem_object& obj, Vma& vma) override;
  bool has_fault_handler() const override { return !variant_.mmap_inserts_all_pages; }
  sim::Task<int> fault(Vma& vma, uint32_t page_index) override;
  sim::Task<int> fb_create(drm_file& file, drm_framebuffer& fb) override;
  sim::Task<> fb_destroy(drm_framebuffer& fb) override;
  bool pipe_mode_valid_set() const override { return !variant_.mode_valid_on_connector; }
  ModeStatus pipe_mode_valid(drm_device& dev, uint32_t pipe, const drm_display_mode& mode) override;
  sim::Task<int> display_check(drm_device& dev, uint32_t pipe, const drm_pipe_state& next) override;
  sim::Task<> display_enable(drm_device& dev, uint32_t pipe, const drm_pipe_state& next) override;
  sim::Task<> display_disable(drm_device& dev, uint32_t pipe) override;
  sim::Task<> display_update(drm_device& dev, uint32_t pipe, const drm_pipe_state& old, const drm_pipe_state& next,
                             drm_pending_vblank_event* event) override;
  sim::Task<ConnectorStatus> connector_detect(drm_device& dev, uint32_t pipe) override;
  // PRIME (xen_drm_front_gem.c): .prime_handle_to_fd and .prime_fd_to_handle
  // are the core's drm_gem_prime_handle_to_fd / _fd_to_handle.
  sim::Task<int> gem_prime_import_sg_table(drm_device& dev, dma_buf_attachment& attach,
                                           const std::vector<uint32_t>& sgt, drm_gem_object*& out) override;
  int gem_prime_get_sg_table(drm_gem_object& obj, std::vector<uint32_t>& sgt) override;
  bool gem_prime_vmap(drm_gem_object& obj, std::vector<uint32_t>& pages) override;
  void gem_prime_vunmap(drm_gem_object& obj) override;
  sim::Task<int> gem_prime_mmap(drm_gem_object& obj, Vma& vma) override;

 private:
  // xen_drm_front.c
  sim::Task<> displback_initwait();
  sim::Task<> displback_connect();
  sim::Task<> displback_disconnect();
  sim::Task<> displback_reset_before_connect();
  sim::Task<int> xen_drm_drv_init();
  // Where xen_drm_drv_init's error path starts (its labels, in order).
  enum class DrvInitUnwind : uint8_t { fail_register, fail_modeset, fail_dev };
  sim::Task<int> xen_drm_drv_init_unwind(DrvInitUnwind from, xen_drm_front_drm_info* drm_info, drm_device* dev,
                                         int ret);
  sim::Task<> xen_drm_drv_fini(bool from_remove);  // one of:
  sim::Task<> xen_drm_drv_fini_v5_10(bool from_remove);
  sim::Task<> xen_drm_drv_fini_reviewed(bool from_remove);
  sim::Task<int> xen_drm_front_cfg_card();
  sim::Task<int> send_request(uint32_t channel, const DisplifRequest& request, const char* site);
  sim::Task<int> be_stream_do_io_and_wait(xen_drm_front_evtchnl& evtchnl, DisplifRequest request, const char* site);
  sim::Task<int> xen_drm_front_dbuf_create(uint64_t cookie, uint32_t width, uint32_t height, uint32_t bpp,
                                           uint32_t size, xen_gem_object& obj);
  sim::Task<int> xen_drm_front_dbuf_destroy(uint64_t cookie);
  sim::Task<int> xen_drm_front_fb_attach(uint64_t dbuf_cookie, uint64_t fb_cookie, uint32_t w, uint32_t h);
  sim::Task<int> xen_drm_front_fb_detach(uint64_t fb_cookie);
  sim::Task<int> xen_drm_front_mode_set(uint32_t pipe, uint64_t fb_cookie, uint32_t w, uint32_t h, uint32_t bpp);
  sim::Task<int> xen_drm_front_page_flip(uint32_t pipe, uint64_t fb_cookie);
  xen_drm_front_dbuf* dbuf_get(uint64_t cookie);
  void gnttab_end_foreign_access(grant_ref_t gref, const char* site, uint32_t page = kNoPage);
  sim::Task<> dbuf_free(uint64_t cookie, const char* site);
  sim::Task<> dbuf_free_all(const char* site);
  void dbuf_release_storage(xen_drm_front_dbuf& dbuf, const char* site);

  // xen_drm_front_evtchnl.c
  sim::Task<int> xen_drm_front_evtchnl_create_all();
  sim::Task<int> evtchnl_alloc(EvtPairs* pairs, uint32_t index, EvtchnlType type);
  sim::Task<int> xen_drm_front_evtchnl_publish_all();
  void xen_drm_front_evtchnl_set_state(EvtchnlState state);
  sim::Task<> xen_drm_front_evtchnl_free_all();
  sim::Task<> evtchnl_free(xen_drm_front_evtchnl& evtchnl);
  sim::Task<> evtchnl_interrupt_ctrl(EvtPairs* pairs, uint32_t index);
  sim::Task<> evtchnl_interrupt_evt(EvtPairs* pairs, uint32_t index);

  // xen_drm_front_kms.c
  sim::Task<> xen_drm_front_on_frame_done(uint32_t pipe, uint64_t fb_cookie);
  sim::Task<> send_pending_event(xen_drm_front_drm_info& drm_info, uint32_t pipe);
  sim::Task<> pflip_to_worker(xen_drm_front_drm_info* drm_info, uint32_t pipe);
  sim::Task<> xen_drm_front_kms_fini(xen_drm_front_drm_info& drm_info);
  void signal_backend_failure(xen_drm_front_drm_info& drm_info, uint32_t pipe);

  // Guards: drm_dev_enter/exit, or the variant's drm_dev_is_unplugged check.
  bool enter(drm_device& dev);
  void exit(drm_device& dev);

  // xen_drm_front_gem.c: the versions dumb_create and fault choose between.
  sim::Task<int> xen_drm_drv_dumb_create_v3(drm_file& file, uint32_t width, uint32_t height, uint32_t bpp,
                                            uint32_t& handle);
  sim::Task<int> xen_drm_drv_dumb_create_reviewed(drm_file& file, uint32_t width, uint32_t height, uint32_t bpp,
                                                  uint32_t& handle);
  sim::Task<int> xen_drm_front_gem_fault_v3(Vma& vma, uint32_t page_index);
  sim::Task<int> xen_drm_front_gem_fault_reviewed(Vma& vma, uint32_t page_index);
  sim::Task<> xen_drm_front_gem_free_pages(xen_gem_object& obj);
  xen_drm_front_drm_info* drm_info_of(drm_device& dev);

  Machine m_;
  Variant variant_;
  XenbusDevice* xb_dev_ = nullptr;
  xen_drm_front_info* front_info_ = nullptr;
  uint32_t card_ = 0;
  drm_device* last_dev_ = nullptr;  // the device requests are made for
};

}  // namespace xfsim::driver
