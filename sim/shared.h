// Shared<T>: state that tasks of both machines may reach, together with the
// resource it is in step footprints (sim/footprint.h). The value is only
// handed out through read() and write(), which record a read or a write of
// the resource in the running step: an access cannot leave the footprint out.
// A reference taken from them belongs to the step that took it; after a
// scheduling point (any co_await) take it again, or the next step's access
// goes unrecorded.
//
// MachineCallback: a function of one machine that code of the other runs
// (the backend's XenStore watch or its end of an event channel, run by the
// guest's write or notify). Running it reaches that machine, as every step
// of the machine's own tasks does.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "sim/assert.h"
#include "sim/footprint.h"
#include "sim/scheduler.h"

namespace xfsim::sim {

// Names a resource a Shared<T> shares with other state (a wait queue and the
// condition it announces).
struct SharesResource {
  uint32_t resource;
};

template <typename T>
class Shared {
 public:
  // A resource of its own.
  explicit Shared(Scheduler& scheduler) : scheduler_(&scheduler), resource_(scheduler.new_resource()), value_{} {}
  Shared(Scheduler& scheduler, SharesResource shared, T initial = T{})
      : scheduler_(&scheduler), resource_(shared.resource), value_(std::move(initial)) {}
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  const T& read() const {
    scheduler_->touch(resource_, /*write=*/false);
    return value_;
  }
  T& write() {
    scheduler_->touch(resource_, /*write=*/true);
    return value_;
  }
  uint32_t resource() const { return resource_; }
  // The value with no access recorded: for observers that read between steps
  // (harness/lifecycle_coverage.h), never for model code.
  const T& observe() const { return value_; }

 private:
  Scheduler* scheduler_;
  uint32_t resource_;
  T value_;
};

class MachineCallback {
 public:
  MachineCallback() = default;
  MachineCallback(Scheduler& scheduler, uint32_t machine, std::function<void()> fn)
      : scheduler_(&scheduler), machine_(machine), fn_(std::move(fn)) {}
  // Another function of the same machine.
  MachineCallback(const MachineCallback& same_machine, std::function<void()> fn)
      : scheduler_(same_machine.scheduler_), machine_(same_machine.machine_), fn_(std::move(fn)) {}
  void operator()() const {
    XFSIM_ASSERT(scheduler_ != nullptr, "an empty MachineCallback was run");
    scheduler_->touch(machine_);
    fn_();
  }
  explicit operator bool() const { return static_cast<bool>(fn_); }

 private:
  Scheduler* scheduler_ = nullptr;
  uint32_t machine_ = 0;  // machine_resource(domain) of the machine the function belongs to
  std::function<void()> fn_;
};

}  // namespace xfsim::sim
