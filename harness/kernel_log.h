// Reading kernel logs: real ones (dmesg with or without timestamps,
// `journalctl -k`, serial captures wrapped at 80 columns, syzbot reports)
// and the model's own (harness/dmesg.h). Streaming, one line at a time, in
// bounded memory: lines past kMaxLineBytes are cut, events past kMaxEvents
// and reports past kMaxReports are counted, not kept.
//
// From a log it extracts (a) each crash report's signature: its kind in the
// model's words, the function it happened in, the stacks (access, alloc,
// free) mapped to the model's functions, the object, task and context; and
// (b) the ordered xen-front events: the driver's messages, xenbus errors,
// backend state changes, grant-table lines. Kernel functions the model does
// not have are listed (unmapped), except the kernel's own plumbing (report
// machinery, syscall and kthread entry), which is dropped silently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace xfsim::harness {

// A log that cannot be read: empty, binary, or with nothing of xen-front.
class LogError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CrashSignature {
  std::string kind;      // the model's kind ("use-after-free"), or the log's own word when the model has none
  std::string title;     // the headline as the log has it
  std::string function;  // the model function it happened in ("" if none mapped)
  std::vector<std::string> stack, alloc_stack, free_stack;  // model functions, innermost first
  std::string access;                                       // "read" / "write" (KASAN, #PF)
  std::string object;                                       // "kmalloc-128 at ffff888..." when the log says
  std::string lock_key;                                     // lockdep: "<held> then <wanted>"
  std::string task;                                         // comm
  uint32_t pid = 0;
  std::string context;  // user, kthread, worker, irq ("" when the log does not tell)
  uint64_t first_line = 0;
  bool complete = false;  // the report's end was in the log (else it was cut short)
  // In harness/dmesg.h's log_signature form, so a model violation compares.
  std::string signature() const;
};

struct LogEvent {
  enum class Type : uint8_t { kDriver, kBackendState, kXenbusError, kGrant };
  Type type = Type::kDriver;
  uint64_t line = 0;                          // 1-based, in the input
  int64_t time_us = -1;                       // the timestamp, -1 without one
  std::string function;                       // the printing function, mapped ("" for DRM_INFO)
  std::string text;                           // the message, without prefix, function and module
  std::string backend_state, frontend_state;  // kBackendState
};
const char* log_event_type_name(LogEvent::Type type);

struct ParsedLog {
  std::vector<CrashSignature> reports;
  std::vector<LogEvent> events;
  std::set<std::string> unmapped;  // kernel functions met in stacks that the model does not have
  uint64_t lines = 0, bytes = 0, ignored_lines = 0, events_dropped = 0, reports_dropped = 0;
  bool timestamps = false;  // some line had a [ s.us] timestamp
  const CrashSignature* first() const { return reports.empty() ? nullptr : &reports.front(); }
};

// The model function a kernel function stands for: itself if the model has
// it, a renamed one's model name, else nothing. Compiler suffixes
// (".cold", ".constprop.0", ".isra.0", ".part.0") are dropped first.
std::optional<std::string> model_function(std::string_view kernel_function);
// Report machinery and entry code (dump_stack, kasan_*, do_syscall_64, ...):
// in every stack, never a finding's function.
bool kernel_plumbing(std::string_view kernel_function);

class KernelLogParser {
 public:
  static constexpr size_t kMaxLineBytes = 4096;
  static constexpr size_t kMaxEvents = 1 << 20;
  static constexpr size_t kMaxReports = 64;
  static constexpr size_t kMaxUnmapped = 512;
  static constexpr size_t kMaxStack = 64;

  KernelLogParser();
  ~KernelLogParser();
  KernelLogParser(const KernelLogParser&) = delete;
  KernelLogParser& operator=(const KernelLogParser&) = delete;
  // Any chunking: lines are split at '\n' across calls.
  void feed(std::string_view chunk);
  // Ends the input. Throws LogError when the input was empty or binary.
  ParsedLog finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

ParsedLog parse_kernel_log(std::string_view text);
// Reads the file in chunks (a 100 MB log never sits in memory); the path in
// every error.
ParsedLog parse_kernel_log_file(const std::string& path);

}  // namespace xfsim::harness
