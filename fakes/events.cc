#include "fakes/events.h"

#include <cerrno>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "fakes/memory_errors.h"
#include "sim/assert.h"

namespace xfsim::fakes {

evtchn_port_t EventChannels::alloc_unbound(const char*) {
  XFSIM_KFUNC_AS(scheduler_, "xenbus_alloc_evtchn");
  std::vector<Port>& ports = ports_.write();
  // Port 0 is never valid in Xen.
  if (ports.empty()) ports.emplace_back();
  ports.emplace_back();
  Port& port = ports.back();
  port.allocated = true;
  port.irq_wait = std::make_unique<sim::WaitQueue>(scheduler_, "irq");
  port.idle_wait = std::make_unique<sim::WaitQueue>(scheduler_, "synchronize_irq");
  return static_cast<evtchn_port_t>(ports.size() - 1);
}

int EventChannels::bind_to_irqhandler(evtchn_port_t port, const std::string& name, Handler handler) {
  XFSIM_KFUNC_AS(scheduler_, "bind_evtchn_to_irqhandler");
  std::vector<Port>& ports = ports_.write();
  Port& p = ports[port];
  XFSIM_ASSERT(p.allocated && !p.bound, "bind of port {}: allocated {}, bound {}", port, p.allocated, p.bound);
  p.bound = true;
  p.name = name;
  p.handler = std::move(handler);
  scheduler_.spawn(fmt::format(FMT_COMPILE("irq/{}-{}"), port, name), sim::TaskKind::kIrq, irq_thread(port),
                   /*daemon=*/true);
  return static_cast<int>(port);
}

// The port is looked up again after every wait: ports_ may have grown since.
sim::Task<> EventChannels::irq_thread(evtchn_port_t port) {
  while (true) {
    while (true) {
      Port& p = ports_.write()[port];
      if (p.pending || p.unbinding) break;
      co_await p.irq_wait->wait("irq_thread");
    }
    Handler handler;
    {
      Port& p = ports_.write()[port];
      if (p.unbinding) break;
      p.pending = false;
      p.handler_running = true;
      handler = p.handler;
    }
    co_await handler();
    Port& p = ports_.write()[port];
    p.handler_running = false;
    p.idle_wait->wake_all();
  }
  ports_.write()[port].idle_wait->wake_all();
}

sim::Task<> EventChannels::unbind_from_irqhandler(int irq, const char* site) {
  XFSIM_KFUNC(scheduler_);
  const auto port = static_cast<evtchn_port_t>(irq);
  if (!ports_.write()[port].bound) {
    scheduler_.report(kDoubleFree, site, fmt::format("{}: irq {} is not bound", site, irq), site);
    co_return;
  }
  sim::might_sleep(scheduler_, site);
  co_await scheduler_.point(site);
  // free_irq → synchronize_irq: a handler already running finishes first.
  while (true) {
    Port& p = ports_.write()[port];
    if (!p.handler_running) break;
    co_await p.idle_wait->wait(site);
  }
  Port& p = ports_.write()[port];
  p.bound = false;
  p.unbinding = true;
  p.irq_wait->wake_all();
  // unbind_from_irq -> __unbind_from_irq -> xen_evtchn_close (BUG() if Xen
  // refuses): the port is closed here, whoever closes it again later.
  XFSIM_ASSERT(p.allocated, "unbind of irq {}: port not open", irq);
  p.allocated = false;
  p.backend_notify = {};
}

int EventChannels::free(evtchn_port_t port, const char*) {
  XFSIM_KFUNC_AS(scheduler_, "xenbus_free_evtchn");
  std::vector<Port>& ports = ports_.write();
  if (port >= ports.size() || !ports[port].allocated) return -EINVAL;  // evtchn_close: ECS_FREE
  ports[port].allocated = false;
  ports[port].backend_notify = {};
  return 0;
}

bool EventChannels::backend_bind(evtchn_port_t port, sim::MachineCallback on_notify) {
  std::vector<Port>& ports = ports_.write();
  if (port >= ports.size() || !ports[port].allocated) return false;
  ports[port].backend_notify = std::move(on_notify);
  return true;
}

void EventChannels::backend_unbind(evtchn_port_t port) {
  std::vector<Port>& ports = ports_.write();
  if (port < ports.size()) ports[port].backend_notify = {};
}

void EventChannels::notify_backend(evtchn_port_t port) {
  XFSIM_KFUNC_AS(scheduler_, "notify_remote_via_irq");
  std::vector<Port>& ports = ports_.write();
  if (port < ports.size() && ports[port].backend_notify) ports[port].backend_notify();
}

void EventChannels::notify_frontend(evtchn_port_t port) {
  XFSIM_KFUNC_AS(scheduler_, "notify_remote_via_evtchn");
  std::vector<Port>& ports = ports_.write();
  if (port >= ports.size() || !ports[port].bound) return;  // lost, as on real hardware
  ports[port].pending = true;
  ports[port].irq_wait->wake_one();
}

std::vector<std::string> EventChannels::allocated_ports() const {
  const std::vector<Port>& ports = ports_.read();
  std::vector<std::string> out;
  for (size_t i = 1; i < ports.size(); ++i) {
    if (ports[i].allocated) out.push_back(fmt::format("evtchn {} ({})", i, ports[i].name));
  }
  return out;
}

}  // namespace xfsim::fakes
