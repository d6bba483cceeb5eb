// Fault injection, as the kernel's own (lib/fault-inject.c should_fail(),
// failslab, fail_page_alloc): every fallible call the model makes (an
// allocation, a grant or XenStore operation, an event channel, a DRM-core
// registration) is a FaultSite, declared next to the code that makes the call
// in a per-header table, gathered by the harness and listed by `xfsim sites`.
// At each call the scheduler is asked whether it fails
// (Scheduler::should_fail): because the scenario scripts it (site, nth
// occurrence in the run, error), or because the strategy explores faults
// (Strategy::inject_fault, bounded like preemptions by a fault bound). An
// injected fault is a trace entry, so a run replays with its faults, and a
// finding's reproducer scripts them.
#pragma once

#include <cstdint>
#include <string>

namespace xfsim::sim {

struct FaultSite {
  // "<fallible call>@<the kernel function making it>", as the kernel names
  // both: "drm_dev_alloc@xen_drm_drv_init".
  const char* name;
  const char* meaning;
  int error;  // what the call returns when it fails (a negative errno)
  // A misbehaviour of the hostile backend (fakes/backend.h), not a failing
  // call of the driver: scripted like any fault, explored only when the run
  // asks for a hostile backend (Scheduler::set_hostile_backend).
  bool hostile = false;
};

// A fault a scenario asks for: the nth call at `site` in the run fails.
struct ScriptedFault {
  std::string site;
  uint32_t nth = 1;
  int error = 0;  // 0: the site's own error
};

// What a strategy is shown at a fallible call it may fail.
struct FaultPoint {
  uint64_t step;
  const FaultSite* site;
  uint32_t nth;  // this call is the nth at its site in the run (from 1)
};

// A fault injected in a run, scripted or explored.
struct InjectedFault {
  const FaultSite* site;
  uint32_t nth;
  int error;
  bool explored;  // chosen by the strategy, not scripted
  uint64_t step;
};

}  // namespace xfsim::sim
