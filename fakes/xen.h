// The hypervisor's side of the simulated machine: page frames of both
// domains, the grant table and event channels.
//
// Grant table (drivers/xen/grant-table.c, include/xen/grant_table.h):
//   grant-end-while-mapped             gnttab_end_foreign_access on a grant the
//                                      other domain still maps
//   backend-page-freed-while-reachable the backend frees a page the frontend
//                                      still maps (and userspace may reach)
//   leak                               grants still active at the end of a run
// Event channels (drivers/xen/events/events_base.c): each bound port's handler
// runs in its own IRQ-context task; unbind_from_irqhandler waits for a running
// handler to finish (free_irq → synchronize_irq).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/assert.h"
#include "sim/scheduler.h"
#include "sim/wait_queue.h"

namespace xfsim::fakes {

inline constexpr int kFrontendDomid = 1;
inline constexpr int kBackendDomid = 0;
inline constexpr uint32_t kNoPage = 0xffffffffu;

// A page frame of either domain. A frontend "ballooned" page has no memory of
// its own: it shows a backend page while a grant mapping is installed in it.
struct PageFrame {
  int domain = kFrontendDomid;
  bool ballooned = false;
  bool freed = false;
  uint32_t mapped_foreign = kNoPage;   // ballooned: the backend page shown, if any
  uint32_t grant_mapped_by_other = 0;  // how many foreign mappings of this page exist
  uint64_t free_step = 0;
  std::string free_task;
  std::string label;
};

class Memory {
 public:
  explicit Memory(sim::Scheduler& scheduler) : scheduler_(scheduler), resource_(scheduler.new_resource()) {}
  uint32_t alloc_page(int domain, std::string label);
  uint32_t alloc_ballooned_page(std::string label);  // alloc_xenballooned_pages
  void free_page(uint32_t page, const char* site);
  PageFrame& frame(uint32_t page) {
    scheduler_.touch(resource_);
    XFSIM_ASSERT(page < frames_.size(), "page frame {} of {}", page, frames_.size());
    return frames_[page];
  }
  // The page whose memory an access to `page` really reaches; kNoPage if none.
  uint32_t backing_of(uint32_t page) const;

 private:
  sim::Scheduler& scheduler_;
  uint32_t resource_;  // machine memory, shared by the domains, in step footprints
  std::vector<PageFrame> frames_;
};

using grant_ref_t = uint32_t;

class GrantTable {
 public:
  GrantTable(sim::Scheduler& scheduler, Memory& memory)
      : scheduler_(scheduler), resource_(scheduler.new_resource()), memory_(memory) {}
  // gnttab_grant_foreign_access: `granter` lets `grantee` map `page`.
  grant_ref_t grant_foreign_access(int granter, int grantee, uint32_t page, bool readonly);
  // gnttab_end_foreign_access.
  // With free_page, the granted page is freed too (gnttab_end_foreign_access
  // with a page argument).
  void end_foreign_access(grant_ref_t ref, const char* site, bool free_page = false);
  // Since XSA-396 (Linux 5.17): a grant still mapped is ended once the other
  // side unmaps it, and a page to free is kept until then — no violation.
  void end_foreign_access_deferred(grant_ref_t ref, const char* site, bool free_page = false);
  // The other domain maps/unmaps a grant (gnttab_map_refs / gnttab_unmap_refs);
  // returns the granted page, or kNoPage if the grant is not valid.
  uint32_t map(grant_ref_t ref, int mapper, const char* site);
  void unmap(grant_ref_t ref, int mapper, const char* site);
  bool active(grant_ref_t ref) const;
  // Grants `granter` still has active (the leak oracle asks for the frontend's).
  std::vector<std::string> active_grants(int granter) const;
  // Ballooned frontend pages showing backend grants.
  void map_into(uint32_t ballooned_page, grant_ref_t ref, const char* site);
  void unmap_from(uint32_t ballooned_page, grant_ref_t ref, const char* site);

 private:
  struct Grant {
    int granter;
    int grantee;
    uint32_t page;
    bool readonly;
    bool active;
    uint32_t maps;
    bool end_deferred = false;
    bool free_page_at_end = false;
  };
  sim::Scheduler& scheduler_;
  uint32_t resource_;  // the grant table, shared by the domains, in step footprints
  Memory& memory_;
  std::vector<Grant> grants_;  // ref = index + 1 (0 is never a valid gref)
};

using evtchn_port_t = uint32_t;

class EventChannels {
 public:
  using Handler = std::function<sim::Task<>()>;
  explicit EventChannels(sim::Scheduler& scheduler) : scheduler_(scheduler), resource_(scheduler.new_resource()) {}

  // xenbus_alloc_evtchn: an unbound port of the frontend for the backend.
  evtchn_port_t alloc_unbound(const char* site);
  // bind_evtchn_to_irqhandler: the handler runs in IRQ context, in a task of
  // its own. Returns the irq number (== port here).
  int bind_to_irqhandler(evtchn_port_t port, const std::string& name, Handler handler);
  // unbind_from_irqhandler: waits for a running handler to finish.
  sim::Task<> unbind_from_irqhandler(int irq, const char* site);
  // xenbus_free_evtchn.
  void free(evtchn_port_t port, const char* site);

  // The backend binds its end; its handler is a wake-up of its own task.
  bool backend_bind(evtchn_port_t port, std::function<void()> on_notify);
  void backend_unbind(evtchn_port_t port);
  // notify_remote_via_irq from the frontend, or the backend's notify.
  void notify_backend(evtchn_port_t port);
  void notify_frontend(evtchn_port_t port);

  bool allocated(evtchn_port_t port) const {
    scheduler_.touch(resource_, /*write=*/false);
    return port < ports_.size() && ports_[port].allocated;
  }
  std::vector<std::string> allocated_ports() const;

 private:
  struct Port {
    bool allocated = false;
    bool bound = false;
    bool pending = false;
    bool handler_running = false;
    bool unbinding = false;
    std::string name;
    Handler handler;
    std::function<void()> backend_notify;
    std::unique_ptr<sim::WaitQueue> irq_wait;
    std::unique_ptr<sim::WaitQueue> idle_wait;
  };
  sim::Task<> irq_thread(evtchn_port_t port);

  sim::Scheduler& scheduler_;
  uint32_t resource_;  // the ports, shared by the domains, in step footprints
  std::vector<Port> ports_;
};

}  // namespace xfsim::fakes
