// drm_file.c: open and release of a drm_file (close(2) and fput reach it),
// and its event queue: drm_event_reserve_init, delivery
// (drm_crtc_send_vblank_event ends in drm_send_event_locked) and drm_read.
#include "fakes/drm.h"

#include <algorithm>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "sim/assert.h"
#include "sim/wait.h"

namespace xfsim::fakes {

sim::Task<drm_file*> DrmCore::drm_open(int minor, const std::string& label) {
  XFSIM_KFUNC(scheduler_);
  co_await scheduler_.point("drm_open");
  // drm_minor_acquire: idr_find + drm_dev_get under drm_minor_lock; the idr
  // entry is gone from drm_minor_unregister on (drm_dev_unregister).
  drm_device* found = registered_device();
  if (found == nullptr || found->minor != minor || found->unplugged) co_return nullptr;
  drm_device& dev = *found;
  auto* file = kmem_.kzalloc<drm_file>("drm_file", label);
  file->dev = &dev;
  file->label = label;
  file->event_wait = std::make_unique<sim::WaitQueue>(scheduler_, "drm_read");
  file->table_lock = std::make_unique<sim::SpinLock>(scheduler_, "file->table_lock");
  file->prime_lock = std::make_unique<sim::Mutex>(scheduler_, "file_priv->prime.lock");
  drm_dev_get(dev, "drm_open");
  ++dev.open_count;
  co_return file;
}

sim::Task<> DrmCore::close(drm_file& file) {
  XFSIM_KFUNC_AS(scheduler_, "filp_close");
  co_await scheduler_.point("drm_close");
  co_await file_put(file);
}

sim::Task<> DrmCore::file_put(drm_file& file) {
  XFSIM_KFUNC_AS(scheduler_, "fput");
  if (!kmem_.check(&file, "fput")) co_return;
  XFSIM_ASSERT(file.refs > 0, "fput of {} with no reference left", file.label);
  if (--file.refs == 0) co_await drm_release(file);
}

// drm_release → drm_file_free: fbs, handles, events; then the device ref.
sim::Task<> DrmCore::drm_release(drm_file& file) {
  XFSIM_KFUNC(scheduler_);
  drm_device& dev = *file.dev;
  file.closed = true;
  for (drm_pending_vblank_event* event : file.undelivered) event->file = nullptr;
  file.undelivered.clear();
  for (drm_pending_vblank_event* event : file.events) kmem_.kfree(event, "drm_events_release");
  file.events.clear();
  // drm_fb_release: an fb no plane holds is put at once; the others are
  // removed by drm_mode_rmfb_work_fn on system_wq while release waits.
  std::vector<drm_framebuffer*> to_remove;
  while (!file.fbs.empty()) {
    auto it = file.fbs.begin();
    drm_framebuffer* fb = it->second;
    file.fbs.erase(it);
    if (kmem_.check(fb, "drm_fb_release") && fb->refcount.count > 1)
      to_remove.push_back(fb);
    else
      co_await fb_put(*fb, "drm_fb_release");
  }
  if (!to_remove.empty()) co_await rmfb_in_worker(std::move(to_remove), "drm_fb_release");
  // drm_gem_release: every handle of the file
  while (!file.object_idr.empty()) {
    const uint32_t handle = file.object_idr.begin()->first;
    co_await drm_gem_handle_delete(file, handle);
  }
  drm_prime_destroy_file_private(file);
  --dev.open_count;
  kmem_.kfree(&file, "drm_file_free");
  co_await drm_dev_put(dev, "drm_release");
}

drm_pending_vblank_event* DrmCore::take_event_for(drm_file& file) {
  XFSIM_KFUNC_AS(scheduler_, "drm_event_reserve_init");
  auto* event = kmem_.kzalloc<drm_pending_vblank_event>("drm_pending_vblank_event",
                                                        fmt::format(FMT_COMPILE("event-{}"), file.label));
  event->file = &file;
  file.undelivered.push_back(event);
  return event;
}

sim::Task<> DrmCore::send_vblank_event(drm_device& dev, drm_pending_vblank_event* event, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "drm_crtc_send_vblank_event");
  (void)dev;
  if (event == nullptr) co_return;
  if (!kmem_.check(event, site)) co_return;
  // drm_send_event_helper: the commit waiting on this event has flipped.
  if (event->completion != nullptr) {
    event->completion->flip_done->complete_all();
    event->completion = nullptr;  // completion_release: release_crtc_commit
  }
  drm_file* file = event->file;
  if (file != nullptr) {
    std::erase(file->undelivered, event);
    file->events.push_back(event);
    file->event_wait->wake_all();
  } else {
    kmem_.kfree(event, site);  // the file is gone: drm_send_event_locked frees it
  }
}

sim::Task<bool> DrmCore::read_event(drm_file& file, int64_t bound_ms) {
  XFSIM_KFUNC_AS(scheduler_, "drm_read");
  co_await scheduler_.point("drm_read");
  const auto pending = [&file] { return !file.events.empty(); };
  if (co_await sim::wait_event_timeout(*file.event_wait, pending, "drm_read", bound_ms) == 0) co_return false;
  drm_pending_vblank_event* event = file.events.front();
  file.events.erase(file.events.begin());
  kmem_.kfree(event, "drm_read");
  co_return true;
}

}  // namespace xfsim::fakes
