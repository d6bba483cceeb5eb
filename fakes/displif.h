// The displif protocol (include/xen/interface/io/displif.h): request and
// response ring in one shared page, the event page, and the operations.
// The ring is a standard Xen shared ring of 32 slots; pushing a request into
// a full ring is refused and reported as `ring-overflow` (the real frontend
// has no RING_FULL check: it would overwrite an unanswered request).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "fakes/kmem.h"
#include "sim/assert.h"
#include "sim/scheduler.h"

namespace xfsim::fakes {

inline constexpr sim::ViolationKind kRingOverflow{"ring-overflow", "a request is pushed into a full displif ring"};
inline constexpr const sim::ViolationKind* kDisplifOracles[] = {&kRingOverflow};

// displif.h's operations, its names and back (alike in shape with
// xenstore.h's XenbusState: each mirrors its own protocol header).
enum class DisplifOp : uint8_t {
  DBUF_CREATE = 0x10,
  DBUF_DESTROY = 0x11,
  FB_ATTACH = 0x12,
  FB_DETACH = 0x13,
  SET_CONFIG = 0x14,
  PG_FLIP = 0x15,
};
const char* displif_op_name(DisplifOp op);
bool displif_op_from_name(const std::string& name, DisplifOp& op);

inline constexpr uint32_t XENDISPL_DBUF_FLG_REQ_ALLOC = 1;
inline constexpr uint8_t XENDISPL_EVT_PG_FLIP = 0x00;
inline constexpr uint32_t kRingSlots = 32;       // __RING_SIZE for a 4 KiB page
inline constexpr uint32_t kEventPageSlots = 63;  // XENDISPL_IN_RING_LEN

struct DisplifRequest {
  uint16_t id = 0;
  DisplifOp operation = DisplifOp::DBUF_CREATE;
  uint64_t dbuf_cookie = 0;
  uint64_t fb_cookie = 0;
  uint32_t width = 0, height = 0, bpp = 0, buffer_sz = 0, flags = 0;
  uint32_t gref_directory = 0;
  uint32_t x = 0, y = 0;
};

struct DisplifResponse {
  uint16_t id = 0;
  DisplifOp operation = DisplifOp::DBUF_CREATE;
  int32_t status = 0;
};

struct DisplifEvent {
  uint16_t id = 0;
  uint8_t type = XENDISPL_EVT_PG_FLIP;
  uint64_t fb_cookie = 0;
};

// One shared request/response ring (front_ring + the backend's back_ring).
struct DisplifRing : KObject {
  std::array<DisplifRequest, kRingSlots> requests{};
  std::array<DisplifResponse, kRingSlots> responses{};
  uint32_t req_prod = 0, req_cons = 0;  // req_cons: the backend's private index
  uint32_t rsp_prod = 0, rsp_cons = 0;  // rsp_cons: the frontend's private index
  uint32_t req_prod_pvt = 0;
  uint32_t rsp_prod_pvt = 0;

  // RING_GET_REQUEST + req_prod_pvt++; false (and ring-overflow) when full.
  bool push_request(sim::Scheduler& scheduler, const DisplifRequest& request, const char* site);
  void push_requests() { req_prod = req_prod_pvt; }
  // RING_FULL: as many requests pushed as answers consumed plus the slots.
  bool full() const { return req_prod_pvt - rsp_cons >= kRingSlots; }
  bool has_unconsumed_requests() const { return req_cons != req_prod; }
  DisplifRequest take_request() {
    XFSIM_ASSERT(req_prod - req_cons <= kRingSlots && req_cons != req_prod, "ring: req_cons {} req_prod {}", req_cons,
                 req_prod);
    return requests[req_cons++ % kRingSlots];
  }
  void push_response(const DisplifResponse& response) {
    XFSIM_ASSERT(rsp_prod_pvt - rsp_cons < kRingSlots, "ring: response ring full (rsp_prod {} rsp_cons {})",
                 rsp_prod_pvt, rsp_cons);
    responses[rsp_prod_pvt++ % kRingSlots] = response;
    rsp_prod = rsp_prod_pvt;
  }
};

// The event page: the backend produces, the frontend consumes.
struct DisplifEventPage : KObject {
  std::array<DisplifEvent, kEventPageSlots> events{};
  uint32_t in_prod = 0, in_cons = 0;
  bool push(const DisplifEvent& event) {
    XFSIM_ASSERT(in_prod - in_cons <= kEventPageSlots, "event page: in_prod {} in_cons {}", in_prod, in_cons);
    if (in_prod - in_cons >= kEventPageSlots) return false;  // backend drops it
    events[in_prod++ % kEventPageSlots] = event;
    return true;
  }
};

// Shared pages by page frame: what the backend reaches by mapping a grant.
// The rings, event pages and directories behind these maps are memory both
// domains reach: code of either side touches `resource` (sim/footprint.h)
// in every step that reads or writes them.
struct SharedPages {
  explicit SharedPages(sim::Scheduler& scheduler) : scheduler_(&scheduler), resource_(scheduler.new_resource()) {}
  void touch() const { scheduler_->touch(resource_); }

  std::map<uint32_t, DisplifRing*> rings;
  std::map<uint32_t, DisplifEventPage*> event_pages;
  // Page directories of DBUF_CREATE (gref_directory → grefs of the buffer).
  std::map<uint32_t, std::vector<uint32_t>*> directories;

 private:
  sim::Scheduler* scheduler_;
  uint32_t resource_;
};

}  // namespace xfsim::fakes
