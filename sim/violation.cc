#include "sim/violation.h"

#include <fmt/format.h>

namespace xfsim::sim {

std::string Violation::function() const { return where.frames.empty() ? site : where.frames.front(); }

std::string Violation::signature() const {
  if (!waited_for.empty()) return fmt::format("{} waiting for {}", kind->name, waited_for);
  if (freed && !freed->frames.empty() && kind->signed_by_racing_pair) {
    // The two halves of one race (X uses what Y freed, Y uses what X freed)
    // are one bug: the pair of functions, in a fixed order, names it.
    std::string a = function(), b = freed->function();
    if (b < a) std::swap(a, b);
    std::string out = fmt::format("{} on {} between {} and {}", kind->name, object_type, a, b);
    if (allocated && !allocated->frames.empty()) out += fmt::format(" alloc {}", allocated->function());
    return out;
  }
  std::string out = fmt::format("{} in {}", kind->name, function());
  if (!object_type.empty()) out += fmt::format(" on {}", object_type);
  if (!signature_key.empty()) out += fmt::format(" ({})", signature_key);
  if (allocated && !allocated->frames.empty()) out += fmt::format(" alloc {}", allocated->function());
  if (freed && !freed->frames.empty()) out += fmt::format(" free {}", freed->function());
  return out;
}

namespace {

void append_stack(std::string& out, const std::vector<std::string>& frames) {
  if (frames.empty()) out += " (no modelled kernel function)\n";
  for (const auto& frame : frames) out += fmt::format(" {}\n", frame);
}

std::string title(const Violation& v) {
  switch (v.kind->title) {
    case ReportTitle::kKasan:
      return fmt::format("BUG: KASAN: {} in {}", v.kind->name, v.function());
    case ReportTitle::kNullDeref:
      return fmt::format("BUG: kernel NULL pointer dereference in {}", v.function());
    case ReportTitle::kHungTask:
      return fmt::format("INFO: task {} blocked waiting for {}", v.where.task, v.waited_for);
    case ReportTitle::kCircularLocking:
      return "WARNING: possible circular locking dependency detected";
    case ReportTitle::kSleepInAtomic:
      return fmt::format("BUG: sleeping function called from invalid context in {}", v.function());
    case ReportTitle::kBadUnlock:
      return "WARNING: bad unlock balance detected!";
    case ReportTitle::kRefcount:
      return "refcount_t: underflow; use-after-free.";
    case ReportTitle::kWarning:
      break;
  }
  return fmt::format("WARNING: {} in {}", v.kind->name, v.function());
}

}  // namespace

std::string Violation::report() const {
  std::string out = "==================================================================\n";
  out += title(*this) + "\n";
  const std::string object = object_type.empty() ? "" : fmt::format(" of {} {}", object_type, object_name);
  if (!access.empty() || !object.empty()) {
    std::string what = access.empty() ? "Access" : access;
    what[0] = static_cast<char>(what[0] >= 'a' && what[0] <= 'z' ? what[0] - 'a' + 'A' : what[0]);
    out += fmt::format("{}{} by task {} ({}) at step {}, t={} ms\n", what, object, where.task, where.context,
                       where.step, where.time_ms);
  } else {
    out += fmt::format("task {} ({}) at step {}, t={} ms\n", where.task, where.context, where.step, where.time_ms);
  }
  out += "Call Trace:\n";
  append_stack(out, where.frames);
  if (allocated) {
    out += fmt::format("\nAllocated by task {} ({}) at step {}, t={} ms:\n", allocated->task, allocated->context,
                       allocated->step, allocated->time_ms);
    append_stack(out, allocated->frames);
  }
  if (freed) {
    out += fmt::format("\nFreed by task {} ({}) at step {}, t={} ms:\n", freed->task, freed->context, freed->step,
                       freed->time_ms);
    append_stack(out, freed->frames);
  }
  for (const auto& note : notes) out += "\n" + note + "\n";
  out += fmt::format("\n{}\nsignature: {}\n", detail, signature());
  out += "==================================================================\n";
  return out;
}

}  // namespace xfsim::sim
