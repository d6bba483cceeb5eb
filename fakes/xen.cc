#include "fakes/xen.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include "fakes/kmem.h"  // the memory-error kinds grants and ports share with objects
#include "sim/assert.h"

namespace xfsim::fakes {

// ---- page frames ----

uint32_t Memory::alloc_page(int domain, std::string label) {
  scheduler_.touch(resource_);
  PageFrame frame;
  frame.domain = domain;
  frame.label = std::move(label);
  frames_.push_back(std::move(frame));
  return static_cast<uint32_t>(frames_.size() - 1);
}

uint32_t Memory::alloc_ballooned_page(std::string label) {
  const uint32_t page = alloc_page(kFrontendDomid, std::move(label));
  frames_[page].ballooned = true;
  return page;
}

void Memory::free_page(uint32_t page, const char* site) {
  XFSIM_KFUNC(scheduler_);
  scheduler_.touch(resource_);
  XFSIM_ASSERT(page < frames_.size(), "free of page frame {} of {}", page, frames_.size());
  PageFrame& frame = frames_[page];
  if (frame.freed) {
    scheduler_.report(kDoubleFree, site,
                      fmt::format("page {} freed again by {} in {}; first freed by {} at step {}", frame.label,
                                  scheduler_.current_name(), site, frame.free_task, frame.free_step),
                      site);
    return;
  }
  if (frame.grant_mapped_by_other > 0 && frame.domain == kBackendDomid) {
    scheduler_.report(kBackendPageFreedWhileReachable, site,
                      fmt::format("backend frees page {} in {} while the frontend still maps it "
                                  "({} mapping(s)); userspace can reach it through the frontend",
                                  frame.label, site, frame.grant_mapped_by_other),
                      site);
  }
  frame.freed = true;
  frame.free_step = scheduler_.step();
  frame.free_task = scheduler_.current_name();
}

uint32_t Memory::backing_of(uint32_t page) const {
  scheduler_.touch(resource_, /*write=*/false);
  const PageFrame& frame = frames_[page];
  if (frame.freed) return kNoPage;
  if (!frame.ballooned) return page;
  if (frame.mapped_foreign == kNoPage) return kNoPage;
  return frames_[frame.mapped_foreign].freed ? kNoPage : frame.mapped_foreign;
}

// ---- grant table ----

grant_ref_t GrantTable::grant_foreign_access(int granter, int grantee, uint32_t page, bool readonly) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_grant_foreign_access");
  scheduler_.touch(resource_);
  grants_.push_back(Grant{granter, grantee, page, readonly, true, 0});
  return static_cast<grant_ref_t>(grants_.size());
}

bool GrantTable::active(grant_ref_t ref) const {
  scheduler_.touch(resource_, /*write=*/false);
  return ref >= 1 && ref <= grants_.size() && grants_[ref - 1].active;
}

void GrantTable::end_foreign_access(grant_ref_t ref, const char* site, bool free_page) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_end_foreign_access");
  scheduler_.touch(resource_);
  if (ref < 1 || ref > grants_.size()) {
    scheduler_.report(kUseAfterFree, site, fmt::format("{}: grant {} was never granted", site, ref), site);
    return;
  }
  Grant& grant = grants_[ref - 1];
  if (!grant.active) {
    scheduler_.report(kDoubleFree, site, fmt::format("{}: grant {} already ended", site, ref), site);
    return;
  }
  if (grant.maps > 0) {
    scheduler_.report(kGrantEndWhileMapped, site,
                      fmt::format("{}: grant {} of page {} ended while domain {} still maps it", site, ref,
                                  memory_.frame(grant.page).label, grant.grantee),
                      site);
  }
  grant.active = false;
  if (free_page) memory_.free_page(grant.page, site);
}

void GrantTable::end_foreign_access_deferred(grant_ref_t ref, const char* site, bool free_page) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_end_foreign_access");
  scheduler_.touch(resource_);
  if (ref >= 1 && ref <= grants_.size() && grants_[ref - 1].active && grants_[ref - 1].maps > 0) {
    grants_[ref - 1].end_deferred = true;
    grants_[ref - 1].free_page_at_end = free_page;
    return;
  }
  end_foreign_access(ref, site, free_page);
}

uint32_t GrantTable::map(grant_ref_t ref, int mapper, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_map_refs");
  scheduler_.touch(resource_);
  if (ref < 1 || ref > grants_.size() || !grants_[ref - 1].active || grants_[ref - 1].grantee != mapper) {
    scheduler_.logf("{}: map of invalid grant {} refused", site, ref);
    return kNoPage;
  }
  Grant& grant = grants_[ref - 1];
  ++grant.maps;
  ++memory_.frame(grant.page).grant_mapped_by_other;
  return grant.page;
}

void GrantTable::unmap(grant_ref_t ref, int mapper, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "gnttab_unmap_refs");
  scheduler_.touch(resource_);
  XFSIM_ASSERT(ref >= 1 && ref <= grants_.size(), "unmap of grant {} of {}", ref, grants_.size());
  Grant& grant = grants_[ref - 1];
  (void)mapper;
  if (grant.maps == 0) {
    scheduler_.report(kRefcountUnderflow, site, fmt::format("{}: grant {} unmapped more often than mapped", site, ref),
                      site);
    return;
  }
  --grant.maps;
  --memory_.frame(grant.page).grant_mapped_by_other;
  if (grant.maps == 0 && grant.end_deferred) {
    grant.active = false;
    if (grant.free_page_at_end) memory_.free_page(grant.page, "gnttab_handle_deferred");
  }
}

void GrantTable::map_into(uint32_t ballooned_page, grant_ref_t ref, const char* site) {
  const uint32_t page = map(ref, kFrontendDomid, site);
  memory_.frame(ballooned_page).mapped_foreign = page;
}

void GrantTable::unmap_from(uint32_t ballooned_page, grant_ref_t ref, const char* site) {
  scheduler_.touch(resource_);
  PageFrame& frame = memory_.frame(ballooned_page);
  if (frame.mapped_foreign == kNoPage) return;
  unmap(ref, kFrontendDomid, site);
  frame.mapped_foreign = kNoPage;
}

std::vector<std::string> GrantTable::active_grants(int granter) const {
  scheduler_.touch(resource_, /*write=*/false);
  std::vector<std::string> out;
  for (size_t i = 0; i < grants_.size(); ++i) {
    if (grants_[i].active && grants_[i].granter == granter) {
      out.push_back(fmt::format("gref {} (domain {} to {}, page {})", i + 1, grants_[i].granter, grants_[i].grantee,
                                memory_.frame(grants_[i].page).label));
    }
  }
  return out;
}

// ---- event channels ----

evtchn_port_t EventChannels::alloc_unbound(const char*) {
  XFSIM_KFUNC_AS(scheduler_, "xenbus_alloc_evtchn");
  scheduler_.touch(resource_);
  // Port 0 is never valid in Xen.
  if (ports_.empty()) ports_.emplace_back();
  ports_.emplace_back();
  Port& port = ports_.back();
  port.allocated = true;
  port.irq_wait = std::make_unique<sim::WaitQueue>(scheduler_, "irq");
  port.idle_wait = std::make_unique<sim::WaitQueue>(scheduler_, "synchronize_irq");
  return static_cast<evtchn_port_t>(ports_.size() - 1);
}

int EventChannels::bind_to_irqhandler(evtchn_port_t port, const std::string& name, Handler handler) {
  XFSIM_KFUNC_AS(scheduler_, "bind_evtchn_to_irqhandler");
  scheduler_.touch(resource_);
  Port& p = ports_[port];
  XFSIM_ASSERT(p.allocated && !p.bound, "bind of port {}: allocated {}, bound {}", port, p.allocated, p.bound);
  p.bound = true;
  p.name = name;
  p.handler = std::move(handler);
  scheduler_.spawn(fmt::format(FMT_COMPILE("irq/{}-{}"), port, name), sim::TaskKind::kIrq, irq_thread(port),
                   /*daemon=*/true);
  return static_cast<int>(port);
}

sim::Task<> EventChannels::irq_thread(evtchn_port_t port) {
  while (true) {
    scheduler_.touch(resource_);
    while (!ports_[port].pending && !ports_[port].unbinding) {
      co_await ports_[port].irq_wait->wait("irq_thread");
      scheduler_.touch(resource_);
    }
    if (ports_[port].unbinding) break;
    ports_[port].pending = false;
    ports_[port].handler_running = true;
    auto handler = ports_[port].handler;
    co_await handler();
    scheduler_.touch(resource_);
    ports_[port].handler_running = false;
    ports_[port].idle_wait->wake_all();
  }
  ports_[port].idle_wait->wake_all();
}

sim::Task<> EventChannels::unbind_from_irqhandler(int irq, const char* site) {
  XFSIM_KFUNC(scheduler_);
  scheduler_.touch(resource_);
  const auto port = static_cast<evtchn_port_t>(irq);
  Port& p = ports_[port];
  if (!p.bound) {
    scheduler_.report(kDoubleFree, site, fmt::format("{}: irq {} is not bound", site, irq), site);
    co_return;
  }
  sim::might_sleep(scheduler_, site);
  co_await scheduler_.point(site);
  scheduler_.touch(resource_);
  // free_irq → synchronize_irq: a handler already running finishes first.
  while (ports_[port].handler_running) {
    co_await ports_[port].idle_wait->wait(site);
    scheduler_.touch(resource_);
  }
  ports_[port].bound = false;
  ports_[port].unbinding = true;
  ports_[port].irq_wait->wake_all();
}

void EventChannels::free(evtchn_port_t port, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "xenbus_free_evtchn");
  scheduler_.touch(resource_);
  if (port >= ports_.size() || !ports_[port].allocated) {
    scheduler_.report(kDoubleFree, site, fmt::format("{}: event channel {} not allocated", site, port), site);
    return;
  }
  ports_[port].allocated = false;
  ports_[port].backend_notify = nullptr;
}

bool EventChannels::backend_bind(evtchn_port_t port, std::function<void()> on_notify) {
  scheduler_.touch(resource_);
  if (port >= ports_.size() || !ports_[port].allocated) return false;
  ports_[port].backend_notify = std::move(on_notify);
  return true;
}

void EventChannels::backend_unbind(evtchn_port_t port) {
  scheduler_.touch(resource_);
  if (port < ports_.size()) ports_[port].backend_notify = nullptr;
}

void EventChannels::notify_backend(evtchn_port_t port) {
  XFSIM_KFUNC_AS(scheduler_, "notify_remote_via_irq");
  scheduler_.touch(resource_);
  if (port < ports_.size() && ports_[port].backend_notify) ports_[port].backend_notify();
}

void EventChannels::notify_frontend(evtchn_port_t port) {
  XFSIM_KFUNC_AS(scheduler_, "notify_remote_via_evtchn");
  scheduler_.touch(resource_);
  if (port >= ports_.size() || !ports_[port].bound) return;  // lost, as on real hardware
  ports_[port].pending = true;
  ports_[port].irq_wait->wake_one();
}

std::vector<std::string> EventChannels::allocated_ports() const {
  scheduler_.touch(resource_, /*write=*/false);
  std::vector<std::string> out;
  for (size_t i = 1; i < ports_.size(); ++i) {
    if (ports_[i].allocated) out.push_back(fmt::format("evtchn {} ({})", i, ports_[i].name));
  }
  return out;
}

}  // namespace xfsim::fakes
