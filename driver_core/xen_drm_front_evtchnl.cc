// xen_drm_front_evtchnl.c: event channels and rings, one request and one
// event channel per connector, and their IRQ handlers.
#include <algorithm>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "driver_core/xen_drm_front.h"

namespace xfsim::driver {

sim::Task<int> XenDrmFront::xen_drm_front_evtchnl_create_all() {
  XFSIM_KFUNC(m_.scheduler);
  // Upstream does not free channels left from an InitWait that never reached
  // Connected; neither does this model (a real leak, see docs/findings.md).
  const uint32_t count = static_cast<uint32_t>(front_info_->connectors.size());
  int ret = m_.scheduler.should_fail(kFaultEvtPairsAlloc);
  if (ret == 0) {
    // kcalloc: every channel exists, zeroed, before the first is built. A
    // zeroed struct mutex is unlocked and a zeroed completion not done, so
    // the model's objects exist from here on; evtchnl_alloc's
    // mutex_init/init_completion only re-initialise them.
    auto* pairs = m_.kmem.kzalloc<EvtPairs>("evt_pairs", fmt::format(FMT_COMPILE("evt_pairs-{}"), xb_dev_->nodename));
    pairs->pairs.resize(count);
    for (auto& pair : pairs->pairs) {
      pair.req.completion = std::make_unique<sim::Completion>(m_.scheduler, "evtchnl->u.req.completion");
      pair.req.req_io_lock = std::make_unique<sim::Mutex>(m_.scheduler, "evtchnl->u.req.req_io_lock");
    }
    front_info_->evt_pairs = pairs;
    for (uint32_t i = 0; i < count && ret == 0; ++i) {
      ret = co_await evtchnl_alloc(pairs, i, EvtchnlType::REQ);
      if (ret < 0) {
        m_.scheduler.logf("[drm:xen_drm_front_evtchnl_create_all] *ERROR* Error allocating control channel");
        break;
      }
      ret = co_await evtchnl_alloc(pairs, i, EvtchnlType::EVT);
      if (ret < 0)
        m_.scheduler.logf("[drm:xen_drm_front_evtchnl_create_all] *ERROR* Error allocating in-event channel");
    }
    // Set only once every channel is built (evtchnl.c:261), and never reset:
    // free_all leaves it as it was.
    if (ret == 0) front_info_->num_evt_pairs = count;
  }
  if (ret == 0) co_return 0;
  // fail: xen_drm_front_evtchnl_free_all (evtchnl.c:264).
  co_await xen_drm_front_evtchnl_free_all();
  co_return ret;
}

// evtchnl_alloc (evtchnl.c:154): page, grant, port, IRQ, in that order; a
// failure leaves what was built for evtchnl_free to undo (or not: see
// free_all), except the page a refused grant was for, freed here.
sim::Task<int> XenDrmFront::evtchnl_alloc(EvtPairs* pairs, uint32_t i, EvtchnlType type) {
  XFSIM_KFUNC(m_.scheduler);
  co_await m_.scheduler.point("evtchnl_alloc");
  auto& evtchnl = type == EvtchnlType::REQ ? pairs->pairs[i].req : pairs->pairs[i].evt;
  const bool is_req = type == EvtchnlType::REQ;
  evtchnl.index = i;
  evtchnl.type = type;
  evtchnl.state = EvtchnlState::DISCONNECTED;
  int ret = m_.scheduler.should_fail(kFaultEvtchnlPage);
  if (ret == 0) {
    evtchnl.page =
        m_.memory.alloc_page(kFrontendDomid, fmt::format(FMT_COMPILE("{}-ring{}"), is_req ? "req" : "evt", i));
    ret = m_.scheduler.should_fail(is_req ? kFaultEvtchnlGrantRing : kFaultEvtchnlGrantPage);
    if (ret != 0) {
      // xenbus_grant_ring says so itself (xenbus_client.c); a refused
      // gnttab_grant_foreign_access is only evtchnl_alloc's DRM_ERROR.
      if (is_req) co_await m_.xenbus.xenbus_dev_fatal(*xb_dev_, ret, "granting access to ring page");
      m_.memory.free_page(evtchnl.page, "evtchnl_alloc");
      evtchnl.page = kNoPage;
    }
  }
  if (ret == 0) {
    if (is_req) {
      evtchnl.ring = m_.kmem.kzalloc<DisplifRing>("displif_ring", fmt::format(FMT_COMPILE("req-ring{}"), i),
                                                  m_.scheduler, m_.shared);
      m_.shared.write().rings[evtchnl.page] = evtchnl.ring;
    } else {
      evtchnl.event_page = m_.kmem.kzalloc<DisplifEventPage>(
          "displif_event_page", fmt::format(FMT_COMPILE("evt-page{}"), i), m_.scheduler, m_.shared);
      m_.shared.write().event_pages[evtchnl.page] = evtchnl.event_page;
    }
    evtchnl.gref = m_.gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, evtchnl.page, false);
    ret = m_.scheduler.should_fail(kFaultEvtchnlAllocPort);
    if (ret != 0) co_await m_.xenbus.xenbus_dev_fatal(*xb_dev_, ret, "allocating event channel");
  }
  if (ret == 0) {
    evtchnl.port = m_.evtchn.alloc_unbound("xenbus_alloc_evtchn");
    ret = m_.scheduler.should_fail(kFaultEvtchnlBindIrq);
  }
  if (ret == 0) {
    evtchnl.irq = m_.evtchn.bind_to_irqhandler(evtchnl.port,
                                               fmt::format(FMT_COMPILE("xen_drm_front-{}"), is_req ? "ctrl" : "evt"),
                                               [this, pairs, i, is_req]() -> sim::Task<> {
                                                 if (is_req) return evtchnl_interrupt_ctrl(pairs, i);
                                                 return evtchnl_interrupt_evt(pairs, i);
                                               });
    co_return 0;
  }
  m_.scheduler.logf("[drm:evtchnl_alloc] *ERROR* Failed to allocate ring: {}", ret);
  co_return ret;
}

sim::Task<int> XenDrmFront::xen_drm_front_evtchnl_publish_all() {
  XFSIM_KFUNC(m_.scheduler);
  const std::string& base = xb_dev_->nodename;
  for (uint32_t i = 0; i < front_info_->num_evt_pairs; ++i) {
    const auto& pair = front_info_->evt_pairs->pairs[i];
    co_await m_.store.write(fmt::format(FMT_COMPILE("{}/{}/req-ring-ref"), base, i), std::to_string(pair.req.gref));
    co_await m_.store.write(fmt::format(FMT_COMPILE("{}/{}/req-event-channel"), base, i),
                            std::to_string(pair.req.port));
    co_await m_.store.write(fmt::format(FMT_COMPILE("{}/{}/evt-ring-ref"), base, i), std::to_string(pair.evt.gref));
    co_await m_.store.write(fmt::format(FMT_COMPILE("{}/{}/evt-event-channel"), base, i),
                            std::to_string(pair.evt.port));
  }
  co_return 0;
}

void XenDrmFront::xen_drm_front_evtchnl_set_state(EvtchnlState state) {
  XFSIM_KFUNC(m_.scheduler);
  if (front_info_->evt_pairs == nullptr) return;
  for (auto& pair : front_info_->evt_pairs->pairs) {
    pair.req.state = state;
    pair.evt.state = state;
  }
}

sim::Task<> XenDrmFront::evtchnl_free(xen_drm_front_evtchnl& evtchnl) {
  XFSIM_KFUNC(m_.scheduler);
  // No ring or event page: never built, or its page was refused (evtchnl.c:131).
  if (evtchnl.ring == nullptr && evtchnl.event_page == nullptr) co_return;
  evtchnl.state = EvtchnlState::DISCONNECTED;
  if (evtchnl.type == EvtchnlType::REQ && evtchnl.completion) {
    // Release everyone waiting for a response.
    evtchnl.resp_status = -EIO;
    evtchnl.completion->complete_all();
  }
  // unbind_from_irqhandler closes the port already (__unbind_from_irq ->
  // xen_evtchn_close); xenbus_free_evtchn then closes the same number again
  // and Xen refuses (-EINVAL), which xenbus_dev_error logs and writes to the
  // error node. Had the number been handed out again in between, this close
  // would take someone else's port; in the model's world nothing allocates a
  // port between the two (fini and create_all both run in xenwatch, and
  // remove unregisters the watch first).
  if (evtchnl.irq >= 0) co_await m_.evtchn.unbind_from_irqhandler(evtchnl.irq, "unbind_from_irqhandler");
  evtchnl.irq = -1;
  if (evtchnl.port) {
    const evtchn_port_t port = evtchnl.port;
    const int err = m_.evtchn.free(port, "xenbus_free_evtchn");
    if (err)
      co_await m_.xenbus.xenbus_dev_error(*xb_dev_, err, fmt::format(FMT_COMPILE("freeing event channel {}"), port));
  }
  evtchnl.port = 0;
  if (evtchnl.gref) {
    gnttab_end_foreign_access(evtchnl.gref, "evtchnl_free", evtchnl.page);
    evtchnl.gref = 0;
    SharedPageFrames& frames = m_.shared.write();
    frames.rings.erase(evtchnl.page);
    frames.event_pages.erase(evtchnl.page);
  }
  if (evtchnl.ring) m_.kmem.kfree(evtchnl.ring, "evtchnl_free");
  if (evtchnl.event_page) m_.kmem.kfree(evtchnl.event_page, "evtchnl_free");
  evtchnl.ring = nullptr;
  evtchnl.event_page = nullptr;
  // memset(evtchnl, 0) (evtchnl.c:153): a waiter complete_all woke but that
  // has not run yet will find the completion's done count at 0
  // (be_stream_do_io_and_wait).
  evtchnl.zeroed = true;
}

sim::Task<> XenDrmFront::xen_drm_front_evtchnl_free_all() {
  XFSIM_KFUNC(m_.scheduler);
  EvtPairs* pairs = front_info_->evt_pairs;
  if (pairs == nullptr) co_return;
  // The kernel walks num_evt_pairs, which create_all sets only once every
  // channel is built: after a failed first create_all it is 0, and the
  // channels built before the failure keep their grants, ports and IRQ
  // handlers (whose dev_id points into the array freed below). correct
  // walks the array it allocated.
  const size_t built = variant_.evtchnl_free_all_by_num_evt_pairs
                           ? std::min<size_t>(front_info_->num_evt_pairs, pairs->pairs.size())
                           : pairs->pairs.size();
  for (size_t i = 0; i < built; ++i) {
    co_await evtchnl_free(pairs->pairs[i].req);
    co_await evtchnl_free(pairs->pairs[i].evt);
  }
  m_.kmem.kfree(pairs, "xen_drm_front_evtchnl_free_all");
  front_info_->evt_pairs = nullptr;
  // num_evt_pairs keeps its value, as in the kernel (evtchnl.c:385-386).
}

// Responses: only the one whose id matches the request in flight completes it.
sim::Task<> XenDrmFront::evtchnl_interrupt_ctrl(EvtPairs* pairs, uint32_t index) {
  XFSIM_KFUNC(m_.scheduler);
  const char* site = "evtchnl_interrupt_ctrl";
  co_await front_info_->io_lock->lock(site);
  if (m_.kmem.check(pairs, site)) {
    auto& evtchnl = pairs->pairs[index].req;
    if (evtchnl.state == EvtchnlState::CONNECTED && m_.kmem.check(evtchnl.ring, site)) {
      DisplifRing::Page& ring = evtchnl.ring->page.write();
      const uint32_t rp = ring.rsp_prod;
      for (uint32_t i = ring.rsp_cons; i != rp; ++i) {
        const DisplifResponse& resp = ring.responses[i % kRingSlots];
        if (resp.id != evtchnl.evt_id) continue;  // stale answer after a timeout
        switch (resp.operation) {
          case DisplifOp::DBUF_CREATE:
          case DisplifOp::DBUF_DESTROY:
          case DisplifOp::FB_ATTACH:
          case DisplifOp::FB_DETACH:
          case DisplifOp::SET_CONFIG:
          case DisplifOp::PG_FLIP:
            evtchnl.resp_status = resp.status;
            evtchnl.completion->complete();
            break;
          default:
            m_.scheduler.logf("[drm:evtchnl_interrupt_ctrl] *ERROR* Operation {} is not supported",
                              static_cast<int>(resp.operation));
        }
      }
      ring.rsp_cons = rp;
    }
  }
  front_info_->io_lock->unlock();
}

sim::Task<> XenDrmFront::evtchnl_interrupt_evt(EvtPairs* pairs, uint32_t index) {
  XFSIM_KFUNC(m_.scheduler);
  const char* site = "evtchnl_interrupt_evt";
  co_await front_info_->io_lock->lock(site);
  if (m_.kmem.check(pairs, site)) {
    auto& evtchnl = pairs->pairs[index].evt;
    if (evtchnl.state == EvtchnlState::CONNECTED && m_.kmem.check(evtchnl.event_page, site)) {
      DisplifEventPage* event_page = evtchnl.event_page;
      DisplifEventPage::Page* page = &event_page->page.write();
      const uint32_t prod = page->in_prod;
      for (uint32_t cons = page->in_cons; cons != prod; ++cons) {
        const DisplifEvent event = page->events[cons % kEventPageSlots];
        if (event.id != evtchnl.evt_id++) continue;
        if (event.type == XENDISPL_EVT_PG_FLIP) {
          co_await xen_drm_front_on_frame_done(index, event.fb_cookie);
          page = &event_page->page.write();  // back on the event page in a later step
        }
      }
      page->in_cons = prod;
    }
  }
  front_info_->io_lock->unlock();
}

}  // namespace xfsim::driver
