// xen_drm_front_kms.c: framebuffers, the simple display pipe callbacks, page
// flips, frame done and its timeout worker, connector detect.
#include <fmt/format.h>

#include "driver_core/xen_drm_front.h"

namespace xfsim::driver {

// upstream: drm_gem_fb_create_with_funcs → drm_gem_fb_init →
// drm_framebuffer_init publishes the fb id first (kms.c:62), then FB_ATTACH;
// if that fails, kms.c:81 drm_gem_fb_destroy frees the fb whatever references
// a lookup by id took meanwhile, and leaves its id in the idr. correct
// attaches first and publishes only an attached fb (drm_gem_fb_init_with_funcs
// style: fill the fb, FB_ATTACH with its cookie, then drm_framebuffer_init),
// so no other thread can reach an fb the error path frees.
sim::Task<int> XenDrmFront::fb_create(drm_file& file, drm_framebuffer& fb) {
  XFSIM_KFUNC(m_.scheduler);
  drm_device& dev = *file.dev;
  if (variant_.fb_published_before_attach) m_.drm.drm_framebuffer_init(fb);
  const bool guarded = !variant_.no_enter_in_ioctls;
  if (guarded && !enter(dev)) co_return -ENODEV;
  const int ret = co_await xen_drm_front_fb_attach(xen_drm_front_dbuf_to_cookie(*fb.obj),
                                                   xen_drm_front_fb_to_cookie(fb), fb.width, fb.height);
  if (guarded) exit(dev);
  if (ret != 0) {
    m_.scheduler.logf("[drm:fb_create] *ERROR* Back failed to attach FB {}: {}", fb.label, ret);
    co_return ret;
  }
  if (!variant_.fb_published_before_attach) m_.drm.drm_framebuffer_init(fb);
  co_return 0;
}

sim::Task<> XenDrmFront::fb_destroy(drm_framebuffer& fb) {
  XFSIM_KFUNC(m_.scheduler);
  drm_device& dev = *fb.dev;
  if (m_.kmem.live(&dev) && enter(dev)) {
    co_await xen_drm_front_fb_detach(xen_drm_front_fb_to_cookie(fb));
    exit(dev);
  }
  co_await m_.drm.drm_gem_fb_destroy(fb);
}

ModeStatus XenDrmFront::pipe_mode_valid(drm_device& dev, uint32_t pipe, const drm_display_mode& mode) {
  XFSIM_KFUNC_AS(m_.scheduler, "display_mode_valid");
  xen_drm_front_drm_info* drm_info = drm_info_of(dev);
  if (drm_info == nullptr) return ModeStatus::MODE_ERROR;
  const auto& pipeline = drm_info->pipeline[pipe];
  if (mode.hdisplay != pipeline.width || mode.vdisplay != pipeline.height) return ModeStatus::MODE_ERROR;
  return ModeStatus::MODE_OK;
}

sim::Task<int> XenDrmFront::display_check(drm_device& dev, uint32_t pipe, const drm_pipe_state&) {
  XFSIM_KFUNC(m_.scheduler);
  co_await m_.scheduler.point("display_check");
  if (!variant_.check_rejects_disconnected) co_return 0;
  xen_drm_front_drm_info* drm_info = drm_info_of(dev);
  if (drm_info == nullptr) co_return -EINVAL;
  co_return drm_info->pipeline[pipe].conn_connected ? 0 : -EINVAL;
}

// A backend failure is a link problem: link-status BAD and a hotplug uevent,
// never a rejected commit.
void XenDrmFront::signal_backend_failure(xen_drm_front_drm_info& drm_info, uint32_t pipe) {
  XFSIM_KFUNC(m_.scheduler);
  drm_info.pipeline[pipe].conn_connected = false;
  if (variant_.no_hotplug_uevent || variant_.poll_only_error_signalling) return;
  m_.drm.set_link_status(*drm_info.drm_dev, pipe, LinkStatus::BAD);
  drm_info.drm_dev->connectors[pipe].status = ConnectorStatus::disconnected;
  m_.drm.hotplug_event(*drm_info.drm_dev);
}

sim::Task<> XenDrmFront::display_enable(drm_device& dev, uint32_t pipe, const drm_pipe_state& next) {
  XFSIM_KFUNC(m_.scheduler);
  xen_drm_front_drm_info* drm_info = drm_info_of(dev);
  if (drm_info == nullptr || !enter(dev)) co_return;
  // SET_CONFIG carries the framebuffer's size and depth (fb->width, height,
  // format->cpp[0] * 8), not the mode's.
  const drm_framebuffer& fb = *next.fb;
  const int ret = co_await xen_drm_front_mode_set(pipe, xen_drm_front_fb_to_cookie(fb), fb.width, fb.height, fb.bpp);
  if (ret != 0) {
    m_.scheduler.logf("[drm:display_enable] *ERROR* Failed to enable display: {}", ret);
    signal_backend_failure(*drm_info, pipe);
  }
  exit(dev);
}

sim::Task<> XenDrmFront::display_disable(drm_device& dev, uint32_t pipe) {
  XFSIM_KFUNC(m_.scheduler);
  xen_drm_front_drm_info* drm_info = drm_info_of(dev);
  if (drm_info == nullptr) co_return;
  if (enter(dev)) {
    const int ret = co_await xen_drm_front_mode_set(pipe, 0, 0, 0, 0);
    if (ret != 0) m_.scheduler.logf("[drm:display_disable] *ERROR* Failed to disable display: {}", ret);
    exit(dev);
  }
  drm_info->pipeline[pipe].conn_connected = true;
  // Release a stalled page-flip event.
  co_await send_pending_event(*drm_info, pipe);
}

sim::Task<> XenDrmFront::send_pending_event(xen_drm_front_drm_info& drm_info, uint32_t pipe) {
  XFSIM_KFUNC(m_.scheduler);
  drm_device& dev = *drm_info.drm_dev;
  co_await dev.event_lock->lock("send_pending_event");
  drm_pending_vblank_event* event = drm_info.pipeline[pipe].pending_event;
  drm_info.pipeline[pipe].pending_event = nullptr;
  if (event) co_await m_.drm.send_vblank_event(dev, event, "send_pending_event");
  dev.event_lock->unlock();
}

sim::Task<> XenDrmFront::pflip_to_worker(xen_drm_front_drm_info* drm_info, uint32_t pipe) {
  XFSIM_KFUNC(m_.scheduler);
  if (!m_.kmem.check(drm_info, "pflip_to_worker")) co_return;
  m_.scheduler.logf("[drm:pflip_to_worker] *ERROR* Frame done timed-out, releasing");
  co_await send_pending_event(*drm_info, pipe);
}

sim::Task<> XenDrmFront::display_update(drm_device& dev, uint32_t pipe, const drm_pipe_state& old,
                                        const drm_pipe_state& next, drm_pending_vblank_event* event) {
  XFSIM_KFUNC(m_.scheduler);
  xen_drm_front_drm_info* drm_info = drm_info_of(dev);
  if (drm_info == nullptr) co_return;
  auto& pipeline = drm_info->pipeline[pipe];
  if (event) {
    co_await dev.event_lock->lock("display_update");
    // WARN_ON(pipeline->pending_event): the core's flip_done wait keeps a
    // commit from getting here before the previous event was sent.
    if (pipeline.pending_event) {
      m_.scheduler.report(fakes::kWarning, "display_update",
                          fmt::format("WARN_ON(pipeline->pending_event) on pipe {}: an event is still pending", pipe));
    }
    pipeline.pending_event = event;
    dev.event_lock->unlock();
  }
  if (!enter(dev)) {
    co_await send_pending_event(*drm_info, pipe);
    co_return;
  }
  if (old.fb && next.fb) {
    // A real flip: arm the frame-done watchdog, then ask the backend.
    if (variant_.timeout_in_detect)
      pipeline.pflip_timeout = m_.scheduler.now_ms() + FRAME_DONE_TO_MS;
    else
      pipeline.pflip_to_worker->schedule(FRAME_DONE_TO_MS);
    const int ret = co_await xen_drm_front_page_flip(pipe, xen_drm_front_fb_to_cookie(*next.fb));
    if (ret != 0) {
      m_.scheduler.logf("[drm:display_update] *ERROR* Failed to send page flip request to backend: {}", ret);
      signal_backend_failure(*drm_info, pipe);
      co_await send_pending_event(*drm_info, pipe);
    }
    exit(dev);
    co_return;
  }
  exit(dev);
  co_await send_pending_event(*drm_info, pipe);
}

// From the event IRQ, under io_lock.
sim::Task<> XenDrmFront::xen_drm_front_on_frame_done(uint32_t pipe, uint64_t fb_cookie) {
  XFSIM_KFUNC(m_.scheduler);
  (void)fb_cookie;  // upstream does not check which fb the event is for
  xen_drm_front_drm_info* drm_info = front_info_->drm_info;
  if (drm_info == nullptr) {
    if (variant_.frame_done_no_null_check) m_.kmem.check(nullptr, "xen_drm_front_on_frame_done");
    co_return;
  }
  if (!m_.kmem.check(drm_info, "xen_drm_front_on_frame_done")) co_return;
  auto& pipeline = drm_info->pipeline[pipe];
  pipeline.pflip_to_worker->cancel();  // cancel_delayed_work: the IRQ cannot wait
  pipeline.pflip_timeout = 0;
  co_await send_pending_event(*drm_info, pipe);
}

sim::Task<ConnectorStatus> XenDrmFront::connector_detect(drm_device& dev, uint32_t pipe) {
  XFSIM_KFUNC(m_.scheduler);
  xen_drm_front_drm_info* drm_info = drm_info_of(dev);
  if (drm_info == nullptr) co_return ConnectorStatus::disconnected;
  auto& pipeline = drm_info->pipeline[pipe];
  if (variant_.timeout_in_detect && front_info_ && m_.kmem.live(front_info_)) {
    co_await front_info_->io_lock->lock("connector_detect");
    if (pipeline.pflip_timeout && m_.scheduler.now_ms() >= pipeline.pflip_timeout) {
      m_.scheduler.logf("[drm:connector_detect] *ERROR* Frame done event timed-out");
      pipeline.pflip_timeout = 0;
      pipeline.conn_connected = false;
      drm_pending_vblank_event* event = pipeline.pending_event;
      pipeline.pending_event = nullptr;
      if (event) co_await m_.drm.send_vblank_event(dev, event, "connector_detect");
    }
    front_info_->io_lock->unlock();
  }
  if (m_.drm.drm_dev_is_unplugged(dev)) pipeline.conn_connected = false;
  co_return pipeline.conn_connected ? ConnectorStatus::connected : ConnectorStatus::disconnected;
}

// From release: no worker may run past this point.
sim::Task<> XenDrmFront::xen_drm_front_kms_fini(xen_drm_front_drm_info& drm_info) {
  XFSIM_KFUNC(m_.scheduler);
  for (uint32_t pipe = 0; pipe < drm_info.pipeline.size(); ++pipe) {
    auto& pipeline = drm_info.pipeline[pipe];
    co_await pipeline.pflip_to_worker->cancel_sync("xen_drm_front_kms_fini");
    co_await send_pending_event(drm_info, pipe);
  }
}

}  // namespace xfsim::driver
