// Event channels (drivers/xen/events/events_base.c, xenbus_client.c's
// xenbus_alloc_evtchn): each bound port's handler runs in its own IRQ-context
// task; unbind_from_irqhandler waits for a running handler to finish
// (free_irq -> synchronize_irq), then closes the port (__unbind_from_irq ->
// xen_evtchn_close). A notify to an unbound port is lost, as on real hardware.
// Closing a port that is not open is no memory error: Xen answers -EINVAL
// (evtchn_close on an ECS_FREE port), and the caller decides what to say.
//   double-free      unbinding an IRQ that is not bound
//   sleep-in-atomic  unbind_from_irqhandler in atomic context
//   leak             ports still allocated at the end of a run (the leak
//                    oracle asks allocated_ports)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/scheduler.h"
#include "sim/shared.h"
#include "sim/task.h"
#include "sim/wait_queue.h"

namespace xfsim::fakes {

using evtchn_port_t = uint32_t;

class EventChannels {
 public:
  using Handler = std::function<sim::Task<>()>;
  explicit EventChannels(sim::Scheduler& scheduler) : scheduler_(scheduler), ports_(scheduler) {}

  // xenbus_alloc_evtchn: an unbound port of the frontend for the backend.
  evtchn_port_t alloc_unbound(const char* site);
  // bind_evtchn_to_irqhandler: the handler runs in IRQ context, in a task of
  // its own. Returns the irq number (== port here).
  int bind_to_irqhandler(evtchn_port_t port, const std::string& name, Handler handler);
  // unbind_from_irqhandler: waits for a running handler to finish, then
  // closes the port (EVTCHNOP_close), as events_base.c's __unbind_from_irq.
  sim::Task<> unbind_from_irqhandler(int irq, const char* site);
  // EVTCHNOP_close, as xenbus_free_evtchn issues it: 0, or -EINVAL if the
  // port is not open (closed already, or never allocated).
  int free(evtchn_port_t port, const char* site);

  // The backend binds its end; its handler is a wake-up of its own task.
  bool backend_bind(evtchn_port_t port, sim::MachineCallback on_notify);
  void backend_unbind(evtchn_port_t port);
  // notify_remote_via_irq from the frontend, or the backend's notify.
  void notify_backend(evtchn_port_t port);
  void notify_frontend(evtchn_port_t port);

  bool allocated(evtchn_port_t port) const {
    const std::vector<Port>& ports = ports_.read();
    return port < ports.size() && ports[port].allocated;
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
    sim::MachineCallback backend_notify;
    std::unique_ptr<sim::WaitQueue> irq_wait;
    std::unique_ptr<sim::WaitQueue> idle_wait;
  };
  sim::Task<> irq_thread(evtchn_port_t port);

  sim::Scheduler& scheduler_;
  sim::Shared<std::vector<Port>> ports_;  // both domains reach them
};

}  // namespace xfsim::fakes
