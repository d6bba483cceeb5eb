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
#include <vector>

#include "fakes/kmem.h"
#include "sim/assert.h"
#include "sim/scheduler.h"
#include "sim/shared.h"

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

// What both domains reach by a grant: the rings, event pages and page
// directories, each a page the frontend allocates (a kernel object) and the
// backend maps. Their contents, and which page frame holds which, are one
// resource of step footprints (sim/footprint.h): every access goes through
// read() or write() (sim/shared.h), on the page frame map here or on the
// page itself.
class SharedPages;

// One shared request/response ring (front_ring + the backend's back_ring).
struct DisplifRing : KObject {
  struct Page {
    std::array<DisplifRequest, kRingSlots> requests{};
    std::array<DisplifResponse, kRingSlots> responses{};
    uint32_t req_prod = 0, req_cons = 0;  // req_cons: the backend's private index
    uint32_t rsp_prod = 0, rsp_cons = 0;  // rsp_cons: the frontend's private index
    uint32_t req_prod_pvt = 0;
    uint32_t rsp_prod_pvt = 0;

    // RING_GET_REQUEST + req_prod_pvt++; false (and ring-overflow) when full.
    bool push_request(sim::Scheduler& scheduler, const DisplifRequest& request, const char* site);
    void push_requests() { req_prod = req_prod_pvt; }
    // RING_FULL, as the macro computes it: RING_FREE_REQUESTS ==
    // RING_SIZE - (req_prod_pvt - rsp_cons) == 0, in unsigned arithmetic. A
    // backend that answered more often than it was asked (answer_twice) puts
    // rsp_cons ahead of req_prod_pvt: the difference wraps, and the ring is
    // not full (the macro's answer, not "full by 2^32").
    bool full() const { return static_cast<uint32_t>(kRingSlots - (req_prod_pvt - rsp_cons)) == 0; }
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
  DisplifRing(sim::Scheduler& scheduler, const SharedPages& pages);
  sim::Shared<Page> page;
};

// The event page: the backend produces, the frontend consumes.
struct DisplifEventPage : KObject {
  struct Page {
    std::array<DisplifEvent, kEventPageSlots> events{};
    uint32_t in_prod = 0, in_cons = 0;
    bool push(const DisplifEvent& event) {
      XFSIM_ASSERT(in_prod - in_cons <= kEventPageSlots, "event page: in_prod {} in_cons {}", in_prod, in_cons);
      if (in_prod - in_cons >= kEventPageSlots) return false;  // backend drops it
      events[in_prod++ % kEventPageSlots] = event;
      return true;
    }
  };
  DisplifEventPage(sim::Scheduler& scheduler, const SharedPages& pages);
  sim::Shared<Page> page;
};

// A page directory of DBUF_CREATE (struct xendispl_page_directory): the
// grant refs of a buffer's pages, filled by whichever side allocates them.
struct DisplifPageDirectory : KObject {
  DisplifPageDirectory(sim::Scheduler& scheduler, const SharedPages& pages);
  sim::Shared<std::vector<uint32_t>> page;
};

// Which page frame holds which shared page: what the backend finds by mapping
// a grant.
struct SharedPageFrames {
  std::map<uint32_t, DisplifRing*> rings;
  std::map<uint32_t, DisplifEventPage*> event_pages;
  std::map<uint32_t, DisplifPageDirectory*> directories;
};

class SharedPages {
 public:
  explicit SharedPages(sim::Scheduler& scheduler) : frames_(scheduler) {}
  const SharedPageFrames& read() const { return frames_.read(); }
  SharedPageFrames& write() { return frames_.write(); }
  // The pages' contents are in the same resource.
  sim::SharesResource contents() const { return sim::SharesResource{frames_.resource()}; }

 private:
  sim::Shared<SharedPageFrames> frames_;
};

inline DisplifRing::DisplifRing(sim::Scheduler& scheduler, const SharedPages& pages)
    : page(scheduler, pages.contents()) {}
inline DisplifEventPage::DisplifEventPage(sim::Scheduler& scheduler, const SharedPages& pages)
    : page(scheduler, pages.contents()) {}
inline DisplifPageDirectory::DisplifPageDirectory(sim::Scheduler& scheduler, const SharedPages& pages)
    : page(scheduler, pages.contents()) {}

}  // namespace xfsim::fakes
