// xen_drm_front.c: xenbus driver, backend state machine, DRM driver init /
// fini / release, display buffers and the request path to the backend.
#include "driver_core/xen_drm_front.h"

#include <fmt/compile.h>
#include <fmt/format.h>

namespace xfsim::driver {

XenDrmFront::XenDrmFront(Machine machine, Variant variant) : m_(machine), variant_(std::move(variant)) {}

bool XenDrmFront::enter(drm_device& dev) {
  if (variant_.is_unplugged_check) return !m_.drm.drm_dev_is_unplugged(dev);
  return m_.drm.drm_dev_enter(dev);
}

void XenDrmFront::exit(drm_device& dev) {
  if (!variant_.is_unplugged_check) m_.drm.drm_dev_exit(dev);
}

xen_drm_front_drm_info* XenDrmFront::drm_info_of(drm_device& dev) {
  auto* drm_info = static_cast<xen_drm_front_drm_info*>(dev.dev_private);
  return m_.kmem.check(drm_info, "dev->dev_private") ? drm_info : nullptr;
}

// ------------------------------------------------------------ xenbus driver

sim::Task<int> XenDrmFront::xen_drv_probe(XenbusDevice& dev) {
  XFSIM_KFUNC(m_.scheduler);
  xb_dev_ = &dev;
  dev.bound = true;
  front_info_ = m_.kmem.devm_kzalloc<xen_drm_front_info>(dev.id, "xen_drm_front_info", dev.nodename);
  front_info_->xb_dev = &dev;
  front_info_->io_lock = std::make_unique<sim::SpinLock>(m_.scheduler, "front_info->io_lock");
  m_.scheduler.logf("vdispl: xen_drv_probe");
  co_return co_await m_.xenbus.xenbus_switch_state(dev, XenbusState::Initialising, "xen_drv_probe");
}

sim::Task<> XenDrmFront::xenbus_otherend_changed(XenbusDevice& dev) {
  XFSIM_KFUNC(m_.scheduler);
  const XenbusState state = co_await m_.xenbus.xenbus_read_driver_state(dev.otherend + "/state");
  co_await displback_changed(state);
}

sim::Task<> XenDrmFront::displback_changed(XenbusState backend_state) {
  XFSIM_KFUNC(m_.scheduler);
  if (!m_.kmem.check(front_info_, "displback_changed")) co_return;
  XenbusDevice& dev = *xb_dev_;
  m_.scheduler.logf("[drm:displback_changed] Backend state is {}, front is {}", xenbus_strstate(backend_state),
                    xenbus_strstate(dev.state));
  switch (backend_state) {
    case XenbusState::Reconfiguring:
    case XenbusState::Reconfigured:
    case XenbusState::Initialised:
    case XenbusState::Closing:
      break;
    case XenbusState::Initialising:
      if (dev.state == XenbusState::Reconfiguring) break;
      co_await displback_disconnect();  // recovering after the backend closed unexpectedly
      break;
    case XenbusState::InitWait:
      if (dev.state == XenbusState::Reconfiguring) break;
      co_await displback_disconnect();
      if (dev.state != XenbusState::Initialising) break;
      co_await displback_initwait();
      break;
    case XenbusState::Connected:
      if (dev.state != XenbusState::Initialised) break;
      co_await displback_connect();
      break;
    case XenbusState::Unknown:
    case XenbusState::Closed:
      if (dev.state == XenbusState::Closed) break;
      if (dev.state == XenbusState::Initialised && !variant_.initialised_ignores_backend_close) {
        co_await displback_reset_before_connect();
        break;
      }
      co_await displback_disconnect();
      break;
  }
}

sim::Task<> XenDrmFront::displback_initwait() {
  XFSIM_KFUNC(m_.scheduler);
  int ret = co_await xen_drm_front_cfg_card();
  if (ret == 0) ret = co_await xen_drm_front_evtchnl_create_all();
  if (ret == 0) ret = co_await xen_drm_front_evtchnl_publish_all();
  if (ret != 0) {
    co_await m_.xenbus.xenbus_dev_fatal(*xb_dev_, ret, "initializing frontend");
    co_return;
  }
  co_await m_.xenbus.xenbus_switch_state(*xb_dev_, XenbusState::Initialised, "displback_initwait");
}

sim::Task<> XenDrmFront::displback_connect() {
  XFSIM_KFUNC(m_.scheduler);
  xen_drm_front_evtchnl_set_state(EvtchnlState::CONNECTED);
  const int ret = co_await xen_drm_drv_init();
  if (ret != 0) {
    co_await displback_disconnect();
    co_await m_.xenbus.xenbus_dev_fatal(*xb_dev_, ret, "connecting backend");
    co_return;
  }
  co_await m_.xenbus.xenbus_switch_state(*xb_dev_, XenbusState::Connected, "displback_connect");
}

// Not in the kernel (correct only): the backend closed after the frontend
// published its channels but before Connected. v5.10's displback_disconnect
// returns at once (no drm_info) and the frontend stays Initialised with its
// channels, while a backend that starts over only once the frontend says
// Initialising (libxenbe's onStateInitializing) waits too: neither moves.
// Free what displback_initwait built and say Initialising.
sim::Task<> XenDrmFront::displback_reset_before_connect() {
  XFSIM_KFUNC(m_.scheduler);
  co_await xen_drm_front_evtchnl_free_all();
  co_await m_.xenbus.xenbus_switch_state(*xb_dev_, XenbusState::Initialising, "displback_reset_before_connect");
}

sim::Task<> XenDrmFront::displback_disconnect() {
  XFSIM_KFUNC(m_.scheduler);
  if (front_info_->drm_info == nullptr) co_return;
  // Wait until we release the DRM driver.
  co_await m_.xenbus.xenbus_switch_state(*xb_dev_, XenbusState::Reconfiguring, "displback_disconnect");
  co_await xen_drm_drv_fini(/*from_remove=*/false);
}

sim::Task<int> XenDrmFront::xen_drm_front_cfg_card() {
  XFSIM_KFUNC(m_.scheduler);
  const std::string& base = xb_dev_->nodename;
  auto be_alloc = co_await m_.store.read(base + "/be-alloc");
  front_info_->be_alloc = be_alloc && *be_alloc != "0";
  if (front_info_->be_alloc) m_.scheduler.logf("[drm] Backend can provide display buffers");
  front_info_->connectors.clear();
  for (uint32_t i = 0; i < XEN_DRM_FRONT_MAX_CRTCS; ++i) {
    auto resolution = co_await m_.store.read(fmt::format(FMT_COMPILE("{}/{}/resolution"), base, i));
    unsigned width = 0, height = 0;
    if (!resolution || std::sscanf(resolution->c_str(), "%ux%u", &width, &height) != 2) break;
    front_info_->connectors.push_back({width, height});
  }
  if (front_info_->connectors.empty()) {
    m_.scheduler.logf("No connector(s) configured at {}", base);
    co_return -ENODEV;
  }
  m_.scheduler.logf("[drm] Have {} connector(s)", front_info_->connectors.size());
  co_return 0;
}

sim::Task<int> XenDrmFront::xen_drm_drv_init() {
  XFSIM_KFUNC(m_.scheduler);
  m_.scheduler.logf("[drm] Creating Xen PV DRM Display Unit");
  const uint32_t connectors = static_cast<uint32_t>(front_info_->connectors.size());
  if (const int ret = m_.scheduler.should_fail(kFaultDrmInfoAlloc)) co_return ret;  // goto fail: nothing to undo
  xen_drm_front_drm_info* drm_info =
      variant_.devm_driver_data
          ? m_.kmem.devm_kzalloc<xen_drm_front_drm_info>(xb_dev_->id, "xen_drm_front_drm_info", "drm_info")
          : m_.kmem.kzalloc<xen_drm_front_drm_info>("xen_drm_front_drm_info",
                                                    fmt::format(FMT_COMPILE("drm_info{}"), card_));
  drm_info->front_info = front_info_;
  drm_info->teardown_lock = std::make_unique<sim::Mutex>(m_.scheduler, "drm_info->teardown_lock");
  front_info_->drm_info = drm_info;
  if (const int ret = m_.scheduler.should_fail(kFaultDrmDevAlloc)) {
    co_return co_await xen_drm_drv_init_unwind(DrvInitUnwind::fail_dev, drm_info, nullptr, ret);
  }
  drm_device* dev = m_.drm.drm_dev_alloc(*this, connectors, fmt::format(FMT_COMPILE("card{}"), card_++));
  drm_info->drm_dev = dev;
  dev->dev_private = drm_info;
  last_dev_ = dev;
  // xen_drm_front_kms_init: one simple pipe and connector per configured output.
  drm_info->pipeline.resize(connectors);
  for (uint32_t i = 0; i < connectors; ++i) {
    auto& pipeline = drm_info->pipeline[i];
    pipeline.index = i;
    pipeline.width = front_info_->connectors[i].width;
    pipeline.height = front_info_->connectors[i].height;
    pipeline.pflip_to_worker =
        std::make_unique<sim::DelayedWork>(m_.scheduler, fmt::format(FMT_COMPILE("kworker/pflip_to_worker{}"), i),
                                           [this, drm_info, i] { return pflip_to_worker(drm_info, i); });
    dev->connectors[i].mode = drm_display_mode{pipeline.width, pipeline.height};
  }
  m_.drm.poll_init(*dev);
  int ret = m_.scheduler.should_fail(kFaultDrmDevRegister);
  if (ret == 0) ret = co_await m_.drm.drm_dev_register(*dev);
  if (ret != 0) co_return co_await xen_drm_drv_init_unwind(DrvInitUnwind::fail_register, drm_info, dev, ret);
  m_.scheduler.logf("[drm] Initialized xendrm-du 1.0.0 20180221 on minor {}", dev->minor);
  co_return 0;
}

// xen_drm_drv_init's labels, falling through from `from`. In both versions
// drm_dev_put drops the only reference, so xen_drm_drv_release runs inside it
// and frees drm_info. v5.10 then frees it again at `fail`, and reaches `fail`
// straight from a drm_dev_alloc failure, leaving front_info->drm_info set:
// displback_connect's displback_disconnect then runs fini on freed memory.
// The fixed version (5.12's fail_dev, without its kfree after release) clears
// front_info->drm_info and frees drm_info only where release did not.
sim::Task<int> XenDrmFront::xen_drm_drv_init_unwind(DrvInitUnwind from, xen_drm_front_drm_info* drm_info,
                                                    drm_device* dev, int ret) {
  // No frame of its own: it is the tail of xen_drm_drv_init, whose frame is on the stack.
  const bool v5_10 = variant_.drv_init_unwind_v5_10;
  // fail_register: drm_dev_unregister has nothing to undo here (the fake's
  // register fails before it publishes a minor).
  if (from != DrvInitUnwind::fail_dev) {  // fail_modeset
    co_await m_.drm.poll_fini(*dev);
    co_await m_.drm.drm_dev_put(*dev, "xen_drm_drv_init");  // release frees drm_info
    if (!v5_10) {
      front_info_->drm_info = nullptr;
      co_return ret;
    }
  }
  if (!v5_10) {  // fail_dev
    if (!variant_.devm_driver_data) m_.kmem.kfree(drm_info, "xen_drm_drv_init");
    front_info_->drm_info = nullptr;
    co_return ret;
  }
  // fail (v5.10): kfree(drm_info), front_info->drm_info left as it was.
  if (!variant_.devm_driver_data) m_.kmem.kfree(drm_info, "xen_drm_drv_init");
  co_return ret;
}

// Backend disconnect (from_remove=false) or driver removal: unplug the
// drm_device, which lives on as a zombie while userspace holds it. Two
// versions: v5.10's, and the one the review asked for.
sim::Task<> XenDrmFront::xen_drm_drv_fini(bool from_remove) {
  return variant_.be_alloc_initialising_in_release ? xen_drm_drv_fini_v5_10(from_remove)
                                                   : xen_drm_drv_fini_reviewed(from_remove);
}

// v5.10: drop the driver's reference first; with no open file the release
// callback (and, for be-alloc, its switch to Initialising) runs right here.
// Then free the channels and every buffer, and unless the backend lent the
// buffers, tell it we are ready to (re)initialise; otherwise wait for
// drm_driver.release.
sim::Task<> XenDrmFront::xen_drm_drv_fini_v5_10(bool from_remove) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_drv_fini");
  xen_drm_front_drm_info* drm_info = front_info_->drm_info;
  if (drm_info == nullptr) co_return;
  if (!m_.kmem.check(drm_info, "xen_drm_drv_fini")) co_return;
  drm_device* dev = drm_info->drm_dev;
  if (dev == nullptr || m_.drm.drm_dev_is_unplugged(*dev)) co_return;
  const bool be_alloc = front_info_->be_alloc;

  co_await m_.drm.poll_fini(*dev);
  if (!variant_.no_hotplug_uevent) {  // v5.10 sends none (upstream sets no_hotplug_uevent)
    for (uint32_t pipe = 0; pipe < dev->connectors.size(); ++pipe) {
      m_.drm.set_link_status(*dev, pipe, LinkStatus::BAD);
      dev->connectors[pipe].status = ConnectorStatus::disconnected;
    }
    m_.drm.hotplug_event(*dev);
  }
  co_await m_.drm.drm_dev_unplug(*dev);
  co_await m_.drm.drm_dev_put(*dev, "xen_drm_drv_fini");
  front_info_->drm_info = nullptr;
  co_await xen_drm_front_evtchnl_free_all();
  co_await dbuf_free_all("xen_drm_drv_fini");
  if (!be_alloc && (!from_remove || variant_.remove_switches_initialising)) {
    co_await m_.xenbus.xenbus_switch_state(*xb_dev_, XenbusState::Initialising, "xen_drm_drv_fini");
  }
}

// As the review asked: tell userspace before the device goes, make backing
// storage unreachable and release it synchronously, and only then let the
// backend re-initialise; the driver's reference goes last.
sim::Task<> XenDrmFront::xen_drm_drv_fini_reviewed(bool from_remove) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_drv_fini");
  xen_drm_front_drm_info* drm_info = front_info_->drm_info;
  if (drm_info == nullptr) co_return;
  if (!m_.kmem.check(drm_info, "xen_drm_drv_fini")) co_return;
  drm_device* dev = drm_info->drm_dev;
  if (dev == nullptr || m_.drm.drm_dev_is_unplugged(*dev)) co_return;
  const bool be_alloc = front_info_->be_alloc;

  co_await m_.drm.poll_fini(*dev);
  // Tell userspace before the device goes: link-status BAD and a uevent.
  if (!variant_.no_hotplug_uevent) {
    for (uint32_t pipe = 0; pipe < dev->connectors.size(); ++pipe) {
      m_.drm.set_link_status(*dev, pipe, LinkStatus::BAD);
      dev->connectors[pipe].status = ConnectorStatus::disconnected;
    }
    m_.drm.hotplug_event(*dev);
  }
  co_await m_.drm.drm_dev_unplug(*dev);

  const bool release_storage_now = !(variant_.zombie_with_be_alloc && be_alloc);
  if (release_storage_now) {
    // The review's recipe: make backing storage unreachable (PTEs zapped; the
    // fault handler answers SIGBUS from now on), then release it
    // synchronously under the mutex that keeps GEM free out.
    if (!variant_.no_vma_unmap) {
      for (drm_gem_object* obj : dev->objects) m_.drm.drm_vma_node_unmap(*obj);
    }
    if (!variant_.no_teardown_mutex) co_await drm_info->teardown_lock->lock("xen_drm_drv_fini");
    co_await dbuf_free_all("xen_drm_drv_fini");
    drm_info->storage_released = true;
    if (!variant_.no_teardown_mutex) drm_info->teardown_lock->unlock();
  }
  front_info_->drm_info = nullptr;
  co_await xen_drm_front_evtchnl_free_all();
  if (!variant_.switch_state_in_release && !from_remove) {
    // Only now may the backend re-initialise (and free what it lent).
    co_await m_.xenbus.xenbus_switch_state(*xb_dev_, XenbusState::Initialising, "xen_drm_drv_fini");
  }
  co_await m_.drm.drm_dev_put(*dev, "xen_drm_drv_fini");
}

// drm_driver.release: the last reference to the drm_device is gone.
sim::Task<> XenDrmFront::release(drm_device& dev) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_drv_release");
  xen_drm_front_drm_info* drm_info = static_cast<xen_drm_front_drm_info*>(dev.dev_private);
  if (!m_.kmem.check(drm_info, "xen_drm_drv_release")) co_return;
  co_await xen_drm_front_kms_fini(*drm_info);
  // drm_atomic_helper_shutdown: disable what is still enabled.
  for (uint32_t pipe = 0; pipe < dev.pipes.size(); ++pipe) {
    if (dev.pipes[pipe].enabled) co_await display_disable(dev, pipe);
  }
  // drm_mode_config_cleanup: framebuffers still on the pipes go.
  for (auto& state : dev.pipes) {
    drm_framebuffer* fb = state.fb;
    state = drm_pipe_state{};
    if (fb && fb->refcount.put(m_.scheduler, "drm_mode_config_cleanup", fb->label)) co_await fb_destroy(*fb);
  }
  if (variant_.release_uses_front_info) {
    xen_drm_front_info* front_info = drm_info->front_info;
    if (m_.kmem.check(front_info, "xen_drm_drv_release") && front_info->be_alloc) {
      co_await m_.xenbus.xenbus_switch_state(*front_info->xb_dev, XenbusState::Initialising, "xen_drm_drv_release");
    }
  }
  if (variant_.zombie_with_be_alloc && !drm_info->storage_released) {
    co_await dbuf_free_all("xen_drm_drv_release");
    drm_info->storage_released = true;
  }
  if (variant_.switch_state_in_release) {
    xen_drm_front_info* front_info = drm_info->front_info;
    if (m_.kmem.check(front_info, "xen_drm_drv_release") && front_info->xb_dev->bound) {
      co_await m_.xenbus.xenbus_switch_state(*front_info->xb_dev, XenbusState::Initialising, "xen_drm_drv_release");
    }
  }
  if (!variant_.devm_driver_data) m_.kmem.kfree(drm_info, "xen_drm_drv_release");
}

sim::Task<> XenDrmFront::xen_drv_remove() {
  XFSIM_KFUNC(m_.scheduler);
  XenbusDevice& dev = *xb_dev_;
  co_await m_.xenbus.xenbus_switch_state(dev, XenbusState::Closing, "xen_drv_remove");
  // Give the backend a chance to go back to InitWait: 100 polls, 10 ms each.
  sim::WaitQueue sleep(m_.scheduler, "msleep");
  int to = 100;
  while (to-- > 0) {
    const XenbusState state = co_await m_.xenbus.xenbus_read_driver_state(dev.otherend + "/state");
    if (state == XenbusState::InitWait) break;
    co_await sleep.wait("msleep", 10);
  }
  if (to < 0) {
    const XenbusState state = co_await m_.xenbus.xenbus_read_driver_state(dev.otherend + "/state");
    m_.scheduler.logf("[drm:xen_drv_remove] *ERROR* Backend state is {} while removing driver", xenbus_strstate(state));
  }
  co_await xen_drm_drv_fini(/*from_remove=*/true);
  // xenbus_frontend_closed
  co_await m_.xenbus.xenbus_switch_state(dev, XenbusState::Closed, "xenbus_frontend_closed");
  dev.bound = false;
  // Event channels of a device that never connected are freed here in
  // correct; upstream leaves them (they were only freed by fini).
  if (front_info_->evt_pairs && !variant_.remove_switches_initialising) {
    co_await xen_drm_front_evtchnl_free_all();
  }
  // devres_release_all: front_info (and a devm drm_info) die with the device.
  m_.kmem.devres_release_all(dev.id, "devres_release_all");
}

// ------------------------------------------------------------ requests

// be_prepare_req + be_stream_do_io + be_stream_wait_io.
sim::Task<int> XenDrmFront::be_stream_do_io_and_wait(xen_drm_front_evtchnl& evtchnl, DisplifRequest request,
                                                     const char* site) {
  XFSIM_KFUNC(m_.scheduler);
  // The caller computed &evt_pairs[i] before sleeping; fini may have freed
  // the array since (the kernel would touch freed memory here).
  EvtPairs* pairs = front_info_->evt_pairs;
  if (last_dev_ != nullptr && m_.kmem.live(last_dev_)) m_.drm.check_backend_access(*last_dev_, site);
  co_await evtchnl.req_io_lock->lock(site);
  if (pairs == nullptr || !m_.kmem.check(pairs, site)) {
    evtchnl.req_io_lock->unlock();
    co_return -EIO;
  }
  co_await front_info_->io_lock->lock(site);
  if (last_dev_ != nullptr && m_.kmem.live(last_dev_)) m_.drm.check_backend_access(*last_dev_, site);
  if (!m_.kmem.check(pairs, site)) {
    front_info_->io_lock->unlock();
    evtchnl.req_io_lock->unlock();
    co_return -EIO;
  }
  request.id = evtchnl.evt_next_id++;
  evtchnl.evt_id = request.id;
  int ret = 0;
  if (evtchnl.state != EvtchnlState::CONNECTED) {
    ret = -EIO;
  } else if (m_.kmem.check(evtchnl.ring, site)) {
    DisplifRing::Page& ring = evtchnl.ring->page.write();
    evtchnl.completion->reinit();
    if (!variant_.no_ring_full_check && ring.full()) {
      // RING_FULL: every slot holds a request the backend never answered.
      m_.scheduler.logf("[drm:be_stream_do_io] *ERROR* request ring full, backend not answering");
      ret = -EIO;
    } else if (ring.push_request(m_.scheduler, request, site)) {
      ring.push_requests();
      m_.evtchn.notify_backend(evtchnl.port);
    } else {
      ret = -EIO;
    }
  }
  front_info_->io_lock->unlock();
  if (ret == 0) {
    sim::Completion* completion = evtchnl.completion.get();
    const bool done = co_await completion->wait_for_completion_timeout(site, XEN_DRM_FRONT_WAIT_BACK_MS);
    // The channel may have been freed while we slept (evtchnl_free does
    // complete_all): reading its status is what the kernel does next.
    if (!m_.kmem.check(pairs, site)) {
      ret = -EIO;
    } else if (done && evtchnl.zeroed) {
      // complete_all woke us, then evtchnl_free's memset zeroed the
      // completion before we looked: do_wait_for_common finds done == 0 with
      // time left, goes round again, and __prepare_to_swait list_add_tail()s
      // onto the zeroed swait head (prev == NULL). Only a request outside
      // drm_dev_enter can still be waiting when fini frees the channels.
      m_.scheduler.report(fakes::kNullDeref, "__prepare_to_swait",
                          fmt::format("{}: woken by evtchnl_free's complete_all, then waits again on the completion "
                                      "its memset zeroed: list_add_tail on a NULL prev",
                                      site),
                          site);
      ret = -EIO;
    } else {
      ret = done ? evtchnl.resp_status : -ETIMEDOUT;
    }
  }
  evtchnl.req_io_lock->unlock();
  co_return ret;
}

// Buffer and framebuffer operations go on channel 0, SET_CONFIG and PG_FLIP
// on the connector's own; no channels (not connected, or freed): -EIO.
sim::Task<int> XenDrmFront::send_request(uint32_t channel, const DisplifRequest& request, const char* site) {
  XFSIM_KFUNC(m_.scheduler);
  if (!m_.kmem.check(front_info_, site) || front_info_->evt_pairs == nullptr) co_return -EIO;
  if (channel >= front_info_->num_evt_pairs) co_return -EINVAL;
  // num_evt_pairs is never reset: a stale count could exceed a new, smaller
  // array in create_all's window (a kernel out-of-bounds read). The model's
  // connector count is fixed per run, so this cannot happen here.
  XFSIM_ASSERT(channel < front_info_->evt_pairs->pairs.size(), "channel {} of {} channels", channel,
               front_info_->evt_pairs->pairs.size());
  co_return co_await be_stream_do_io_and_wait(front_info_->evt_pairs->pairs[channel].req, request, site);
}

// The backend may still map a grant the frontend gives up (a hung or slow
// backend, a remove racing its connect): 5.10 then defers the end and puts
// `page` once the mapping is gone; without a page the caller still owns it.
void XenDrmFront::gnttab_end_foreign_access(grant_ref_t gref, const char* site, uint32_t page) {
  XFSIM_KFUNC(m_.scheduler);
  m_.gnttab.end_foreign_access(gref, site, page);
}

xen_drm_front_dbuf* XenDrmFront::dbuf_get(uint64_t cookie) {
  for (xen_drm_front_dbuf* dbuf : front_info_->dbuf_list) {
    if (dbuf->dbuf_cookie == cookie) return dbuf;
  }
  return nullptr;
}

// Ends our grants, unmaps the backend's pages (be-alloc), frees the dbuf
// (xen_front_pgdir_shbuf_unmap, then xen_front_pgdir_shbuf_free).
void XenDrmFront::dbuf_release_storage(xen_drm_front_dbuf& dbuf, const char* site) {
  XFSIM_KFUNC(m_.scheduler);
  for (size_t i = 0; i < dbuf.mapped_pages.size(); ++i) {
    m_.gnttab.unmap_from(dbuf.mapped_pages[i], dbuf.backend_grefs[i], site);
  }
  dbuf.mapped_pages.clear();
  for (size_t i = 0; i < dbuf.grefs.size(); ++i) {
    if (variant_.grant_end_without_page) {
      // gnttab_end_foreign_access(buf->grefs[i], 0, 0UL): the GEM object
      // frees the page later (drm_gem_put_pages), deferred end or not.
      gnttab_end_foreign_access(dbuf.grefs[i], site);
    } else {
      // The grant table gets a reference of its own, put with the grant.
      m_.memory.get_page(dbuf.pages[i]);
      gnttab_end_foreign_access(dbuf.grefs[i], site, dbuf.pages[i]);
    }
  }
  dbuf.grefs.clear();
  dbuf.pages.clear();
  if (dbuf.directory_gref) {
    if (variant_.grant_end_without_page) {
      // page 0, then kfree(buf->directory) at once.
      gnttab_end_foreign_access(dbuf.directory_gref, site);
      m_.memory.free_page(dbuf.directory_page, site);
    } else {
      gnttab_end_foreign_access(dbuf.directory_gref, site, dbuf.directory_page);
    }
    m_.shared.write().directories.erase(dbuf.directory_page);
    m_.kmem.kfree(dbuf.directory, site);
    dbuf.directory_gref = 0;
  }
}

sim::Task<> XenDrmFront::dbuf_free(uint64_t cookie, const char* site) {
  XFSIM_KFUNC(m_.scheduler);
  xen_drm_front_dbuf* dbuf = dbuf_get(cookie);
  if (dbuf == nullptr) co_return;
  co_await m_.scheduler.point(site);  // list walk and free are not atomic
  if (!m_.kmem.check(dbuf, site)) co_return;
  std::erase(front_info_->dbuf_list, dbuf);
  dbuf_release_storage(*dbuf, site);
  m_.kmem.kfree(dbuf, site);
}

sim::Task<> XenDrmFront::dbuf_free_all(const char* site) {
  XFSIM_KFUNC(m_.scheduler);
  std::vector<xen_drm_front_dbuf*> list = front_info_->dbuf_list;
  for (xen_drm_front_dbuf* dbuf : list) {
    co_await m_.scheduler.point(site);
    if (!m_.kmem.check(dbuf, site)) co_return;
    std::erase(front_info_->dbuf_list, dbuf);
    dbuf_release_storage(*dbuf, site);
    m_.kmem.kfree(dbuf, site);
  }
}

sim::Task<int> XenDrmFront::xen_drm_front_dbuf_create(uint64_t cookie, uint32_t width, uint32_t height, uint32_t bpp,
                                                      uint32_t size, xen_gem_object& obj) {
  XFSIM_KFUNC(m_.scheduler);
  const char* site = "xen_drm_front_dbuf_create";
  if (!m_.kmem.check(front_info_, site) || front_info_->evt_pairs == nullptr) co_return -EIO;
  auto* dbuf =
      m_.kmem.kzalloc<xen_drm_front_dbuf>("xen_drm_front_dbuf", fmt::format(FMT_COMPILE("dbuf-{}"), obj.label));
  dbuf->dbuf_cookie = cookie;
  front_info_->dbuf_list.push_back(dbuf);  // added before any I/O, as upstream does
  // xen_front_pgdir_shbuf_alloc: the directory, and (!be_alloc) our pages granted.
  auto* directory = m_.kmem.kzalloc<DisplifPageDirectory>("pgdir", fmt::format(FMT_COMPILE("pgdir-{}"), obj.label),
                                                          m_.scheduler, m_.shared);
  dbuf->directory = directory;
  dbuf->directory_page = m_.memory.alloc_page(kFrontendDomid, fmt::format(FMT_COMPILE("pgdir-{}"), obj.label));
  m_.shared.write().directories[dbuf->directory_page] = directory;
  dbuf->directory_gref = m_.gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, dbuf->directory_page, false);
  if (!obj.be_alloc) {
    for (uint32_t page : obj.pages) {
      dbuf->grefs.push_back(m_.gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, page, false));
      dbuf->pages.push_back(page);
    }
    directory->page.write() = dbuf->grefs;
  }
  DisplifRequest request;
  request.operation = DisplifOp::DBUF_CREATE;
  request.dbuf_cookie = cookie;
  request.width = width;
  request.height = height;
  request.bpp = bpp;
  request.buffer_sz = size;
  request.gref_directory = dbuf->directory_gref;
  request.flags = obj.be_alloc ? XENDISPL_DBUF_FLG_REQ_ALLOC : 0;
  int ret = co_await send_request(GENERIC_OP_EVT_CHNL, request, site);
  if (ret == 0 && obj.be_alloc) {
    // xen_front_pgdir_shbuf_map: the backend's grants into our ballooned pages.
    if (!m_.kmem.check(dbuf, site) || !m_.kmem.check(&obj, site)) co_return -EIO;
    // The directory the backend filled in: one gref per page, read from the
    // kcalloc'd directory, so a slot the backend did not fill (it answered
    // before filling it, or lied) reads 0, never a valid grant.
    const std::vector<uint32_t> grefs = dbuf->directory->page.read();
    for (size_t i = 0; i < obj.pages.size(); ++i) {
      const grant_ref_t gref = i < grefs.size() ? grefs[i] : 0;
      m_.gnttab.map_into(obj.pages[i], gref, site);
      if (m_.memory.frame(obj.pages[i]).mapped_foreign == kNoPage) {
        // GNTST_bad_gntref (-4): the only per-op status the model gives.
        m_.scheduler.logf("vdispl vdispl-0: Failed to map page {}: -4", i);
        if (!variant_.backend_map_ignores_page_errors && ret == 0) ret = -ENXIO;
        continue;
      }
      dbuf->backend_grefs.push_back(gref);
      dbuf->mapped_pages.push_back(obj.pages[i]);
    }
    // backend_unmap: dbuf_free below unmaps the pages that did map.
    if (ret != 0) m_.scheduler.logf("vdispl vdispl-0: Failed to map grant references, ret {}", ret);
  }
  if (ret != 0) co_await dbuf_free(cookie, site);
  co_return ret;
}

sim::Task<int> XenDrmFront::xen_drm_front_dbuf_destroy(uint64_t cookie) {
  XFSIM_KFUNC(m_.scheduler);
  const char* site = "xen_drm_front_dbuf_destroy";
  if (!m_.kmem.check(front_info_, site) || front_info_->evt_pairs == nullptr) co_return -EIO;
  const bool be_alloc = front_info_->be_alloc;
  // be-alloc: free (unmap the backend's pages) first so the backend may free them.
  if (be_alloc) co_await dbuf_free(cookie, site);
  DisplifRequest request;
  request.operation = DisplifOp::DBUF_DESTROY;
  request.dbuf_cookie = cookie;
  const int ret = co_await send_request(GENERIC_OP_EVT_CHNL, request, site);
  // !be-alloc: free whatever the backend answered (ends our grants).
  if (!be_alloc) co_await dbuf_free(cookie, site);
  co_return ret;
}

sim::Task<int> XenDrmFront::xen_drm_front_fb_attach(uint64_t dbuf_cookie, uint64_t fb_cookie, uint32_t w, uint32_t h) {
  XFSIM_KFUNC(m_.scheduler);
  const char* site = "xen_drm_front_fb_attach";
  if (!m_.kmem.check(front_info_, site) || front_info_->evt_pairs == nullptr) co_return -EIO;
  xen_drm_front_dbuf* dbuf = dbuf_get(dbuf_cookie);
  if (dbuf == nullptr) co_return -EINVAL;
  dbuf->fb_cookie = fb_cookie;
  DisplifRequest request;
  request.operation = DisplifOp::FB_ATTACH;
  request.dbuf_cookie = dbuf_cookie;
  request.fb_cookie = fb_cookie;
  request.width = w;
  request.height = h;
  co_return co_await send_request(GENERIC_OP_EVT_CHNL, request, site);
}

sim::Task<int> XenDrmFront::xen_drm_front_fb_detach(uint64_t fb_cookie) {
  XFSIM_KFUNC(m_.scheduler);
  DisplifRequest request;
  request.operation = DisplifOp::FB_DETACH;
  request.fb_cookie = fb_cookie;
  co_return co_await send_request(GENERIC_OP_EVT_CHNL, request, "xen_drm_front_fb_detach");
}

sim::Task<int> XenDrmFront::xen_drm_front_mode_set(uint32_t pipe, uint64_t fb_cookie, uint32_t w, uint32_t h,
                                                   uint32_t bpp) {
  XFSIM_KFUNC(m_.scheduler);
  DisplifRequest request;
  request.operation = DisplifOp::SET_CONFIG;
  request.fb_cookie = fb_cookie;
  request.width = w;
  request.height = h;
  request.bpp = bpp;
  co_return co_await send_request(pipe, request, "xen_drm_front_mode_set");
}

sim::Task<int> XenDrmFront::xen_drm_front_page_flip(uint32_t pipe, uint64_t fb_cookie) {
  XFSIM_KFUNC(m_.scheduler);
  DisplifRequest request;
  request.operation = DisplifOp::PG_FLIP;
  request.fb_cookie = fb_cookie;
  co_return co_await send_request(pipe, request, "xen_drm_front_page_flip");
}

}  // namespace xfsim::driver
