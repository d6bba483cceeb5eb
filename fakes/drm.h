// The DRM core as a driver meets it, one class (DrmCore) whose functions are
// defined in the file named after the kernel file where each lives:
// drm_drv.cc (drm_device lifetime and unplug), drm_file.cc (open, release,
// the event queue), drm_gem.cc (GEM objects, handles, mmap and the mm's
// part), drm_framebuffer.cc, drm_atomic.cc (the atomic commit) and
// drm_probe_helper.cc (output poll, hotplug uevents). Oracles here:
//   access-after-free    userspace touches a page through a PTE whose backing
//                        is gone
//   missing-sigbus       a fault after unplug that does not end in SIGBUS
//   access-after-unplug  the driver reaches the backend after unplug outside a
//                        drm_dev_enter/exit section
//   invalid-mode-accepted an atomic commit with a mode the connector does not
//                        have succeeds
//   spurious-check-failure an atomic check that fails although the commit is
//                        valid (the driver rejects because the backend is gone)
//   warning              a WARN_ON of the core: drm_dev_exit without enter,
//                        a commit whose event the driver left unconsumed at
//                        hw_done, the driver's WARN_ON(pending_event)
// PRIME and the dma-buf core are drm_prime.cc and dma_buf.cc; their kernel
// reads through an importer's vmap report access-after-free and
// access-to-unmapped-grant as a userspace touch does.
#pragma once

#include <cerrno>  // Linux errno values, as the kernel's
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fakes/core_config.h"
#include "fakes/kmem.h"
#include "fakes/page_frames.h"
#include "sim/completion.h"
#include "sim/lock.h"
#include "sim/scheduler.h"
#include "sim/wait_queue.h"
#include "sim/workqueue.h"

namespace xfsim::fakes {

inline constexpr ViolationKind kAccessAfterFree{"access-after-free",
                                                "userspace touches a page through a PTE whose backing storage is gone",
                                                ReportTitle::kKasan, /*memory_error=*/true};
inline constexpr ViolationKind kAccessToUnmappedGrant{
    "access-to-unmapped-grant",
    "userspace touches a ballooned page through a stale PTE after its grant mapping is gone: the hypervisor aborts "
    "the access and the process gets SIGBUS, not from the driver"};
inline constexpr ViolationKind kMissingSigbus{"missing-sigbus",
                                              "a page fault after unplug is answered with a page instead of SIGBUS"};
inline constexpr ViolationKind kAccessAfterUnplug{
    "access-after-unplug", "the driver reaches the backend or backing storage after unplug outside drm_dev_enter/exit"};
inline constexpr ViolationKind kInvalidModeAccepted{
    "invalid-mode-accepted", "an atomic commit with a mode the connector does not offer succeeds"};
inline constexpr ViolationKind kSpuriousCheckFailure{
    "spurious-check-failure", "an atomic check fails for a valid commit (the backend's state leaks into uapi)"};
inline constexpr ViolationKind kWarning{"warning",
                                        "a WARN_ON of the kernel fires (e.g. drm_dev_exit without drm_dev_enter)"};
inline constexpr const ViolationKind* kDrmOracles[] = {
    &kAccessAfterFree,     &kAccessToUnmappedGrant, &kMissingSigbus, &kAccessAfterUnplug,
    &kInvalidModeAccepted, &kSpuriousCheckFailure,  &kWarning};

struct drm_device;
struct drm_file;
struct dma_buf;
struct dma_buf_attachment;

struct drm_display_mode {
  uint32_t hdisplay = 0, vdisplay = 0;
  bool operator==(const drm_display_mode&) const = default;
};

enum class ModeStatus { MODE_OK, MODE_ERROR };
enum class ConnectorStatus { connected, disconnected };
enum class LinkStatus { GOOD, BAD };

struct drm_gem_object : KObject {
  drm_device* dev = nullptr;
  Kref refcount;
  uint32_t handle_count = 0;
  size_t size = 0;
  uint32_t num_pages = 0;
  std::string label;  // "gem0", stable across runs
  bool mmap_offset_created = false;
  // PRIME (drm_prime.c): the dma-buf this object is exported as (the object
  // holds a reference to it while it has handles), and for an imported object
  // its attachment to the foreign dma-buf.
  struct dma_buf* dma_buf = nullptr;
  dma_buf_attachment* import_attach = nullptr;
};

struct drm_framebuffer : KObject {
  drm_device* dev = nullptr;
  Kref refcount;
  uint32_t id = 0;
  drm_file* owner = nullptr;
  drm_gem_object* obj = nullptr;  // fb->obj[0]; the fb holds a reference
  uint32_t width = 0, height = 0, bpp = 32;
  std::string label;
};

struct drm_crtc_commit;

struct drm_pending_vblank_event : KObject {
  drm_file* file = nullptr;  // NULL once the file is closed, or for a commit's own event
  uint64_t user_data = 0;
  // e->base.completion: the flip_done of the commit it belongs to, completed
  // when the event is sent (drm_send_event_helper).
  drm_crtc_commit* completion = nullptr;
};

// struct drm_crtc_commit (drm_atomic_helper_setup_commit): how commits on one
// CRTC are sequenced. hw_done when the commit tail has programmed the
// hardware, flip_done when its event was sent (the driver's frame-done path),
// cleanup_done when the commit tail has finished. Its refcount is not
// modelled: a commit lives to the end of the run, as kmem's poisoned objects.
struct drm_crtc_commit {
  uint32_t pipe = 0;
  uint32_t seq = 0;  // for logs: the n-th commit on this CRTC
  std::unique_ptr<sim::Completion> flip_done, hw_done, cleanup_done;
  drm_pending_vblank_event* event = nullptr;  // setup_commit's own event, until swap_state
};

struct drm_connector {
  ConnectorStatus status = ConnectorStatus::connected;
  LinkStatus link_status = LinkStatus::GOOD;
  drm_display_mode mode;  // the single mode the connector offers
};

// One simple display pipe (CRTC + plane + encoder) per connector: the CRTC's
// and its primary plane's state in one (they are always in a commit
// together).
struct drm_pipe_state {
  bool enabled = false;
  drm_framebuffer* fb = nullptr;  // the plane state holds a reference
  drm_display_mode mode;
  drm_crtc_commit* commit = nullptr;  // crtc_state->commit (= plane_state->commit)
};

struct drm_crtc {
  // crtc->mutex, a drm_modeset_lock; the primary plane's plane->mutex is
  // always taken with it and folded in. One lock class per CRTC, taken in
  // index order by drm_modeset_lock_all_ctx, so no ww back-off is needed.
  std::unique_ptr<sim::Mutex> mutex;
  // crtc->commit_list, newest first: the commits whose tail has not finished
  // (crtc->commit_lock's critical sections do not sleep: atomic here).
  std::vector<drm_crtc_commit*> commit_list;
  uint32_t commits = 0;
};

struct drm_atomic_request {
  uint32_t pipe = 0;
  uint32_t fb_id = 0;  // 0: disable
  std::optional<drm_display_mode> mode;
  bool page_flip_event = false;
  bool nonblock = false;  // DRM_MODE_ATOMIC_NONBLOCK
  uint64_t user_data = 0;
};

// struct drm_atomic_state for one pipe: the ioctl holds a reference, and so
// does the commit tail (drm_atomic_helper_commit's drm_atomic_state_get);
// whoever drops the last one frees it, and with it the plane state no longer
// on the screen (its fb reference: drm_atomic_state_default_clear).
struct drm_atomic_state : KObject {
  drm_device* dev = nullptr;
  Kref ref;
  uint32_t pipe = 0;
  drm_pipe_state old_state, new_state;
  bool swapped = false;                       // drm_atomic_helper_swap_state ran
  drm_pending_vblank_event* event = nullptr;  // new_crtc_state->event until the driver takes it
  drm_crtc_commit* commit = nullptr;          // state->crtcs[i].commit
  std::unique_ptr<sim::Work> commit_work;     // INIT_WORK(&state->commit_work, commit_work)
  std::string label;
};

// The hooks a driver fills in (struct drm_driver, drm_simple_display_pipe_funcs,
// drm_connector_helper_funcs, vm_operations_struct).
struct DrmDriver {
  virtual ~DrmDriver() = default;
  virtual sim::Task<> release(drm_device& dev) = 0;
  virtual sim::Task<> gem_free_object(drm_gem_object& obj) = 0;
  virtual sim::Task<int> dumb_create(drm_file& file, uint32_t width, uint32_t height, uint32_t bpp,
                                     uint32_t& handle) = 0;
  virtual sim::Task<int> gem_mmap(drm_gem_object& obj, struct Vma& vma) = 0;
  // vm_ops->fault; a driver without one gets SIGBUS from the core mm.
  virtual bool has_fault_handler() const = 0;
  virtual sim::Task<int> fault(Vma& vma, uint32_t page_index) = 0;  // 0 ok, <0 SIGBUS
  virtual sim::Task<int> fb_create(drm_file& file, drm_framebuffer& fb) = 0;
  virtual sim::Task<> fb_destroy(drm_framebuffer& fb) = 0;
  virtual bool pipe_mode_valid_set() const = 0;
  virtual ModeStatus pipe_mode_valid(drm_device& dev, uint32_t pipe, const drm_display_mode& mode) = 0;
  virtual sim::Task<int> display_check(drm_device& dev, uint32_t pipe, const drm_pipe_state& next) = 0;
  virtual sim::Task<> display_enable(drm_device& dev, uint32_t pipe, const drm_pipe_state& next) = 0;
  virtual sim::Task<> display_disable(drm_device& dev, uint32_t pipe) = 0;
  virtual sim::Task<> display_update(drm_device& dev, uint32_t pipe, const drm_pipe_state& old,
                                     const drm_pipe_state& next, drm_pending_vblank_event* event) = 0;
  virtual sim::Task<ConnectorStatus> connector_detect(drm_device& dev, uint32_t pipe) = 0;
  // PRIME hooks (struct drm_driver's gem_prime_*); a driver without one gets
  // what the core does for a NULL hook (-ENOSYS, or no mapping).
  // gem_prime_import_sg_table: a GEM object over an importer's pages.
  virtual sim::Task<int> gem_prime_import_sg_table(drm_device& dev, dma_buf_attachment& attach,
                                                   const std::vector<uint32_t>& sgt, drm_gem_object*& out) {
    (void)dev, (void)attach, (void)sgt, (void)out;
    co_return -ENOSYS;
  }
  // gem_prime_get_sg_table: the object's pages, for dma_buf_map_attachment.
  virtual int gem_prime_get_sg_table(drm_gem_object& obj, std::vector<uint32_t>& sgt) {
    (void)obj, (void)sgt;
    return -ENOSYS;
  }
  // gem_prime_vmap: a kernel mapping of the pages (false: NULL).
  virtual bool gem_prime_vmap(drm_gem_object& obj, std::vector<uint32_t>& pages) {
    (void)obj, (void)pages;
    return false;
  }
  virtual void gem_prime_vunmap(drm_gem_object& obj) { (void)obj; }
  // gem_prime_mmap: a userspace mmap of the dma-buf.
  virtual sim::Task<int> gem_prime_mmap(drm_gem_object& obj, struct Vma& vma) {
    (void)obj, (void)vma;
    co_return -ENOSYS;
  }
};

struct Vma : KObject {
  drm_file* file = nullptr;
  drm_gem_object* obj = nullptr;  // the vma holds a GEM reference (drm_gem_vm_open)
  std::vector<uint32_t> ptes;     // page frame per page, kNoPage when not present
  bool unmapped = false;
  std::string label;
  dma_buf* dmabuf = nullptr;  // vm_file is this dma-buf's file, not a drm_file (dma_buf_mmap)
};

// The dma-buf core (drivers/dma-buf/dma-buf.c), fakes/dma_buf.cc. The
// exporter is named by its ops; a foreign one stands for any other exporter
// (a dma-heap, another GPU), whose pages are its own.
enum class DmaBufOps : uint8_t { drm_gem_prime_dmabuf_ops, system_heap_buf_ops };

struct dma_buf : KObject {
  DmaBufOps ops = DmaBufOps::drm_gem_prime_dmabuf_ops;
  uint32_t f_count = 1;  // file references: fds, caches, importers, mappings
  size_t size = 0;
  drm_gem_object* priv = nullptr;  // drm_gem_prime_dmabuf_ops: the exported object
  std::vector<uint32_t> pages;     // system_heap_buf_ops: the exporter's own pages
  uint32_t attachments = 0;
  uint32_t vmapping_counter = 0;
  std::string label;
};

struct dma_buf_attachment : KObject {
  dma_buf* dmabuf = nullptr;
  std::vector<uint32_t> sgt;  // dma_buf_map_attachment's table, while mapped
  bool mapped = false;
  std::string label;
};

// An importer's kernel mapping (dma_buf_vmap).
struct DmaBufVmap {
  dma_buf* dmabuf = nullptr;
  std::vector<uint32_t> pages;
};

// struct drm_prime_file_private: the file's dma-buf <-> handle cache; each
// entry holds a dma-buf reference. A vector, searched in order, so nothing
// depends on addresses.
struct drm_prime_member {
  dma_buf* dmabuf = nullptr;
  uint32_t handle = 0;
};

struct Uevent {
  std::string action;  // add, remove, change
  int minor;
};

class DrmCore;

struct drm_device : KObject {
  DrmCore* core = nullptr;
  DrmDriver* driver = nullptr;
  Kref ref;
  bool registered = false;
  bool unplugged = false;
  int minor = -1;
  KObject* dev_private = nullptr;
  uint32_t open_count = 0;
  std::vector<drm_connector> connectors;
  std::vector<drm_pipe_state> pipes;
  std::vector<uint32_t> srcu_readers_by_task;
  uint32_t srcu_readers = 0;
  std::unique_ptr<sim::WaitQueue> srcu_wait;
  std::unique_ptr<sim::SpinLock> event_lock;
  std::vector<drm_crtc> crtcs;
  // mode_config.object_idr, framebuffers only: drm_framebuffer_init
  // publishes an fb here and drm_framebuffer_free unregisters it; any file
  // of the device looks fbs up by id (idr_mutex: lookups do not sleep inside).
  std::map<uint32_t, drm_framebuffer*> fb_idr;
  std::vector<drm_gem_object*> objects;  // every GEM object of the device (vma manager)
  bool poll_enabled = false;
  std::unique_ptr<sim::DelayedWork> output_poll_work;
  std::string label;
  std::unique_ptr<sim::Mutex> object_name_lock;  // drm_prime: export and import against gem_close
};

struct drm_file : KObject {
  drm_device* dev = nullptr;
  std::map<uint32_t, drm_gem_object*> object_idr;  // handle → object
  std::map<uint32_t, drm_framebuffer*> fbs;
  std::vector<drm_pending_vblank_event*> events;  // delivered, not yet read
  std::unique_ptr<sim::WaitQueue> event_wait;
  std::unique_ptr<sim::SpinLock> table_lock;
  std::vector<Vma*> vmas;
  std::vector<drm_pending_vblank_event*> undelivered;  // created for this file, still in the driver
  uint32_t refs = 1;                                   // the fd, plus one per live mmap (vma->vm_file)
  bool closed = false;
  std::string label;
  std::vector<drm_prime_member> prime;     // file_priv->prime
  std::unique_ptr<sim::Mutex> prime_lock;  // file_priv->prime.lock
};

class DrmCore {
 public:
  DrmCore(sim::Scheduler& scheduler, Kmem& kmem, Memory& memory);

  // ---- driver side (drm_drv.c) ----
  drm_device* drm_dev_alloc(DrmDriver& driver, uint32_t connectors, const std::string& label);
  sim::Task<int> drm_dev_register(drm_device& dev);
  // The core's version (fakes/core_config.h); 5.10's unless set.
  void set_core_config(const CoreConfig& config) { config_ = config; }
  const CoreConfig& core_config() const { return config_; }

  // drm_dev_unplug: marks unplugged, waits for drm_dev_enter sections
  // (synchronize_srcu), unregisters, and in 5.10 leaves CPU mappings alone:
  // zapping them is the driver's job. Since v5.14
  // (CoreConfig::drm_dev_unplug_unmaps) it ends with unmap_mapping_range
  // over the device's address space: every mapping made through one of the
  // device's files loses its PTEs.
  sim::Task<> drm_dev_unplug(drm_device& dev);
  void drm_dev_get(drm_device& dev, const char* site);
  sim::Task<> drm_dev_put(drm_device& dev, const char* site);
  bool drm_dev_enter(drm_device& dev);
  void drm_dev_exit(drm_device& dev);
  bool drm_dev_is_unplugged(const drm_device& dev) const { return dev.unplugged; }
  bool in_dev_enter(const drm_device& dev) const;

  // drm_kms_helper_hotplug_event / drm_connector_set_link_status_property.
  void hotplug_event(drm_device& dev);
  void set_link_status(drm_device& dev, uint32_t pipe, LinkStatus status);
  // drm_kms_helper_poll_init / _fini: connector_detect every 10 s.
  void poll_init(drm_device& dev);
  sim::Task<> poll_fini(drm_device& dev);
  // drm_crtc_send_vblank_event.
  sim::Task<> send_vblank_event(drm_device& dev, drm_pending_vblank_event* event, const char* site);

  // ---- GEM (drm_gem.c) ----
  drm_gem_object* register_object(drm_device& dev, drm_gem_object* obj, size_t size);
  sim::Task<int> drm_gem_handle_create(drm_file& file, drm_gem_object& obj, uint32_t& handle);
  sim::Task<drm_gem_object*> drm_gem_object_lookup(drm_file& file, uint32_t handle);
  void drm_gem_object_get(drm_gem_object& obj, const char* site);
  sim::Task<> drm_gem_object_put(drm_gem_object& obj, const char* site);
  // drm_vma_node_unmap: zap every PTE of the object in every process.
  void drm_vma_node_unmap(drm_gem_object& obj);
  // vm_insert_page from a fault handler or an mmap callback.
  void vm_insert_page(Vma& vma, uint32_t index, uint32_t page);
  // Backend I/O guard: call before the driver sends anything to the backend.
  void check_backend_access(drm_device& dev, const char* site);

  // ---- userspace entry points (the ioctls) ----
  // open(2) of /dev/dri/cardN: the path named a minor before the call;
  // drm_stub_open's drm_minor_acquire finds it again under drm_minor_lock
  // and takes the device reference in the same step, so a device unregistered
  // in between is -ENODEV, never a freed object.
  sim::Task<drm_file*> drm_open(int minor, const std::string& label);
  // close(fd): drm_release runs once the fd and every mapping are gone.
  sim::Task<> close(drm_file& file);
  // drm_gem_fb_destroy: drops the fb's GEM reference and frees it, whatever
  // its refcount, and leaves its id in the idr (only drm_framebuffer_free
  // unregisters it).
  sim::Task<> drm_gem_fb_destroy(drm_framebuffer& fb);
  // drm_framebuffer_init (from drm_gem_fb_create_with_funcs): gives the fb
  // its id and publishes it, so from here another thread can look it up.
  void drm_framebuffer_init(drm_framebuffer& fb);
  // drm_framebuffer_lookup: a reference, or NULL.
  drm_framebuffer* drm_framebuffer_lookup(drm_device& dev, uint32_t id, const char* site);
  drm_pending_vblank_event* take_event_for(drm_file& file);
  // fput for a reference taken by userspace (an ioctl in progress).
  sim::Task<> file_put_public(drm_file& file) { return file_put(file); }
  sim::Task<int> mode_create_dumb(drm_file& file, uint32_t w, uint32_t h, uint32_t bpp, uint32_t& handle);
  sim::Task<int> gem_close(drm_file& file, uint32_t handle);
  sim::Task<int> gem_mmap(drm_file& file, uint32_t handle, Vma*& out);
  sim::Task<int> munmap(Vma& vma);
  // A userspace access to page `index` of the mapping: 0, or -1 for SIGBUS.
  sim::Task<int> touch(Vma& vma, uint32_t index);
  sim::Task<int> addfb(drm_file& file, uint32_t handle, uint32_t w, uint32_t h, uint32_t& fb_id);
  sim::Task<int> rmfb(drm_file& file, uint32_t fb_id);
  sim::Task<int> atomic_commit(drm_file& file, const drm_atomic_request& request);
  // drm_read: waits for a vblank event up to `bound_ms`; false on timeout.
  sim::Task<bool> read_event(drm_file& file, int64_t bound_ms);

  // ---- PRIME (drm_prime.c), fakes/drm_prime.cc ----
  // DRM_IOCTL_PRIME_HANDLE_TO_FD / _FD_TO_HANDLE: the driver's
  // prime_handle_to_fd / prime_fd_to_handle, which xen-front sets to the core's
  // drm_gem_prime_handle_to_fd / drm_gem_prime_fd_to_handle. `out` is the fd's
  // reference.
  sim::Task<int> prime_handle_to_fd(drm_file& file, uint32_t handle, dma_buf*& out);
  sim::Task<int> prime_fd_to_handle(drm_file& file, dma_buf& dmabuf, uint32_t& handle);
  sim::Task<int> drm_gem_prime_handle_to_fd(drm_device& dev, drm_file& file, uint32_t handle, dma_buf*& out);
  sim::Task<int> drm_gem_prime_fd_to_handle(drm_device& dev, drm_file& file, dma_buf& dmabuf, uint32_t& handle);
  // drm_gem_prime_export → drm_gem_dmabuf_export: the dma-buf holds a GEM
  // reference and a drm_device reference (drm_dev_get, drm_prime.c:250).
  dma_buf* drm_gem_prime_export(drm_gem_object& obj);
  // drm_gem_prime_import: our own dma-buf gives back its object; a foreign
  // one is attached, mapped and handed to gem_prime_import_sg_table.
  sim::Task<drm_gem_object*> drm_gem_prime_import(drm_device& dev, dma_buf& dmabuf, int& err);
  // drm_gem_mmap_obj, for the driver's gem_prime_mmap: the vma holds a GEM
  // reference.
  void drm_gem_mmap_obj(drm_gem_object& obj, Vma& vma);
  // drm_prime_gem_destroy: an imported object's free drops its attachment and
  // its dma-buf reference.
  sim::Task<> drm_prime_gem_destroy(drm_gem_object& obj);
  // From drm_gem_object_release_handle: the file's cache entry for the
  // object's dma-buf; and when the last handle goes, the object's own
  // reference to it (drm_gem_object_exported_dma_buf_free).
  sim::Task<> drm_gem_remove_prime_handles(drm_gem_object& obj, drm_file& file);
  sim::Task<> drm_gem_object_exported_dma_buf_free(drm_gem_object& obj);

  // ---- the dma-buf core (dma-buf.c), fakes/dma_buf.cc ----
  void get_dma_buf(dma_buf& dmabuf, const char* site);
  // fput of a dma-buf file: the last reference releases it (ops->release).
  sim::Task<> dma_buf_put(dma_buf& dmabuf, const char* site);
  dma_buf_attachment* dma_buf_attach(dma_buf& dmabuf, const std::string& importer);
  sim::Task<> dma_buf_detach(dma_buf& dmabuf, dma_buf_attachment& attach);
  int dma_buf_map_attachment(dma_buf_attachment& attach);
  void dma_buf_unmap_attachment(dma_buf_attachment& attach);
  int dma_buf_vmap(dma_buf& dmabuf, DmaBufVmap& map);
  void dma_buf_vunmap(dma_buf& dmabuf, DmaBufVmap& map);
  // mmap(2) of a dma-buf fd: dma_buf_mmap_internal → ops->mmap.
  sim::Task<int> dma_buf_mmap(dma_buf& dmabuf, Vma*& out);
  // A kernel read of page `index` through an importer's vmap.
  sim::Task<int> dma_buf_vmap_read(DmaBufVmap& map, uint32_t index);
  // DMA_HEAP_IOCTL_ALLOC on the system heap: a foreign exporter's dma-buf.
  sim::Task<dma_buf*> dma_heap_alloc(size_t size, const std::string& label);

  // ---- udev ----
  std::vector<Uevent>& uevents() { return uevents_; }
  sim::WaitQueue& uevent_wait() { return uevent_wait_; }
  drm_device* registered_device() const;  // the newest registered card
  sim::WaitQueue& register_wait() { return register_wait_; }

  sim::Scheduler& scheduler() { return scheduler_; }
  Kmem& kmem() { return kmem_; }
  Memory& memory() { return memory_; }

 private:
  // drm_framebuffer_put: drop one reference; the last one runs
  // drm_framebuffer_free (unregister the id, then the driver's destroy).
  sim::Task<> fb_put(drm_framebuffer& fb, const char* site);
  // drm_framebuffer_remove (RMFB, file close): with other references left,
  // atomic_remove_fb disables the planes still scanning the fb out with a
  // commit under every modeset lock; then the reference is dropped.
  sim::Task<> fb_remove(drm_framebuffer& fb, const char* site);
  sim::Task<int> atomic_remove_fb(drm_framebuffer& fb);
  // drm_mode_rmfb_work_fn's caller: the removal runs on system_wq while the
  // caller waits in flush_work (drm_mode_rmfb, drm_fb_release).
  sim::Task<> rmfb_in_worker(std::vector<drm_framebuffer*> fbs, const char* site);
  // ---- the atomic commit (drm_atomic_helper.c) ----
  drm_atomic_state* drm_atomic_state_alloc(drm_device& dev, uint32_t pipe);
  sim::Task<> drm_atomic_state_put(drm_atomic_state& state, const char* site);
  sim::Task<int> drm_atomic_helper_commit(drm_atomic_state& state, bool nonblock);
  sim::Task<int> drm_atomic_helper_setup_commit(drm_atomic_state& state, bool nonblock);
  sim::Task<int> stall_checks(drm_device& dev, uint32_t pipe, bool nonblock);
  sim::Task<> drm_atomic_helper_swap_state(drm_atomic_state& state);
  sim::Task<> commit_tail(drm_atomic_state& state);
  sim::Task<> drm_atomic_helper_wait_for_dependencies(drm_atomic_state& state);
  sim::Task<> drm_atomic_helper_commit_tail(drm_atomic_state& state);
  sim::Task<> drm_modeset_lock_all_ctx(drm_device& dev);
  void drm_modeset_drop_locks_all(drm_device& dev);
  sim::Task<int> drm_gem_handle_delete(drm_file& file, uint32_t handle);
  sim::Task<> vma_close(Vma& vma);
  sim::Task<> drm_release(drm_file& file);
  sim::Task<> file_put(drm_file& file);
  sim::Task<> poll_work(drm_device& dev);
  // drm_prime.c's private helpers and the exporters' release.
  sim::Task<dma_buf*> export_and_register_object(drm_device& dev, drm_gem_object& obj);
  void drm_prime_add_buf_handle(drm_file& file, dma_buf& dmabuf, uint32_t handle);
  void drm_prime_destroy_file_private(drm_file& file);
  sim::Task<> drm_gem_dmabuf_release(dma_buf& dmabuf);
  uint32_t next_dmabuf_label_ = 0;
  std::vector<Vma*> vmas_;
  // unmap_mapping_range(dev->anon_inode->i_mapping, 0, 0, 1): drm_open points
  // every file's f_mapping at the device's inode, so this reaches every vma
  // mmapped through a drm_file of the device whatever its vm_pgoff (not a
  // dma-buf mmap: its vm_file is the dma-buf's).
  void unmap_mapping_range(drm_device& dev);
  CoreConfig config_;
  bool ioctl_unplugged(drm_file& file);

  sim::Scheduler& scheduler_;
  Kmem& kmem_;
  Memory& memory_;
  std::vector<drm_device*> devices_;
  std::vector<Uevent> uevents_;
  sim::WaitQueue uevent_wait_;
  sim::WaitQueue register_wait_;
  int next_minor_ = 0;
  // Tasks whose fault (being handled) began after unplug.
  std::vector<sim::TaskId> faults_after_unplug_;
  uint32_t next_fb_id_ = 1;
  // Every drm_crtc_commit of the run (their refcount is not modelled).
  std::vector<std::unique_ptr<drm_crtc_commit>> commits_;
  uint32_t next_label_ = 0;
};

DrmDriver& driver_of(drm_device& dev);

}  // namespace xfsim::fakes
