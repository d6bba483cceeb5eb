#include "fakes/events.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include "fakes/memory_errors.h"
#include "sim/assert.h"

namespace xfsim::fakes {

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
