// World: one simulated machine built from a scenario — the fakes, the driver
// in the chosen variant, the backend, userspace — run for one schedule.
// Built fresh for every schedule, so schedules share nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "driver_core/variant.h"
#include "harness/scenario.h"
#include "sim/scheduler.h"
#include "sim/strategy.h"
#include "sim/trace.h"
#include "sim/violation.h"

namespace xfsim::fakes {
class Kmem;
}  // namespace xfsim::fakes

namespace xfsim::harness {

// The scenario's log expectations (expect.log): a line it requires that no
// log line of the run contains, or a line it forbids that one does. Checked
// at the end of a run that finished (the log of a run cut short proves
// nothing missing).
inline constexpr sim::ViolationKind kMissingLogLine{
    "missing-log-line", "the run ended without a log line the scenario requires (an error left silent)"};
inline constexpr sim::ViolationKind kForbiddenLogLine{
    "forbidden-log-line", "the run printed a log line the scenario forbids (a misleading message)"};
inline constexpr const sim::ViolationKind* kLogExpectationOracles[] = {&kMissingLogLine, &kForbiddenLogLine};

struct RunResult {
  sim::RunStatus status = sim::RunStatus::kFinished;
  std::vector<sim::Violation> violations;  // in the order reported (sim::ReportPolicy)
  uint64_t violations_dropped = 0;         // past Scheduler::kMaxViolationsPerRun
  std::string strategy_error;
  uint64_t steps = 0;
  uint64_t time_ms = 0;
  uint64_t interleaving_hash = 0;          // sim::Trace::interleaving_hash
  uint64_t trace_hash = 0;                 // sim::Trace::trace_hash
  std::vector<sim::InjectedFault> faults;  // injected in the run, scripted or explored (sim/fault.h)
  // "clean", the first violation's kind, "step-limit", "time-limit" or
  // "impossible-schedule".
  std::string verdict() const;
  // The run hit its step or virtual-time bound: nothing can be said of it.
  bool inconclusive() const { return status == sim::RunStatus::kStepLimit || status == sim::RunStatus::kTimeLimit; }
  const sim::Violation* first() const { return violations.empty() ? nullptr : &violations.front(); }
  // The violation with this signature, if the run reported it.
  const sim::Violation* find(const std::string& signature) const;
};

class LifecycleObserver;  // harness/lifecycle_coverage.h

// A read-only look at every kmem object before each scheduling decision and
// at the run's end; `counter` is the scheduler's step counter then (the step
// that last ran is counter - 1). Only `xfsim show` passes one (the objects'
// refcounts, harness/show.cc); with none, nothing is sampled.
using KmemSampler = std::function<void(const fakes::Kmem& kmem, uint64_t counter)>;

// Runs one schedule of `scenario` with `variant`; `trace` receives every
// decision (and log lines when trace.logging). An `observer` samples the
// run's lifecycle states at each decision and at its end (coverage; off,
// and free, when null); a `kmem_sampler` reads the objects at the same points.
RunResult run_once(const Scenario& scenario, const driver::Variant& variant, sim::Strategy& strategy, sim::Trace& trace,
                   LifecycleObserver* observer = nullptr, const KmemSampler& kmem_sampler = nullptr);

}  // namespace xfsim::harness
