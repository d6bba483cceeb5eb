// drm_framebuffer.c: ADDFB2 and RMFB, framebuffer publication
// (drm_framebuffer_init puts the fb in the device's idr, where any file can
// look it up by id) and references, and removal: drm_framebuffer_remove
// disables the planes still scanning an fb out with an atomic commit under
// every modeset lock, run on system_wq while RMFB or drm_fb_release waits in
// flush_work (drm_mode_rmfb_work_fn). drm_gem_fb_destroy
// (drm_gem_framebuffer_helper.c) frees an fb whatever its refcount.
#include "fakes/drm.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include "sim/assert.h"

namespace xfsim::fakes {

sim::Task<int> DrmCore::addfb(drm_file& file, uint32_t handle, uint32_t w, uint32_t h, uint32_t& fb_id) {
  XFSIM_KFUNC_AS(scheduler_, "drm_mode_addfb2");
  co_await scheduler_.point("drm_mode_addfb2");
  if (ioctl_unplugged(file)) co_return -ENODEV;
  drm_gem_object* obj = co_await drm_gem_object_lookup(file, handle);
  if (obj == nullptr) co_return -ENOENT;
  // drm_gem_fb_create_with_funcs' allocation; the driver's fb_create calls
  // drm_framebuffer_init (where its id is made public) when it chooses to.
  auto* fb = kmem_.kzalloc<drm_framebuffer>("drm_framebuffer", fmt::format(FMT_COMPILE("fb{}"), next_fb_id_));
  fb->dev = file.dev;
  fb->owner = &file;
  fb->obj = obj;  // the lookup reference is the fb's
  fb->width = w;
  fb->height = h;
  fb->label = fmt::format(FMT_COMPILE("fb{}"), next_fb_id_);
  const int ret = co_await file.dev->driver->fb_create(file, *fb);
  if (ret != 0) {
    // kms.c:81, the driver's error path.
    co_await drm_gem_fb_destroy(*fb);
    co_return ret;
  }
  XFSIM_ASSERT(fb->id != 0, "fb_create of {} succeeded without drm_framebuffer_init", fb->label);
  // drm_mode_addfb2: on the file's list (file_priv->fbs), holding the
  // creation reference.
  file.fbs[fb->id] = fb;
  fb_id = fb->id;
  co_return 0;
}

void DrmCore::drm_framebuffer_init(drm_framebuffer& fb) {
  XFSIM_KFUNC(scheduler_);
  fb.id = next_fb_id_++;
  const std::string label = fmt::format(FMT_COMPILE("fb{}"), fb.id);
  if (label != fb.label) {
    fb.label = label;
    kmem_.rename(&fb, label);
  }
  // drm_mode_object_register: from here a lookup by id finds it.
  fb.dev->fb_idr[fb.id] = &fb;
}

drm_framebuffer* DrmCore::drm_framebuffer_lookup(drm_device& dev, uint32_t id, const char* site) {
  XFSIM_KFUNC(scheduler_);
  auto it = dev.fb_idr.find(id);
  if (it == dev.fb_idr.end()) return nullptr;
  drm_framebuffer* fb = it->second;
  // __drm_mode_object_find reads obj->type and obj->id, then
  // kref_get_unless_zero: a stale idr entry is a read of freed memory.
  if (!kmem_.check(fb, site)) return nullptr;
  if (fb->refcount.count <= 0) return nullptr;
  fb->refcount.get(scheduler_, site, fb->label);
  return fb;
}

sim::Task<> DrmCore::drm_gem_fb_destroy(drm_framebuffer& fb) {
  XFSIM_KFUNC(scheduler_);
  if (!kmem_.check(&fb, "drm_gem_fb_destroy")) co_return;
  co_await drm_gem_object_put(*fb.obj, "drm_gem_fb_destroy");
  kmem_.kfree(&fb, "drm_gem_fb_destroy");
}

sim::Task<> DrmCore::fb_put(drm_framebuffer& fb, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "drm_framebuffer_put");
  if (!kmem_.check(&fb, site)) co_return;
  if (!fb.refcount.put(scheduler_, site, fb.label)) co_return;
  // drm_framebuffer_free: drm_mode_object_unregister, then funcs->destroy.
  auto it = fb.dev->fb_idr.find(fb.id);
  if (it != fb.dev->fb_idr.end() && it->second == &fb) fb.dev->fb_idr.erase(it);
  co_await fb.dev->driver->fb_destroy(fb);
}

// atomic_remove_fb: one commit that turns off every plane scanning the fb
// out, under every modeset lock. The kernel first tries the planes alone,
// which the simple pipe's CRTC check refuses (-EINVAL: a primary plane off
// on an active CRTC), then retries disabling their CRTCs too: only that
// second attempt has an effect, and it is what runs here (one commit per
// pipe, where the kernel's one state covers every pipe at once).
sim::Task<int> DrmCore::atomic_remove_fb(drm_framebuffer& fb) {
  XFSIM_KFUNC(scheduler_);
  drm_device& dev = *fb.dev;
  co_await drm_modeset_lock_all_ctx(dev);
  int ret = 0;
  for (uint32_t pipe = 0; pipe < dev.pipes.size() && ret == 0; ++pipe) {
    if (dev.pipes[pipe].fb != &fb) continue;
    drm_atomic_state* state = drm_atomic_state_alloc(dev, pipe);
    state->old_state = dev.pipes[pipe];
    state->new_state = drm_pipe_state{};
    state->new_state.mode = drm_display_mode{};
    ret = co_await drm_atomic_helper_commit(*state, /*nonblock=*/false);  // drm_atomic_commit
    co_await drm_atomic_state_put(*state, "atomic_remove_fb");
  }
  drm_modeset_drop_locks_all(dev);
  if (ret != 0)
    scheduler_.report(kWarning, "drm_framebuffer_remove", fmt::format("atomic remove_fb failed with {}", ret));
  co_return ret;
}

sim::Task<> DrmCore::fb_remove(drm_framebuffer& fb, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "drm_framebuffer_remove");
  if (!kmem_.check(&fb, site)) co_return;
  // Only a plane (or a lookup in flight) can hold another reference.
  if (fb.refcount.count > 1 && kmem_.live(fb.dev)) co_await atomic_remove_fb(fb);
  co_await fb_put(fb, site);
}

sim::Task<> DrmCore::rmfb_in_worker(std::vector<drm_framebuffer*> fbs, const char* site) {
  XFSIM_KFUNC(scheduler_);
  // INIT_WORK_ONSTACK(&arg.work, drm_mode_rmfb_work_fn); schedule_work;
  // flush_work.
  sim::Work work(scheduler_, "kworker/drm_mode_rmfb_work_fn", [this, &fbs]() -> sim::Task<> {
    XFSIM_KFUNC_AS(scheduler_, "drm_mode_rmfb_work_fn");
    for (drm_framebuffer* fb : fbs) co_await fb_remove(*fb, "drm_mode_rmfb_work_fn");
  });
  work.queue();
  co_await work.flush(site);
}

sim::Task<int> DrmCore::rmfb(drm_file& file, uint32_t fb_id) {
  XFSIM_KFUNC_AS(scheduler_, "drm_mode_rmfb");
  co_await scheduler_.point("drm_mode_rmfb");
  if (ioctl_unplugged(file)) co_return -ENODEV;
  drm_framebuffer* fb = drm_framebuffer_lookup(*file.dev, fb_id, "drm_mode_rmfb");
  if (fb == nullptr) co_return -ENOENT;
  auto it = file.fbs.find(fb_id);
  if (it == file.fbs.end() || it->second != fb) {
    co_await fb_put(*fb, "drm_mode_rmfb");
    co_return -ENOENT;
  }
  file.fbs.erase(it);
  co_await fb_put(*fb, "drm_mode_rmfb");  // the lookup's; the list's is ours now
  if (fb->refcount.count > 1) {
    std::vector<drm_framebuffer*> fbs(1, fb);
    co_await rmfb_in_worker(std::move(fbs), "drm_mode_rmfb");
  } else {
    co_await fb_put(*fb, "drm_mode_rmfb");
  }
  co_return 0;
}

}  // namespace xfsim::fakes
