// harness/dmesg: a run as the kernel logs it (see dmesg.h). The report
// formats follow the v5.10 sources named at each function; what the model
// cannot know (symbol sizes, addresses, PIDs, source lines) is derived from
// names and ids, so it is stable across runs and hosts.
#include "harness/dmesg.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace xfsim::harness {
namespace {

constexpr std::string_view kUname = "5.10.7 #1";
constexpr std::string_view kHardware = "Xen HVM domU, BIOS 4.14.1 01/01/2021";
constexpr std::string_view kKasanSeparator = "==================================================================";
constexpr std::string_view kLockdepSeparator = "======================================================";
constexpr std::string_view kCutHere = "------------[ cut here ]------------";

uint64_t name_hash(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return h ^ (h >> 29);
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// The driver's own functions: a module (CONFIG_DRM_XEN_FRONTEND=m).
constexpr std::array<std::string_view, 12> kDriverPrefixes = {
    "xen_drm_", "displback_", "evtchnl_", "xen_drv_",   "be_stream_",      "dbuf_",
    "fb_",      "display_",   "pflip_",   "connector_", "xen_front_pgdir", "send_pending_event"};
constexpr std::array<std::string_view, 6> kKmsHelperPrefixes = {"drm_atomic_helper_", "drm_kms_helper_", "stall_checks",
                                                                "commit_tail",        "commit_work",     "output_poll"};

// An address in the direct map, 64-byte aligned, from a name.
uint64_t object_address(std::string_view name) { return 0xffff888004000000ULL + (name_hash(name) & 0x3ffffc0ULL); }

// What %pS of the (unknown) caller prints for a file the function is in.
std::string source_file_of(std::string_view function) {
  const std::string_view module = kernel_module_of(function);
  if (module == "drm_xen_front") {
    if (starts_with(function, "xen_drm_front_gem")) return "drivers/gpu/drm/xen/xen_drm_front_gem.c";
    if (starts_with(function, "evtchnl_") || starts_with(function, "xen_drm_front_evtchnl"))
      return "drivers/gpu/drm/xen/xen_drm_front_evtchnl.c";
    if (starts_with(function, "display_") || starts_with(function, "fb_") || starts_with(function, "pflip_") ||
        starts_with(function, "connector_") || starts_with(function, "xen_drm_front_kms"))
      return "drivers/gpu/drm/xen/xen_drm_front_kms.c";
    return "drivers/gpu/drm/xen/xen_drm_front.c";
  }
  if (module == "drm_kms_helper") return "drivers/gpu/drm/drm_atomic_helper.c";
  if (module == "drm") {
    if (starts_with(function, "drm_gem_prime") || starts_with(function, "drm_prime"))
      return "drivers/gpu/drm/drm_prime.c";
    if (starts_with(function, "drm_gem")) return "drivers/gpu/drm/drm_gem.c";
    if (starts_with(function, "drm_framebuffer") || starts_with(function, "drm_mode_rmfb"))
      return "drivers/gpu/drm/drm_framebuffer.c";
    return "drivers/gpu/drm/drm_drv.c";
  }
  if (starts_with(function, "gnttab_")) return "drivers/xen/grant-table.c";
  if (starts_with(function, "xenbus_")) return "drivers/xen/xenbus/xenbus_client.c";
  return "mm/memory.c";
}

uint32_t source_line_of(std::string_view function) { return 100 + static_cast<uint32_t>(name_hash(function) % 900); }

std::string timestamp(uint64_t micros) { return fmt::format("[{:5}.{:06}] ", micros / 1000000, micros % 1000000); }

// The frames under the model's outermost one: how each context entered the
// kernel (a syscall, a kthread, a workqueue, a threaded IRQ).
std::vector<std::string> entry_frames(std::string_view context) {
  if (context == "user") return {"do_syscall_64", "entry_SYSCALL_64_after_hwframe"};
  if (context == "worker") return {"process_one_work", "worker_thread", "kthread", "ret_from_fork"};
  if (context == "irq") return {"irq_thread_fn", "irq_thread", "kthread", "ret_from_fork"};
  if (context == "kthread") return {"kthread", "ret_from_fork"};
  return {};
}

void add_frames(std::vector<std::string>& out, const std::vector<std::string>& frames, std::string_view context,
                std::string_view indent = " ") {
  for (const auto& frame : frames) out.push_back(fmt::format("{}{}", indent, kernel_symbol(frame)));
  for (const auto& frame : entry_frames(context)) out.push_back(fmt::format("{}{}", indent, kernel_symbol(frame)));
}

// The frames of a record, or the detecting site when the model had none.
std::vector<std::string> frames_of(const sim::StackRecord& where, const std::string& site) {
  if (!where.frames.empty()) return where.frames;
  return site.empty() ? std::vector<std::string>{} : std::vector<std::string>{site};
}

// dump_stack()'s header (lib/dump_stack.c: dump_stack_print_info).
void add_dump_stack_header(std::vector<std::string>& out, const KernelTask& task, std::string_view context,
                           std::string_view work) {
  out.push_back(fmt::format("CPU: 0 PID: {} Comm: {} Not tainted {}", task.pid, task.comm, kUname));
  out.push_back(fmt::format("Hardware name: {}", kHardware));
  if (context == "worker" && !work.empty()) {
    const std::string_view module = kernel_module_of(work);
    out.push_back(fmt::format("Workqueue: events {}{}", work, module.empty() ? "" : fmt::format(" [{}]", module)));
  }
}

// The work function a kworker runs: the model names its workers after it.
std::string work_of(std::string_view task_name) {
  if (!starts_with(task_name, "kworker/")) return {};
  std::string work(task_name.substr(task_name.rfind('/') + 1));
  while (!work.empty() && work.back() >= '0' && work.back() <= '9') work.pop_back();
  return work;
}

// mm/kasan/report.c (v5.10): print_error_description, print_address_description, print_track.
std::vector<std::string> kasan_report(const sim::Violation& v, const KernelTask& task) {
  std::vector<std::string> out;
  const std::vector<std::string> frames = frames_of(v.where, v.site);
  const std::string function = v.function();
  const bool double_free = std::string_view(v.kind->name) == "double-free";
  const uint64_t object = object_address(v.object_type + "/" + v.object_name);
  const uint32_t cache_size = 32u << (name_hash(v.object_type) % 5);  // synthetic: the model has no sizes
  const uint32_t offset = static_cast<uint32_t>(name_hash(function) % (cache_size / 8)) * 8;
  out.push_back(std::string(kKasanSeparator));
  if (double_free) {
    out.push_back(fmt::format("BUG: KASAN: double-free or invalid-free in {}", kernel_symbol(function)));
  } else {
    out.push_back(fmt::format("BUG: KASAN: {} in {}", v.kind->name, kernel_symbol(function)));
    out.push_back(fmt::format("{} of size 8 at addr {:016x} by task {}/{}", v.access == "write" ? "Write" : "Read",
                              object + offset, task.comm, task.pid));
  }
  out.push_back("");
  add_dump_stack_header(out, task, v.where.context, work_of(v.where.task));
  out.push_back("Call Trace:");
  for (const char* frame : {"dump_stack", "print_address_description.constprop.0.cold", "kasan_report.cold"})
    out.push_back(" " + kernel_symbol(frame));
  if (double_free) {
    out.push_back(" " + kernel_symbol("kasan_report_invalid_free"));
    out.push_back(" " + kernel_symbol("____kasan_slab_free"));
    out.push_back(" " + kernel_symbol("kfree"));
  } else {
    out.push_back(" " + kernel_symbol("__asan_load8"));
  }
  add_frames(out, frames, v.where.context);
  auto track = [&](const char* what, const sim::StackRecord& record, bool freeing) {
    const KernelTask by = kernel_task(record.task, record.context, 0);
    out.push_back("");
    out.push_back(fmt::format("{} by task {}:", what, by.pid));
    out.push_back(" " + kernel_symbol("kasan_save_stack"));
    if (freeing) {
      for (const char* frame :
           {"kasan_set_track", "kasan_set_free_info", "____kasan_slab_free", "slab_free_freelist_hook", "kfree"})
        out.push_back(" " + kernel_symbol(frame));
    } else {
      for (const char* frame : {"__kasan_kmalloc", "kmem_cache_alloc_trace"}) out.push_back(" " + kernel_symbol(frame));
    }
    add_frames(out, record.frames, record.context);
  };
  if (v.allocated) track("Allocated", *v.allocated, false);
  if (v.freed) track("Freed", *v.freed, true);
  out.push_back("");
  out.push_back(fmt::format("The buggy address belongs to the object at {:016x}", object));
  out.push_back(fmt::format(" which belongs to the cache kmalloc-{} of size {}", cache_size, cache_size));
  out.push_back(fmt::format("The buggy address is located {} bytes inside of", offset));
  out.push_back(fmt::format(" {}-byte region [{:016x}, {:016x})", cache_size, object, object + cache_size));
  out.push_back(std::string(kKasanSeparator));
  return out;
}

// arch/x86/mm/fault.c (v5.10): show_fault_oops, then die's "Oops:" line.
std::vector<std::string> null_deref_report(const sim::Violation& v, const KernelTask& task) {
  std::vector<std::string> out;
  std::vector<std::string> frames = frames_of(v.where, v.site);
  const uint64_t address = 8 * (1 + name_hash(v.site) % 32);  // a member of a NULL struct pointer
  const bool write = v.access == "write";
  out.push_back(fmt::format("BUG: kernel NULL pointer dereference, address: {:016x}", address));
  out.push_back(fmt::format("#PF: supervisor {} access in kernel mode", write ? "write" : "read"));
  out.push_back("#PF: error_code(0x0000) - not-present page");
  out.push_back("PGD 0 P4D 0 ");
  out.push_back(fmt::format("Oops: {:04x} [#1] SMP KASAN NOPTI", write ? 2 : 0));
  add_dump_stack_header(out, task, v.where.context, work_of(v.where.task));
  out.push_back(fmt::format("RIP: 0010:{}", kernel_symbol(frames.empty() ? v.site : frames.front())));
  out.push_back("Call Trace:");
  if (!frames.empty()) frames.erase(frames.begin());  // the faulting function is RIP, not a return address
  add_frames(out, frames, v.where.context);
  out.push_back("Modules linked in: drm_xen_front drm_kms_helper drm");
  out.push_back(fmt::format("CR2: {:016x}", address));
  out.push_back(fmt::format("---[ end trace {:016x} ]---", name_hash(v.signature())));
  return out;
}

// kernel/panic.c (v5.10) __warn after __warn_printk: the message, then the WARNING line.
std::vector<std::string> warning_report(const sim::Violation& v, const KernelTask& task, const std::string& message,
                                        const std::vector<std::string>& machinery, std::string_view at_function,
                                        std::string_view at_file, uint32_t at_line) {
  std::vector<std::string> out;
  out.push_back(std::string(kCutHere));
  if (!message.empty()) out.push_back(message);
  out.push_back(
      fmt::format("WARNING: CPU: 0 PID: {} at {}:{} {}", task.pid, at_file, at_line, kernel_symbol(at_function)));
  out.push_back("Modules linked in: drm_xen_front drm_kms_helper drm");
  add_dump_stack_header(out, task, v.where.context, work_of(v.where.task));
  out.push_back(fmt::format("RIP: 0010:{}", kernel_symbol(at_function)));
  out.push_back("Call Trace:");
  for (const auto& frame : machinery) out.push_back(" " + kernel_symbol(frame));
  add_frames(out, frames_of(v.where, v.site), v.where.context);
  out.push_back(fmt::format("---[ end trace {:016x} ]---", name_hash(v.signature())));
  return out;
}

std::string lock_line(std::string_view name, std::string_view at) {
  const bool spin = name.find("io_lock") != std::string_view::npos;  // front_info->io_lock
  return fmt::format("{:016x} (&{}){{{}}}-{{{}}}, at: {}", object_address(name), name, spin ? "...." : "+.+.",
                     spin ? "2:2" : "3:3", kernel_symbol(at));
}

// kernel/locking/lockdep.c (v5.10): print_circular_bug_header, print_circular_lock_scenario.
std::vector<std::string> circular_report(const sim::Violation& v, const KernelTask& task) {
  std::vector<std::string> out;
  // signature_key: "<held> then <wanted>" (sim/lockdep.cc).
  const std::string& key = v.signature_key;
  const size_t then = key.find(" then ");
  const std::string held = then == std::string::npos ? key : key.substr(0, then);
  const std::string wanted = then == std::string::npos ? key : key.substr(then + 6);
  const std::string function = v.function();
  out.push_back("");
  out.push_back(std::string(kLockdepSeparator));
  out.push_back("WARNING: possible circular locking dependency detected");
  out.push_back(fmt::format("{} Not tainted", kUname));
  out.push_back("------------------------------------------------------");
  out.push_back(fmt::format("{}/{} is trying to acquire lock:", task.comm, task.pid));
  out.push_back(lock_line(wanted, function));
  out.push_back("");
  out.push_back("but task is already holding lock:");
  out.push_back(lock_line(held, function));
  out.push_back("");
  out.push_back("which lock already depends on the new lock.");
  out.push_back("");
  out.push_back("");
  out.push_back("the existing dependency chain (in reverse order) is:");
  out.push_back("");
  out.push_back(fmt::format("-> #1 (&{}){{+.+.}}-{{3:3}}:", held));
  out.push_back("");
  out.push_back(fmt::format("-> #0 (&{}){{+.+.}}-{{3:3}}:", wanted));
  out.push_back("");
  out.push_back("other info that might help us debug this:");
  out.push_back("");
  out.push_back(" Possible unsafe locking scenario:");
  out.push_back("");
  out.push_back("       CPU0                    CPU1");
  out.push_back("       ----                    ----");
  out.push_back(fmt::format("  lock(&{});", held));
  out.push_back(fmt::format("                               lock(&{});", wanted));
  out.push_back(fmt::format("                               lock(&{});", held));
  out.push_back(fmt::format("  lock(&{});", wanted));
  out.push_back("");
  out.push_back(" *** DEADLOCK ***");
  out.push_back("");
  out.push_back("stack backtrace:");
  add_dump_stack_header(out, task, v.where.context, work_of(v.where.task));
  out.push_back("Call Trace:");
  for (const char* frame : {"dump_stack", "check_noncircular", "__lock_acquire", "lock_acquire"})
    out.push_back(" " + kernel_symbol(frame));
  add_frames(out, frames_of(v.where, v.site), v.where.context);
  return out;
}

// kernel/sched/core.c (v5.10) ___might_sleep.
std::vector<std::string> sleep_in_atomic_report(const sim::Violation& v, const KernelTask& task) {
  std::vector<std::string> out;
  const bool irq = v.where.context == "irq";
  out.push_back(fmt::format("BUG: sleeping function called from invalid context at {}:{}", source_file_of(v.function()),
                            source_line_of(v.function())));
  out.push_back(fmt::format("in_atomic(): 1, irqs_disabled(): {}, non_block: 0, pid: {}, name: {}", irq ? 1 : 0,
                            task.pid, task.comm));
  add_dump_stack_header(out, task, v.where.context, work_of(v.where.task));
  out.push_back("Call Trace:");
  for (const char* frame : {"dump_stack", "___might_sleep", "__might_sleep"}) out.push_back(" " + kernel_symbol(frame));
  add_frames(out, frames_of(v.where, v.site), v.where.context);
  return out;
}

// kernel/hung_task.c (v5.10) check_hung_task, then sched_show_task.
std::vector<std::string> hung_task_report(const sim::Violation& v, const KernelTask& task) {
  std::vector<std::string> out;
  out.push_back(fmt::format("INFO: task {}:{} blocked for more than 120 seconds.", task.comm, task.pid));
  out.push_back(fmt::format("      Not tainted {}", kUname));
  out.push_back("\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.");
  out.push_back(
      fmt::format("task:{:<15} state:D stack:    0 pid:{:>5} ppid:     1 flags:0x00004000", task.comm, task.pid));
  out.push_back("Call Trace:");
  for (const char* frame : {"__schedule", "schedule", "schedule_timeout"}) out.push_back(" " + kernel_symbol(frame));
  add_frames(out, frames_of(v.where, v.site), v.where.context);
  return out;
}

}  // namespace

std::string_view kernel_module_of(std::string_view function) {
  for (std::string_view prefix : kDriverPrefixes)
    if (starts_with(function, prefix)) return "drm_xen_front";
  for (std::string_view prefix : kKmsHelperPrefixes)
    if (starts_with(function, prefix)) return "drm_kms_helper";
  if (starts_with(function, "drm_")) return "drm";
  return "";
}

std::string kernel_identifier(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    if (!ok) c = '_';
  }
  return out;
}

std::string kernel_symbol(std::string_view name) {
  const std::string function = kernel_identifier(name);
  const uint64_t h = name_hash(function);
  const uint64_t size = 0x40 + (h % 0x3c0) / 0x10 * 0x10;
  const uint64_t offset = 0x5 + (h >> 20) % (size - 0x10);
  const std::string_view module = kernel_module_of(function);
  return module.empty() ? fmt::format("{}+{:#x}/{:#x}", function, offset, size)
                        : fmt::format("{}+{:#x}/{:#x} [{}]", function, offset, size, module);
}

std::string kernel_log_line(std::string_view line) {
  // DRM_ERROR / DRM_DEBUG: "[drm:%ps] ..." where %ps of a module's function adds " [module]".
  if (starts_with(line, "[drm:")) {
    const size_t end = line.find(']');
    if (end == std::string_view::npos) return {};
    const std::string_view function = line.substr(5, end - 5);
    const std::string_view module = kernel_module_of(function);
    return module.empty() ? std::string(line) : fmt::format("[drm:{} [{}]]{}", function, module, line.substr(end + 1));
  }
  // drm_atomic_helper_wait_for_dependencies' DRM_ERRORs, which the model prints without a function.
  if (starts_with(line, "[drm] *ERROR* ")) {
    return fmt::format("[drm:{} [drm_kms_helper]] *ERROR* {}", "drm_atomic_helper_wait_for_dependencies",
                       line.substr(14));
  }
  // xen_drm_front_gem_import_sg_table's DRM_DEBUG.
  if (starts_with(line, "[drm] Imported buffer")) {
    return fmt::format("[drm:xen_drm_front_gem_import_sg_table [drm_xen_front]] {}", line.substr(6));
  }
  if (starts_with(line, "[drm] ")) return std::string(line);  // DRM_INFO
  // xen_drm_front_cfg_card's DRM_ERROR.
  if (starts_with(line, "No connector(s) configured at "))
    return fmt::format("[drm:xen_drm_front_cfg_card [drm_xen_front]] *ERROR* {}", line);
  // xenbus_va_dev_error: dev_err(&dev->dev, "%s\n", "%i " -err fmt).
  if (starts_with(line, "vdispl vdispl-")) return std::string(line);
  // drivers/xen/grant-table.c, pr_fmt "xen:grant_table: ".
  if (starts_with(line, "WARNING: g.e. ") || starts_with(line, "deferring g.e. ") ||
      starts_with(line, "freeing g.e. ") || (starts_with(line, "g.e. ") && line.find("still pending") != line.npos))
    return fmt::format("xen:grant_table: {}", line);
  // The rest the kernel does not print: xenbus_switch_state is silent,
  // probe prints nothing, userspace and the backend are not this kernel.
  return {};
}

KernelTask kernel_task(std::string_view name, std::string_view context, uint32_t task_id) {
  // PIDs from the name (the same task in several records gets one PID):
  // kernel threads low, user processes high, as on a booted system.
  const uint32_t h = static_cast<uint32_t>(name_hash(name) % 1000);
  if (context == "user") return {std::string(name), 1000 + h};
  if (context == "worker" || starts_with(name, "kworker/")) {
    const bool unbound = name.find("/u/") != std::string_view::npos;
    return {unbound ? fmt::format("kworker/u2:{}", 1 + h % 7) : fmt::format("kworker/0:{}", 1 + h % 7), 10 + h % 90};
  }
  (void)task_id;
  if (name == "scheduler" || name.empty()) return {"swapper/0", 0};
  return {std::string(name), 10 + h % 90};
}

std::vector<std::string> kernel_report(const sim::Violation& v, uint32_t task_id) {
  const KernelTask task = kernel_task(v.where.task.empty() ? v.task : v.where.task, v.where.context, task_id);
  const std::string_view kind = v.kind->name;
  switch (v.kind->title) {
    case sim::ReportTitle::kKasan:
      if (v.allocated || v.freed) return kasan_report(v, task);
      if (kind != "use-after-free") break;
      // A reference got after it reached zero: refcount_inc's saturation WARN.
      return warning_report(v, task, "refcount_t: addition on 0; use-after-free.",
                            {"refcount_warn_saturate", "kref_get"}, "refcount_warn_saturate", "lib/refcount.c", 25);
    case sim::ReportTitle::kNullDeref:
      return null_deref_report(v, task);
    case sim::ReportTitle::kRefcount:
      return warning_report(v, task, "refcount_t: underflow; use-after-free.", {"refcount_warn_saturate", "kref_put"},
                            "refcount_warn_saturate", "lib/refcount.c", 28);
    case sim::ReportTitle::kCircularLocking:
      return circular_report(v, task);
    case sim::ReportTitle::kSleepInAtomic:
      return sleep_in_atomic_report(v, task);
    case sim::ReportTitle::kHungTask:
      return hung_task_report(v, task);
    case sim::ReportTitle::kBadUnlock:
    case sim::ReportTitle::kWarning:
      break;
  }
  // The model's other rules have no kernel detector: a WARN at the function,
  // whose message names the rule ("xfsim: <kind>: ..."), so a reader and the
  // parser can tell them apart.
  const std::string function = v.function();
  return warning_report(v, task, fmt::format("xfsim: {}: {}", kind, v.detail), {}, function, source_file_of(function),
                        source_line_of(function));
}

std::string log_signature(const sim::Violation& v) {
  const std::string function = kernel_identifier(v.function());
  std::string out;
  if (v.kind->signed_by_racing_pair && v.freed && !v.freed->frames.empty()) {
    std::string a = function, b = kernel_identifier(v.freed->function());
    if (b < a) std::swap(a, b);
    out = fmt::format("{} between {} and {}", v.kind->name, a, b);
  } else {
    out = fmt::format("{} in {}", v.kind->name, function);
    if (v.kind->title == sim::ReportTitle::kCircularLocking && !v.signature_key.empty())
      out += fmt::format(" ({})", v.signature_key);
    if (v.freed && !v.freed->frames.empty()) out += fmt::format(" free {}", kernel_identifier(v.freed->function()));
  }
  if (v.allocated && !v.allocated->frames.empty())
    out += fmt::format(" alloc {}", kernel_identifier(v.allocated->function()));
  return out;
}

std::string render_dmesg(const sim::Trace& trace, const RunResult& result, std::vector<uint64_t>* line_steps) {
  std::string out;
  uint64_t last_us = 0;
  // Several printks in one virtual millisecond: a microsecond apart, in order.
  auto stamp = [&](uint64_t time_ms) {
    last_us = std::max(last_us + 1, time_ms * 1000);
    return timestamp(last_us);
  };
  auto emit = [&](uint64_t time_ms, std::string_view line, uint64_t step) {
    if (line_steps) line_steps->push_back(step);
    out += stamp(time_ms);
    out += line;
    out += '\n';
  };
  out += timestamp(0) + fmt::format("Linux version {} (xfsim model of the xen-front driver)\n", kUname);
  out += timestamp(0) + "[drm] Registering XEN PV vdispl\n";
  if (line_steps) line_steps->assign(2, 0);
  size_t violations_seen = 0;
  for (const auto& entry : trace.entries) {
    if (entry.type == sim::TraceEntry::Type::kLog) {
      const bool home = entry.task >= trace.task_domains.size() || trace.task_domains[entry.task].empty();
      if (!home) continue;  // the backend's domain logs to its own console
      const std::string line = kernel_log_line(trace.log_lines[entry.log]);
      if (!line.empty()) emit(entry.time_ms, line, entry.step);
    } else if (entry.type == sim::TraceEntry::Type::kViolation && entry.log < trace.violations.size()) {
      ++violations_seen;
      for (const auto& line : kernel_report(trace.violations[entry.log], entry.task))
        emit(entry.time_ms, line, entry.step);
    }
  }
  // A trace kept without log lines still ends in its findings.
  if (violations_seen == 0) {
    for (const auto& v : result.violations)
      for (const auto& line : kernel_report(v, 0)) emit(v.where.time_ms, line, v.step);
  }
  return out;
}

}  // namespace xfsim::harness
