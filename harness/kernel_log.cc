// harness/kernel_log: a kernel log read one line at a time (kernel_log.h).
#include "harness/kernel_log.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

namespace xfsim::harness {
namespace {

// The model's functions, as its shadow stacks name them (XFSIM_KFUNC and
// XFSIM_KFUNC_AS in driver_core/, fakes/, harness/, sim/). Kept sorted;
// tests/harness/kernel_log_test checks every frame of every bug-zoo report
// is here.
constexpr std::string_view kModelFunctions[] = {
    "__vm_munmap",
    "atomic_remove_fb",
    "be_stream_do_io_and_wait",
    "bind_evtchn_to_irqhandler",
    "commit_tail",
    "commit_work",
    "connector_detect",
    "dbuf_free",
    "dbuf_free_all",
    "dbuf_release_storage",
    "display_check",
    "display_disable",
    "display_enable",
    "display_mode_valid",
    "display_update",
    "displback_changed",
    "displback_connect",
    "displback_connect_frontend",
    "displback_dbuf_destroy",
    "displback_disconnect",
    "displback_handle_request",
    "displback_initwait",
    "displback_release_all",
    "displback_release_mappings",
    "displback_serve",
    "displback_thread",
    "dma_buf_attach",
    "dma_buf_detach",
    "dma_buf_map_attachment",
    "dma_buf_mmap_internal",
    "dma_buf_put",
    "dma_buf_unmap_attachment",
    "dma_buf_vmap",
    "dma_buf_vmap_read",
    "dma_buf_vunmap",
    "drm_atomic_helper_commit",
    "drm_atomic_helper_commit_tail",
    "drm_atomic_helper_setup_commit",
    "drm_atomic_helper_swap_state",
    "drm_atomic_helper_wait_for_dependencies",
    "drm_atomic_state_alloc",
    "drm_atomic_state_put",
    "drm_crtc_send_vblank_event",
    "drm_dev_alloc",
    "drm_dev_enter",
    "drm_dev_exit",
    "drm_dev_get",
    "drm_dev_put",
    "drm_dev_register",
    "drm_dev_unplug",
    "drm_event_reserve_init",
    "drm_framebuffer_init",
    "drm_framebuffer_lookup",
    "drm_framebuffer_put",
    "drm_framebuffer_remove",
    "drm_gem_close_ioctl",
    "drm_gem_dmabuf_release",
    "drm_gem_fb_destroy",
    "drm_gem_handle_create",
    "drm_gem_handle_delete",
    "drm_gem_mmap",
    "drm_gem_mmap_obj",
    "drm_gem_object_exported_dma_buf_free",
    "drm_gem_object_get",
    "drm_gem_object_init",
    "drm_gem_object_lookup",
    "drm_gem_object_put",
    "drm_gem_prime_export",
    "drm_gem_prime_fd_to_handle",
    "drm_gem_prime_handle_to_fd",
    "drm_gem_prime_import",
    "drm_gem_remove_prime_handles",
    "drm_gem_vm_close",
    "drm_kms_helper_hotplug_event",
    "drm_kms_helper_poll_fini",
    "drm_mode_addfb2",
    "drm_mode_atomic_ioctl",
    "drm_mode_create_dumb_ioctl",
    "drm_mode_rmfb",
    "drm_mode_rmfb_work_fn",
    "drm_modeset_lock_all_ctx",
    "drm_open",
    "drm_prime_add_buf_handle",
    "drm_prime_destroy_file_private",
    "drm_prime_fd_to_handle_ioctl",
    "drm_prime_gem_destroy",
    "drm_prime_handle_to_fd_ioctl",
    "drm_read",
    "drm_release",
    "drm_vma_node_unmap",
    "evtchnl_free",
    "evtchnl_interrupt_ctrl",
    "evtchnl_interrupt_evt",
    "export_and_register_object",
    "fb_create",
    "fb_destroy",
    "filp_close",
    "fput",
    "free_page",
    "get_dma_buf",
    "gnttab_end_foreign_access",
    "gnttab_grant_foreign_access",
    "gnttab_map_refs",
    "gnttab_unmap_refs",
    "handle_mm_fault",
    "notify_remote_via_evtchn",
    "notify_remote_via_irq",
    "output_poll_execute",
    "pflip_to_worker",
    "rmfb_in_worker",
    "send_pending_event",
    "send_request",
    "signal_backend_failure",
    "stall_checks",
    "system_heap_allocate",
    "unbind_from_irqhandler",
    "unregister_xenbus_watch",
    "vm_insert_page",
    "xen_drm_drv_dumb_create",
    "xen_drm_drv_fini",
    "xen_drm_drv_free_object_unlocked",
    "xen_drm_drv_init",
    "xen_drm_drv_release",
    "xen_drm_front_cfg_card",
    "xen_drm_front_dbuf_create",
    "xen_drm_front_dbuf_destroy",
    "xen_drm_front_evtchnl_create_all",
    "xen_drm_front_evtchnl_free_all",
    "xen_drm_front_evtchnl_publish_all",
    "xen_drm_front_evtchnl_set_state",
    "xen_drm_front_fb_attach",
    "xen_drm_front_fb_detach",
    "xen_drm_front_gem_fault",
    "xen_drm_front_gem_free_pages",
    "xen_drm_front_gem_get_sg_table",
    "xen_drm_front_gem_import_sg_table",
    "xen_drm_front_gem_mmap",
    "xen_drm_front_gem_prime_mmap",
    "xen_drm_front_gem_prime_vmap",
    "xen_drm_front_gem_prime_vunmap",
    "xen_drm_front_kms_fini",
    "xen_drm_front_mode_set",
    "xen_drm_front_on_frame_done",
    "xen_drm_front_page_flip",
    "xen_drv_probe",
    "xen_drv_remove",
    "xenbus_alloc_evtchn",
    "xenbus_dev_error",
    "xenbus_dev_fatal",
    "xenbus_directory",
    "xenbus_free_evtchn",
    "xenbus_otherend_changed",
    "xenbus_read",
    "xenbus_read_driver_state",
    "xenbus_rm",
    "xenbus_switch_state",
    "xenbus_write",
    "xenwatch_thread",
};

// Kernel names of other versions, and kernel functions the model folds
// into one it has (docs/driver-mapping.md).
struct Alias {
  std::string_view kernel, model;
};
constexpr Alias kAliases[] = {
    {"xen_drm_front_gem_object_free", "xen_drm_drv_free_object_unlocked"},  // v5.11 name
    {"xen_drm_front_gem_free_object_unlocked", "xen_drm_drv_free_object_unlocked"},
    {"drm_gem_object_put_unlocked", "drm_gem_object_put"},
    {"drm_gem_object_free", "drm_gem_object_put"},
    {"drm_gem_object_release_handle", "drm_gem_handle_delete"},
    {"__fput", "fput"},
    {"____fput", "fput"},
    {"xen_drv_fini", "xen_drm_drv_fini"},
    {"xenbus_dev_remove", "xen_drv_remove"},
    {"xenbus_dev_probe", "xen_drv_probe"},
    {"frontend_changed", "xenbus_otherend_changed"},
    {"be_stream_do_io", "be_stream_do_io_and_wait"},  // the model folds the two halves of a request
    {"be_stream_wait_io", "be_stream_do_io_and_wait"},
};

// Report machinery and the kernel's entry and scheduling code.
constexpr std::string_view kPlumbingPrefixes[] = {"dump_stack",
                                                  "show_stack",
                                                  "print_address_description",
                                                  "kasan_",
                                                  "__kasan_",
                                                  "____kasan_",
                                                  "__asan_",
                                                  "check_memory_region",
                                                  "kmem_cache_",
                                                  "__kmalloc",
                                                  "kmalloc",
                                                  "kfree",
                                                  "slab_free",
                                                  "refcount_",
                                                  "kref_",
                                                  "__warn",
                                                  "warn_",
                                                  "report_bug",
                                                  "___might_sleep",
                                                  "__might_sleep",
                                                  "lock_acquire",
                                                  "__lock_acquire",
                                                  "check_noncircular",
                                                  "save_stack"};
constexpr std::string_view kEntryFunctions[] = {"do_syscall_64",
                                                "entry_SYSCALL_64_after_hwframe",
                                                "kthread",
                                                "ret_from_fork",
                                                "process_one_work",
                                                "worker_thread",
                                                "irq_thread_fn",
                                                "irq_thread",
                                                "__schedule",
                                                "schedule",
                                                "schedule_timeout",
                                                "handle_bug",
                                                "exc_invalid_op",
                                                "asm_exc_invalid_op",
                                                "exc_page_fault",
                                                "asm_exc_page_fault",
                                                "exc_general_protection",
                                                "asm_exc_general_protection",
                                                "__x64_sys_ioctl",
                                                "__x64_sys_close",
                                                "ksys_ioctl",
                                                "task_work_run",
                                                "exit_to_user_mode_prepare",
                                                "syscall_exit_to_user_mode",
                                                "do_exit",
                                                "do_group_exit",
                                                "__handle_irq_event_percpu",
                                                "handle_irq_event",
                                                "mutex_lock_nested",
                                                "__mutex_lock"};

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_symbol_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '.';
}

std::string strip_compiler_suffixes(std::string_view name) {
  std::string out(name);
  for (std::string_view suffix : {".cold", ".constprop", ".isra", ".part", ".llvm"}) {
    const size_t at = out.find(suffix);
    if (at != std::string::npos && at > 0) out.resize(at);
  }
  return out;
}

// "[ 1234.567890]" at the front: its microseconds, and the rest.
std::optional<int64_t> take_timestamp(std::string_view& s) {
  if (s.size() < 4 || s[0] != '[') return std::nullopt;
  size_t i = 1;
  while (i < s.size() && s[i] == ' ') ++i;
  int64_t seconds = 0, micros = 0;
  size_t digits = 0;
  while (i < s.size() && is_digit(s[i]) && digits < 12) seconds = seconds * 10 + (s[i++] - '0'), ++digits;
  if (digits == 0 || i >= s.size() || s[i] != '.') return std::nullopt;
  ++i;
  size_t fraction = 0;
  while (i < s.size() && is_digit(s[i]) && fraction < 9) {
    if (fraction < 6) micros = micros * 10 + (s[i] - '0');
    ++i, ++fraction;
  }
  if (fraction == 0 || i >= s.size() || s[i] != ']') return std::nullopt;
  for (size_t f = fraction; f < 6; ++f) micros *= 10;
  s.remove_prefix(i + 1);
  if (!s.empty() && s[0] == ' ') s.remove_prefix(1);
  return seconds * 1000000 + micros;
}

// syzbot's caller id after the timestamp: "[ T1234] " or "[    C0] ".
void take_caller_id(std::string_view& s) {
  if (s.size() < 4 || s[0] != '[') return;
  const size_t close = s.find(']');
  if (close == std::string_view::npos || close > 12) return;
  const std::string_view inner = trim(s.substr(1, close - 1));
  if (inner.size() < 2 || (inner[0] != 'T' && inner[0] != 'C')) return;
  if (!std::all_of(inner.begin() + 1, inner.end(), is_digit)) return;
  s.remove_prefix(close + 1);
  if (!s.empty() && s[0] == ' ') s.remove_prefix(1);
}

// `journalctl -k` / syslog: "Nov 29 12:00:01 host kernel: ...",
// "2026-11-29T12:00:01+0000 host kernel: ...".
bool take_syslog_prefix(std::string_view& s) {
  const size_t at = s.find(" kernel: ");
  if (at == std::string_view::npos || at > 64) return false;
  const bool month = s.size() > 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'a' && s[1] <= 'z';
  const bool iso = s.size() > 4 && is_digit(s[0]) && is_digit(s[3]) && s[4] == '-';
  const bool after_stamp = s.find(' ') != std::string_view::npos;
  if (!month && !iso && !after_stamp) return false;
  s.remove_prefix(at + 9);
  return true;
}

// "[Sun Nov 29 12:00:00 2026] " (dmesg -T).
bool take_human_time(std::string_view& s) {
  if (s.size() < 26 || s[0] != '[' || s[24] != ']' || !(s[1] >= 'A' && s[1] <= 'Z')) return false;
  s.remove_prefix(s.size() > 25 && s[25] == ' ' ? 26 : 25);
  return true;
}

struct Line {
  std::string message;
  int64_t time_us = -1;
  uint64_t number = 0;
};

enum class Section : uint8_t { kHead, kMain, kAlloc, kFree, kIgnore };

std::string lock_name(std::string_view line) {
  // "ffff888... (&evtchnl->u.req.req_io_lock){+.+.}-{3:3}, at: f+0x.."
  const size_t open = line.find('(');
  const size_t close = line.find("){");
  if (open == std::string_view::npos || close == std::string_view::npos || close <= open) return {};
  std::string_view name = line.substr(open + 1, close - open - 1);
  while (!name.empty() && name.front() == '&') name.remove_prefix(1);
  return std::string(name);
}

}  // namespace

std::optional<std::string> model_function(std::string_view kernel_function) {
  const std::string name = strip_compiler_suffixes(kernel_function);
  if (std::binary_search(std::begin(kModelFunctions), std::end(kModelFunctions), std::string_view(name))) return name;
  for (const Alias& alias : kAliases)
    if (alias.kernel == name || alias.kernel == kernel_function) return std::string(alias.model);
  return std::nullopt;
}

bool kernel_plumbing(std::string_view kernel_function) {
  const std::string name = strip_compiler_suffixes(kernel_function);
  for (std::string_view prefix : kPlumbingPrefixes)
    if (starts_with(name, prefix)) return true;
  return std::find(std::begin(kEntryFunctions), std::end(kEntryFunctions), std::string_view(name)) !=
         std::end(kEntryFunctions);
}

const char* log_event_type_name(LogEvent::Type type) {
  switch (type) {
    case LogEvent::Type::kDriver:
      return "driver";
    case LogEvent::Type::kBackendState:
      return "backend-state";
    case LogEvent::Type::kXenbusError:
      return "xenbus-error";
    case LogEvent::Type::kGrant:
      return "grant";
  }
  return "?";
}

std::string CrashSignature::signature() const {
  std::string out;
  const std::string free_function = free_stack.empty() ? std::string() : free_stack.front();
  if (kind == "use-after-free" && !free_function.empty()) {
    std::string a = function, b = free_function;
    if (b < a) std::swap(a, b);
    out = fmt::format("{} between {} and {}", kind, a, b);
  } else {
    out = fmt::format("{} in {}", kind, function);
    if (kind == "lock-order-inversion" && !lock_key.empty()) out += fmt::format(" ({})", lock_key);
    if (!free_function.empty()) out += fmt::format(" free {}", free_function);
  }
  if (!alloc_stack.empty()) out += fmt::format(" alloc {}", alloc_stack.front());
  return out;
}

struct KernelLogParser::State {
  ParsedLog log;
  std::string partial;  // bytes of a line not ended yet
  uint64_t line_number = 0;
  // A line held back one line: the next may continue it (80-column wrap).
  std::optional<Line> held;
  size_t held_raw_length = 0;
  uint64_t binary_lines = 0, text_lines = 0;

  // The report being read.
  std::optional<CrashSignature> report;
  Section section = Section::kHead;
  std::string rip_function, title_function, warn_function;
  bool frames_seen = false;
  bool awaiting_warning = false;  // a WARN's cut-here or message line came, its WARNING line not yet
  std::string first_unmapped;     // the innermost frame of the main stack the model does not have
  int lock_line_next = 0;         // 1: the wanted lock's line, 2: the held one's
  std::string lock_wanted, lock_held;

  void raw_line(std::string_view raw);
  void message(const Line& line);
  void start_report(const Line& line, std::string kind, std::string title);
  void finish_report(bool complete);
  bool report_line(const Line& line, std::string_view m);
  void event_line(const Line& line, std::string_view m);
  void frame(std::string_view m);
};

void KernelLogParser::State::raw_line(std::string_view raw) {
  ++line_number;
  ++log.lines;
  if (raw.size() > kMaxLineBytes) raw = raw.substr(0, kMaxLineBytes);
  if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  size_t control = 0;
  for (unsigned char c : raw) control += (c < 0x20 && c != '\t' && c != 0x1b) || c == 0x7f;
  if (control > 0) {
    ++binary_lines;
    ++log.ignored_lines;
    return;
  }
  ++text_lines;
  const size_t raw_length = raw.size();
  std::string_view s = raw;
  Line line;
  line.number = line_number;
  // "<4>" (printk level, /dev/kmsg or a console with loglevel prefixes).
  if (s.size() > 3 && s[0] == '<' && is_digit(s[1]) && s[2] == '>') s.remove_prefix(3);
  bool prefixed = take_human_time(s);
  if (!prefixed) prefixed = take_syslog_prefix(s);
  if (auto t = take_timestamp(s)) {
    line.time_us = *t;
    log.timestamps = true;
    prefixed = true;
    take_caller_id(s);
    take_syslog_prefix(s);  // journalctl -o short-monotonic
  }
  // A console wraps at 80 columns: a line that is not a printk of its own
  // (no prefix) after a full 80-column line continues it.
  if (held && !prefixed && held_raw_length == 80 && held->time_us >= 0) {
    held->message += s;
    held_raw_length = raw_length;
    return;
  }
  if (held) message(*held);
  line.message = std::string(s);
  held = std::move(line);
  held_raw_length = raw_length;
}

void KernelLogParser::State::start_report(const Line& line, std::string kind, std::string title) {
  if (report) finish_report(/*complete=*/section != Section::kHead && frames_seen);
  report.emplace();
  report->kind = std::move(kind);
  report->title = std::move(title);
  report->first_line = line.number;
  section = Section::kHead;
  rip_function.clear();
  title_function.clear();
  warn_function.clear();
  frames_seen = false;
  first_unmapped.clear();
  awaiting_warning = false;
  lock_line_next = 0;
  lock_wanted.clear();
  lock_held.clear();
}

void KernelLogParser::State::finish_report(bool complete) {
  if (!report) return;
  CrashSignature& r = *report;
  r.complete = complete;
  // The function: the one the headline names, else the faulting RIP or the
  // WARN's, else the innermost modelled frame.
  for (const std::string* candidate : {&title_function, &rip_function, &warn_function}) {
    if (r.function.empty() && !candidate->empty()) {
      if (auto mapped = model_function(*candidate)) r.function = *mapped;
    }
  }
  if (r.function.empty() && !r.stack.empty()) r.function = r.stack.front();
  // Nothing modelled: the function the log names, as the log names it.
  for (const std::string* candidate : {&title_function, &rip_function, &warn_function, &first_unmapped}) {
    if (r.function.empty() && !candidate->empty() && !kernel_plumbing(*candidate)) r.function = *candidate;
  }
  if (!lock_wanted.empty() || !lock_held.empty()) r.lock_key = fmt::format("{} then {}", lock_held, lock_wanted);
  if (log.reports.size() < kMaxReports)
    log.reports.push_back(std::move(r));
  else
    ++log.reports_dropped;
  report.reset();
}

void KernelLogParser::State::frame(std::string_view m) {
  std::string_view s = trim(m);
  if (starts_with(s, "? ")) return;  // an unreliable guess of the unwinder
  size_t end = 0;
  while (end < s.size() && is_symbol_char(s[end])) ++end;
  if (end == 0) return;
  const std::string_view name = s.substr(0, end);
  frames_seen = true;
  std::vector<std::string>* stack = section == Section::kAlloc  ? &report->alloc_stack
                                    : section == Section::kFree ? &report->free_stack
                                    : section == Section::kMain ? &report->stack
                                                                : nullptr;
  if (stack == nullptr) return;
  if (auto mapped = model_function(name)) {
    if (stack->size() < kMaxStack) stack->push_back(*mapped);
    return;
  }
  if (kernel_plumbing(name)) return;
  if (section == Section::kMain && first_unmapped.empty()) first_unmapped = strip_compiler_suffixes(name);
  if (log.unmapped.size() < kMaxUnmapped) log.unmapped.insert(strip_compiler_suffixes(name));
}

// A stack frame as consoles print them: " func+0x1c/0x30 [module]",
// " ? func+0x..", syzbot's " func file.c:123 [inline]".
bool looks_like_frame(std::string_view m) {
  if (m.empty() || (m[0] != ' ' && m[0] != '\t')) return false;
  std::string_view s = trim(m);
  if (starts_with(s, "? ")) s.remove_prefix(2);
  size_t end = 0;
  while (end < s.size() && is_symbol_char(s[end])) ++end;
  if (end == 0 || end > 128) return false;
  const std::string_view rest = s.substr(end);
  if (starts_with(rest, "+0x")) return true;
  if (rest.empty()) return s.find('_') != std::string_view::npos;
  const std::string_view next = trim(rest);
  return (next.find(".c:") != std::string_view::npos || next.find(".h:") != std::string_view::npos);
}

std::string_view function_of_symbol(std::string_view symbol) {
  size_t end = 0;
  while (end < symbol.size() && is_symbol_char(symbol[end])) ++end;
  return symbol.substr(0, end);
}

// A headline that starts a report; the cut-here line and a WARN's message
// start one whose kind the next lines tell.
bool KernelLogParser::State::report_line(const Line& line, std::string_view m) {
  if (starts_with(m, "BUG: KASAN: ")) {
    const std::string_view rest = m.substr(12);
    const size_t in = rest.find(" in ");
    const std::string_view word = rest.substr(0, in);
    std::string kind(word);
    if (starts_with(word, "double-free")) kind = "double-free";
    if (word == "null-ptr-deref") kind = "null-deref";
    start_report(line, kind, std::string(m));
    if (in != std::string_view::npos) title_function = std::string(function_of_symbol(rest.substr(in + 4)));
    return true;
  }
  if (starts_with(m, "BUG: kernel NULL pointer dereference")) {
    start_report(line, "null-deref", std::string(m));
    return true;
  }
  if (starts_with(m, "general protection fault")) {
    // Slab poison (0x6b6b...), list poison (0xdead0000000001..): a use after free.
    const bool poison =
        m.find("0x6b6b6b6b6b6b6b") != std::string_view::npos || m.find("0xdead000000000") != std::string_view::npos;
    start_report(line, poison ? "use-after-free" : "general-protection-fault", std::string(m));
    return true;
  }
  if (starts_with(m, "KASAN: null-ptr-deref in range") && report) {
    report->kind = "null-deref";
    return true;
  }
  if (m == "------------[ cut here ]------------") {
    start_report(line, "warning", "WARNING");
    awaiting_warning = true;
    return true;
  }
  // A WARN's message, after cut here (or alone when that line was lost).
  const bool fresh_warning = report && awaiting_warning && section == Section::kHead && !frames_seen;
  if (starts_with(m, "refcount_t: ") || starts_with(m, "list_del corruption") ||
      starts_with(m, "list_add corruption") || starts_with(m, "xfsim: ")) {
    if (!fresh_warning) start_report(line, "warning", std::string(m));
    awaiting_warning = true;
    report->title = std::string(m);
    if (starts_with(m, "refcount_t: underflow")) report->kind = "refcount-underflow";
    if (starts_with(m, "refcount_t: addition on 0") || starts_with(m, "list_")) report->kind = "use-after-free";
    if (starts_with(m, "xfsim: ")) {
      const std::string_view rest = m.substr(7);
      report->kind = std::string(rest.substr(0, rest.find(':')));
    }
    return true;
  }
  if (starts_with(m, "WARNING: CPU: ") || starts_with(m, "WARNING: at ")) {
    if (!fresh_warning) start_report(line, "warning", std::string(m));
    awaiting_warning = false;
    // "... at FILE:LINE func+0x../0x.." or "... at func+0x..".
    const size_t plus = m.rfind("+0x");
    if (plus != std::string_view::npos) {
      size_t begin = plus;
      while (begin > 0 && is_symbol_char(m[begin - 1])) --begin;
      warn_function = std::string(m.substr(begin, plus - begin));
    }
    return true;
  }
  if (m == "WARNING: possible circular locking dependency detected") {
    start_report(line, "lock-order-inversion", std::string(m));
    return true;
  }
  if (m == "WARNING: bad unlock balance detected!") {
    start_report(line, "bad-unlock-balance", std::string(m));
    return true;
  }
  if (starts_with(m, "BUG: sleeping function called from invalid context") ||
      starts_with(m, "BUG: scheduling while atomic")) {
    start_report(line, "sleep-in-atomic", std::string(m));
    return true;
  }
  if (starts_with(m, "INFO: task ") && m.find(" blocked for more than ") != std::string_view::npos) {
    start_report(line, "hung-wait", std::string(m));
    // "INFO: task comm:pid blocked ..." (the comm may hold ':' or '/').
    const std::string_view who = m.substr(11, m.find(" blocked") - 11);
    const size_t colon = who.rfind(':');
    report->task = std::string(who.substr(0, colon));
    if (colon != std::string_view::npos)
      report->pid = static_cast<uint32_t>(std::atoi(std::string(who.substr(colon + 1)).c_str()));
    section = Section::kMain;
    return true;
  }
  return false;
}

void KernelLogParser::State::event_line(const Line& line, std::string_view m) {
  LogEvent event;
  event.line = line.number;
  event.time_us = line.time_us;
  if (starts_with(m, "[drm:")) {
    // "[drm:func [module]] *ERROR* text" or "[drm:func] text".
    const size_t end = m.find(']');
    if (end == std::string_view::npos) return;
    std::string_view inside = m.substr(5, end - 5);
    std::string_view rest = m.substr(end + 1);
    const size_t space = inside.find(' ');
    const std::string_view function = inside.substr(0, space);
    const std::string_view module = space == std::string_view::npos ? std::string_view() : trim(inside.substr(space));
    if (!module.empty() && !rest.empty() && rest[0] == ']') rest.remove_prefix(1);
    auto mapped = model_function(function);
    if (!mapped && module != "[drm_xen_front") return;  // another DRM driver's line
    event.function = mapped ? *mapped : std::string(function);
    event.text = std::string(trim(rest));
    const std::string_view backend = "Backend state is ";
    if (starts_with(event.text, backend) && event.function == "displback_changed") {
      const std::string_view states = std::string_view(event.text).substr(backend.size());
      const size_t comma = states.find(", front is ");
      event.type = LogEvent::Type::kBackendState;
      event.backend_state = std::string(states.substr(0, comma));
      if (comma != std::string_view::npos) event.frontend_state = std::string(states.substr(comma + 11));
    }
  } else if (starts_with(m, "[drm] ")) {
    const std::string_view text = m.substr(6);
    // DRM_INFO of xen-front only: another driver's [drm] lines are noise.
    bool ours = false;
    for (std::string_view known : {"Registering XEN PV", "Unregistering XEN PV", "Have ", "Creating Xen PV",
                                   "Initialized xendrm-du", "Backend can provide display buffers"})
      ours = ours || starts_with(text, known);
    if (!ours) return;
    event.text = std::string(text);
  } else if (starts_with(m, "vdispl vdispl-")) {
    const size_t colon = m.find(": ");
    if (colon == std::string_view::npos) return;
    event.type = LogEvent::Type::kXenbusError;
    event.function = "xenbus_dev_error";
    event.text = std::string(m.substr(colon + 2));
  } else if (starts_with(m, "xen:grant_table: ")) {
    event.type = LogEvent::Type::kGrant;
    event.text = std::string(m.substr(17));
  } else {
    ++log.ignored_lines;
    return;
  }
  if (log.events.size() < kMaxEvents)
    log.events.push_back(std::move(event));
  else
    ++log.events_dropped;
}

void KernelLogParser::State::message(const Line& line) {
  const std::string_view m = line.message;
  if (report_line(line, m)) return;
  if (report) {
    CrashSignature& r = *report;
    const std::string_view t = trim(m);
    if (lock_line_next != 0 && !t.empty()) {
      (lock_line_next == 1 ? lock_wanted : lock_held) = lock_name(t);
      lock_line_next = 0;
      return;
    }
    if (t.size() >= 40 && t.find_first_not_of('=') == std::string_view::npos) {
      if (r.kind == "lock-order-inversion" || section == Section::kHead) return;  // lockdep's banner / KASAN's opening
      finish_report(/*complete=*/true);
      return;
    }
    if (starts_with(t, "---[ end trace") || starts_with(t, "Kernel panic - not syncing")) {
      finish_report(/*complete=*/true);
      return;
    }
    if (starts_with(t, "Read of size ") || starts_with(t, "Write of size ")) {
      r.access = t[0] == 'R' ? "read" : "write";
      const size_t by = t.find(" by task ");
      if (by != std::string_view::npos) {
        const std::string_view who = t.substr(by + 9);
        const size_t slash = who.rfind('/');
        r.task = std::string(who.substr(0, slash));
        if (slash != std::string_view::npos)
          r.pid = static_cast<uint32_t>(std::atoi(std::string(who.substr(slash + 1)).c_str()));
      }
      return;
    }
    if (starts_with(t, "#PF: supervisor ")) {
      r.access = t.find(" write ") != std::string_view::npos ? "write" : "read";
      return;
    }
    if (starts_with(t, "CPU: ") && t.find(" PID: ") != std::string_view::npos) {
      const size_t comm = t.find(" Comm: ");
      if (r.task.empty() && comm != std::string_view::npos) {
        const std::string_view rest = t.substr(comm + 7);
        r.task = std::string(rest.substr(0, rest.find(' ')));
        r.pid = static_cast<uint32_t>(std::atoi(std::string(t.substr(t.find(" PID: ") + 6)).c_str()));
      }
      return;
    }
    if (starts_with(t, "in_atomic(): ") && t.find(" name: ") != std::string_view::npos) {
      r.task = std::string(t.substr(t.find(" name: ") + 7));
      return;
    }
    if (starts_with(t, "Workqueue: ")) {
      r.context = "worker";
      return;
    }
    if (t == "<IRQ>") {
      r.context = "irq";
      return;
    }
    if (starts_with(t, "RIP: 0010:")) {
      rip_function = std::string(function_of_symbol(t.substr(10)));
      return;
    }
    if (t == "Call Trace:" || t == "stack backtrace:") {
      section = Section::kMain;
      return;
    }
    if (starts_with(t, "Allocated by task ")) {
      section = Section::kAlloc;
      return;
    }
    if (starts_with(t, "Freed by task ")) {
      section = Section::kFree;
      return;
    }
    if (starts_with(t, "Last potentially related work creation") || starts_with(t, "Second to last") ||
        starts_with(t, "the existing dependency chain")) {
      section = Section::kIgnore;
      return;
    }
    if (r.kind == "lock-order-inversion") {
      if (t.find(" is trying to acquire lock:") != std::string_view::npos) {
        const std::string_view who = t.substr(0, t.find(" is trying"));
        const size_t slash = who.rfind('/');
        r.task = std::string(who.substr(0, slash));
        lock_line_next = 1;
        return;
      }
      if (t == "but task is already holding lock:") {
        lock_line_next = 2;
        return;
      }
    }
    if (starts_with(t, "The buggy address belongs to the object at ")) {
      r.object = "at " + std::string(t.substr(44));
      return;
    }
    if (starts_with(t, "which belongs to the cache ")) {
      const std::string_view rest = t.substr(27);
      r.object = std::string(rest.substr(0, rest.find(' '))) + (r.object.empty() ? "" : " " + r.object);
      return;
    }
    if (looks_like_frame(m)) {
      frame(m);
      return;
    }
    // A line of the driver after the stack: the report is over (hung-task,
    // might_sleep and lockdep reports have no closing line).
    if (section == Section::kMain && frames_seen &&
        (starts_with(m, "[drm") || starts_with(m, "vdispl ") || starts_with(m, "xen:"))) {
      finish_report(/*complete=*/true);
      event_line(line, m);
      return;
    }
    ++log.ignored_lines;
    return;
  }
  event_line(line, m);
}

KernelLogParser::KernelLogParser() : state_(std::make_unique<State>()) {}
KernelLogParser::~KernelLogParser() = default;

void KernelLogParser::feed(std::string_view chunk) {
  State& s = *state_;
  s.log.bytes += chunk.size();
  while (!chunk.empty()) {
    const size_t newline = chunk.find('\n');
    if (newline == std::string_view::npos) {
      // Bounded: a line longer than the limit keeps only its head.
      const size_t room = kMaxLineBytes + 1 > s.partial.size() ? kMaxLineBytes + 1 - s.partial.size() : 0;
      s.partial.append(chunk.substr(0, std::min(room, chunk.size())));
      return;
    }
    if (s.partial.empty()) {
      s.raw_line(chunk.substr(0, newline));
    } else {
      const size_t room = kMaxLineBytes + 1 > s.partial.size() ? kMaxLineBytes + 1 - s.partial.size() : 0;
      s.partial.append(chunk.substr(0, std::min(room, newline)));
      s.raw_line(s.partial);
      s.partial.clear();
    }
    chunk.remove_prefix(newline + 1);
  }
}

ParsedLog KernelLogParser::finish() {
  State& s = *state_;
  if (!s.partial.empty()) {
    s.raw_line(s.partial);
    s.partial.clear();
  }
  if (s.held) {
    s.message(*s.held);
    s.held.reset();
  }
  if (s.report) {
    // Reports without a closing line end with their stack.
    const std::string& kind = s.report->kind;
    const bool open_ended = kind == "hung-wait" || kind == "sleep-in-atomic" || kind == "lock-order-inversion";
    s.finish_report(open_ended && s.frames_seen);
  }
  if (s.log.bytes == 0) throw LogError("the log is empty");
  if (s.text_lines == 0 || s.binary_lines * 2 > s.text_lines + s.binary_lines)
    throw LogError(fmt::format("not a text log: {} of {} lines hold control bytes (a binary file?)", s.binary_lines,
                               s.binary_lines + s.text_lines));
  return std::move(s.log);
}

ParsedLog parse_kernel_log(std::string_view text) {
  KernelLogParser parser;
  parser.feed(text);
  return parser.finish();
}

ParsedLog parse_kernel_log_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LogError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  KernelLogParser parser;
  std::string buffer(1 << 16, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    parser.feed(std::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
  }
  try {
    return parser.finish();
  } catch (const LogError& e) {
    throw LogError(fmt::format("{}: {}", path, e.what()));
  }
}

}  // namespace xfsim::harness
