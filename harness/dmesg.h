// The model speaks dmesg: a run written as the kernel would have logged it.
// Driver messages in the printk forms of drivers/gpu/drm/xen (DRM_ERROR,
// DRM_INFO, DRM_DEBUG through %ps, so "[drm:func [drm_xen_front]]"),
// xenbus_dev_error's dev_err lines, the grant table's pr_fmt'd lines, and
// each violation as the kernel's own report (mm/kasan/report.c,
// arch/x86/mm/fault.c, lib/refcount.c, kernel/locking/lockdep.c,
// kernel/hung_task.c, kernel/panic.c), with the task's shadow stack as the
// Call Trace. Timestamps are the virtual clock; PIDs, symbol offsets and
// addresses are derived from names and task ids, never from the host, so a
// run's dmesg is as deterministic as its trace. docs/from-log.md lists the
// formats and what is synthetic in them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "harness/world.h"
#include "sim/trace.h"
#include "sim/violation.h"

namespace xfsim::harness {

// The loadable module a kernel function is in, as %ps prints it after the
// name ("drm_xen_front"), or "" for the built-in kernel (xenbus, grant table).
std::string_view kernel_module_of(std::string_view function);
// A model site as a C identifier ("end of run" -> "end_of_run").
std::string kernel_identifier(std::string_view name);
// "name+0xOFF/0xSIZE [module]": offset and size derived from the name.
std::string kernel_symbol(std::string_view function);
// The line the kernel prints for one of the model's log lines (the printk
// string of the function that printed it), or "" when the kernel prints
// nothing there (the model's own notes, userspace, the backend's domain).
std::string kernel_log_line(std::string_view model_line);

// What the kernel shows of a task: its comm and PID.
struct KernelTask {
  std::string comm;
  uint32_t pid = 0;
};
KernelTask kernel_task(std::string_view model_name, std::string_view context, uint32_t task_id);

// One violation as the kernel reports it (several lines, no timestamps).
// `task_id`: the reporting task's id in the run (for its PID).
std::vector<std::string> kernel_report(const sim::Violation& violation, uint32_t task_id);

// The part of a violation's signature that a kernel log shows: the kind,
// the function it happened in, the freeing and allocating functions (a
// use-after-free's pair unordered, as sim::Violation::signature has it),
// lockdep's two classes. Without the object's type: a log names a slab
// cache, not a C type. A parsed log gives the same string (kernel_log.h).
std::string log_signature(const sim::Violation& violation);

// The whole run, one line per printk, "[%5llu.%06llu] " timestamps.
// `line_steps`, when given, receives the step that printed each line.
std::string render_dmesg(const sim::Trace& trace, const RunResult& result, std::vector<uint64_t>* line_steps = nullptr);

}  // namespace xfsim::harness
