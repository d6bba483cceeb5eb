#include "harness/world.h"

#include <algorithm>
#include <optional>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "driver_core/xen_drm_front.h"
#include "fakes/backend.h"
#include "fakes/displif.h"
#include "fakes/drm.h"
#include "fakes/events.h"
#include "fakes/grant_table.h"
#include "fakes/kmem.h"
#include "fakes/leak_check.h"
#include "fakes/page_frames.h"
#include "fakes/xenstore.h"
#include "harness/lifecycle_coverage.h"
#include "harness/userspace.h"
#include "sim/lock.h"
#include "sim/shared.h"

namespace xfsim::harness {

using namespace xfsim::fakes;

const sim::Violation* RunResult::find(const std::string& signature) const {
  for (const auto& v : violations) {
    if (v.signature() == signature) return &v;
  }
  return nullptr;
}

std::string RunResult::verdict() const {
  if (!violations.empty()) return violations.front().kind_name();
  switch (status) {
    case sim::RunStatus::kViolation:
      return "clean";  // not reached: a stop has a violation
    case sim::RunStatus::kStepLimit:
      return "step-limit";
    case sim::RunStatus::kTimeLimit:
      return "time-limit";
    case sim::RunStatus::kStrategyError:
      return "impossible-schedule";
    case sim::RunStatus::kFinished:
      return "clean";
    case sim::RunStatus::kPruned:
      return "pruned";
  }
  return "clean";
}

namespace {

constexpr const char* kFrontend = "device/vdispl/0";
constexpr const char* kBackend = "backend/vdispl/0/0";

struct World {
  sim::Scheduler scheduler;
  Kmem kmem;
  Memory memory;
  XenStore store;
  Xenbus xenbus;
  GrantTable gnttab;
  EventChannels evtchn;
  SharedPages shared;
  DrmCore drm;
  driver::XenDrmFront front;
  Backend backend;
  Userspace userspace;
  XenbusDevice xb_dev;
  XenStore::WatchId otherend_watch = 0;
  sim::Mutex device_lock{scheduler, "device->mutex"};
  bool removed = false;
  bool probed = false;

  World(const Scenario& s, const driver::Variant& variant, sim::Strategy& strategy, sim::Trace& trace)
      : scheduler(strategy, trace),
        kmem(scheduler),
        memory(scheduler),
        store(scheduler),
        xenbus(scheduler, store),
        gnttab(scheduler, memory),
        evtchn(scheduler),
        shared(scheduler),
        drm(scheduler, kmem, memory),
        front(driver::Machine{scheduler, kmem, memory, store, xenbus, gnttab, evtchn, shared, drm}, variant),
        backend(scheduler, store, gnttab, evtchn, memory, shared, s.backend, kFrontend, kBackend),
        userspace(scheduler, drm) {
    drm.set_core_config(s.core);
    gnttab.set_deferred_end_holds_page(s.core.gnttab_deferred_end_holds_page);
    // What the toolstack writes before the guest sees the device.
    store.poke(std::string(kFrontend) + "/state", "1");
    store.poke(std::string(kFrontend) + "/backend", kBackend);
    store.poke(std::string(kFrontend) + "/backend-id", "0");
    store.poke(std::string(kFrontend) + "/be-alloc", s.be_alloc ? "1" : "0");
    for (size_t i = 0; i < s.connectors.size(); ++i) {
      store.poke(fmt::format(FMT_COMPILE("{}/{}/resolution"), kFrontend, i),
                 fmt::format(FMT_COMPILE("{}x{}"), s.connectors[i].first, s.connectors[i].second));
      store.poke(fmt::format(FMT_COMPILE("{}/{}/unique-id"), kFrontend, i), fmt::format(FMT_COMPILE("{}"), i));
    }
    store.poke(std::string(kBackend) + "/state", "1");
    xb_dev.id = 0;
    xb_dev.nodename = kFrontend;
    xb_dev.otherend = kBackend;
  }

  ~World() { scheduler.shutdown(); }

  // xenbus_dev_probe: the driver's probe, then the otherend watch. The driver core holds the device lock across probe
  // and remove, so a remove waits for a probe in progress.
  // A device removed before its probe ran is gone: nothing probes it.
  sim::Task<> probe() {
    co_await device_lock.lock("device_lock");
    if (!removed) {
      co_await front.xen_drv_probe(xb_dev);
      otherend_watch =
          store.register_watch(xb_dev.otherend + "/state", "xenbus_otherend_changed",
                               [this](const std::string&) { return front.xenbus_otherend_changed(xb_dev); });
      probed = true;
    }
    device_lock.unlock();
  }

  // xenbus_dev_remove: the watch goes first, then the driver's remove. A
  // device already unbound, or never probed (removed before its probe ran,
  // found by fuzz --generate), has no watch and no driver to remove.
  sim::Task<> remove() {
    co_await device_lock.lock("device_lock");
    if (!removed && probed) {
      co_await store.unregister_watch(otherend_watch);
      co_await front.xen_drv_remove();
    }
    removed = true;
    device_lock.unlock();
  }

  // End-of-run leak oracle: once the driver is removed and every process is
  // gone, nothing the frontend allocated may remain. Not after a run a
  // violation stopped: it did not get to its end.
  void check_leaks() {
    if (!removed || !userspace.all_exited() || scheduler.stopped_by_violation()) return;
    report_leaks(scheduler, kmem, gnttab, evtchn, store);
  }
};

}  // namespace

namespace {

void check_log(const Scenario& scenario, const sim::Trace& trace, sim::Scheduler& scheduler) {
  const auto printed = [&trace](const std::string& text) {
    return std::any_of(trace.log_lines.begin(), trace.log_lines.end(),
                       [&text](const std::string& line) { return line.find(text) != std::string::npos; });
  };
  for (const std::string& text : scenario.log_require) {
    if (!printed(text))
      scheduler.report(kMissingLogLine, "log", fmt::format("no log line contains \"{}\"", text), text);
  }
  for (const std::string& text : scenario.log_forbid) {
    if (printed(text))
      scheduler.report(kForbiddenLogLine, "log", fmt::format("a log line contains \"{}\"", text), text);
  }
}

}  // namespace

RunResult run_once(const Scenario& scenario, const driver::Variant& variant, sim::Strategy& strategy, sim::Trace& trace,
                   LifecycleObserver* observer, const KmemSampler& kmem_sampler) {
  // Log expectations need the log, which campaigns otherwise do not keep.
  const bool expects_log = !scenario.log_require.empty() || !scenario.log_forbid.empty();
  if (expects_log) trace.logging = true;
  // Coverage: a strategy that samples the world before each decision.
  World* observed = nullptr;
  const auto sample = [&observed, observer, &kmem_sampler] {
    if (observer) {
      observer->sample(observed->kmem, observed->store, std::string(kFrontend) + "/state",
                       std::string(kBackend) + "/state");
    }
    if (kmem_sampler) kmem_sampler(observed->kmem, observed->scheduler.step());
  };
  const bool sampled = observer != nullptr || kmem_sampler != nullptr;
  std::optional<SamplingStrategy> sampling;
  if (sampled) sampling.emplace(strategy, sample);
  auto world = std::make_unique<World>(scenario, variant, sampling ? *sampling : strategy, trace);
  World& w = *world;
  observed = &w;
  w.scheduler.set_report_policy(scenario.report_policy);
  w.scheduler.set_scripted_faults(scenario.faults);
  w.scheduler.set_hostile_backend(scenario.schedule.hostile_backend);
  w.scheduler.spawn("xenwatch", sim::TaskKind::kKthread, w.store.xenwatch_thread(), /*daemon=*/true);
  w.scheduler.spawn("xenbus_probe", sim::TaskKind::kKthread, w.probe());
  w.backend.start();
  w.backend.arm_script();
  w.scheduler.set_any_instant(scenario.schedule.any_instant);
  for (const HostAction& action : scenario.host) {
    World* world_ptr = &w;
    const uint64_t at_ms = action.at_ms;
    const auto remove = [world_ptr] {
      world_ptr->scheduler.spawn("xenbus_remove", sim::TaskKind::kKthread, world_ptr->remove());
    };
    if (!action.when) {
      w.scheduler.add_timer(at_ms, remove);
      continue;
    }
    // The toolstack watches the state and acts at_ms after it (in the writer's step).
    const std::string path =
        action.when->frontend ? std::string(kFrontend) + "/state" : std::string(kBackend) + "/state";
    w.store.when_state(
        path, action.when->state,
        sim::MachineCallback(w.scheduler, sim::machine_resource(sim::kHomeDomain),
                             [world_ptr, at_ms, remove] { world_ptr->scheduler.add_timer(at_ms, remove); }));
  }
  w.userspace.set_device_failed_check([&dev = w.xb_dev] { return dev.failed_fatally; });
  w.userspace.spawn_actors(scenario.actors);
  sim::RunLimits limits;
  limits.steps_max = scenario.schedule.steps_max;
  RunResult result;
  result.status = w.scheduler.run(limits);
  if (result.status == sim::RunStatus::kFinished) {
    w.check_leaks();
    if (expects_log) check_log(scenario, trace, w.scheduler);
  }
  if (sampled) sample();
  result.violations = w.scheduler.violations();
  result.violations_dropped = w.scheduler.violations_dropped();
  result.strategy_error = w.scheduler.strategy_error();
  result.faults = w.scheduler.injected_faults();
  result.steps = w.scheduler.step();
  result.time_ms = w.scheduler.now_ms();
  result.interleaving_hash = trace.interleaving_hash();
  result.trace_hash = trace.trace_hash();
  return result;
}

}  // namespace xfsim::harness
