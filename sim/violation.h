// Violation: what an oracle reports, with what a kernel report would carry.
// Every violation names the task and context it happened in, at which step
// and virtual time, and that task's shadow call stack (sim/stack.h). An
// oracle adds what it knows, as the kernel's reports do:
//   memory errors (KASAN): the access, the object, where it was allocated
//     and where it was freed (task, step, stack);
//   hung waits: what was waited for, since when;
//   lockdep: both lock chains;  xenbus: both states.
// The signature identifies a finding: campaigns count findings by it, the
// minimiser keeps it, reproducer file names are made from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xfsim::sim {

// How the kernel headlines such a report (Violation::report's first line).
enum class ReportTitle : uint8_t {
  kKasan,            // BUG: KASAN: <kind> in <function>
  kNullDeref,        // BUG: kernel NULL pointer dereference in <function>
  kHungTask,         // INFO: task <task> blocked waiting for <what>
  kCircularLocking,  // WARNING: possible circular locking dependency detected
  kSleepInAtomic,    // BUG: sleeping function called from invalid context in <function>
  kBadUnlock,        // WARNING: bad unlock balance detected!
  kRefcount,         // refcount_t: underflow; use-after-free.
  kWarning,          // WARNING: <kind> in <function>
};

// A kind of violation, declared next to the oracle that fires it (the
// engine's in sim/, the fakes' in their headers, userspace's in the harness)
// and listed by `xfsim oracles` from those declarations. Compared by address:
// one object per kind.
struct ViolationKind {
  const char* name;     // as scenarios and reports spell it: "use-after-free"
  const char* meaning;  // one line for `xfsim oracles`
  ReportTitle title = ReportTitle::kWarning;
  // After a memory error the machine's state is undefined, so by default a
  // run stops there (as KASAN without kasan_multi_shot).
  bool memory_error = false;
  // Whatever the policy: a deadlock leaves nothing to run (never ignored).
  bool always_stops = false;
  // A use of what another function freed: the signature names the two
  // functions as an unordered pair, so both halves of one race are one finding.
  bool signed_by_racing_pair = false;
};
// Where something happened: a task, in a context, at a step, with a stack.
struct StackRecord {
  std::string task;
  std::string context;  // user, kthread, irq, worker, softirq
  uint64_t step = 0;
  uint64_t time_ms = 0;
  std::vector<std::string> frames;  // innermost first
  std::string function() const { return frames.empty() ? std::string() : frames.front(); }
};

struct Violation {
  const ViolationKind* kind = nullptr;  // never null once reported
  std::string site;                     // the model function (or scheduling point) that detected it
  std::string detail;                   // one human-readable line: both sides of the race, objects named
  uint64_t step = 0;
  std::string task;
  StackRecord where;  // the reporting task, context and stack (filled by the scheduler)

  // Filled by oracles that know them.
  std::string access;       // memory errors: "read", "write", "free", "get", "put"
  std::string object_type;  // "xen_drm_front_dbuf"
  std::string object_name;  // "dbuf-gem0"
  std::optional<StackRecord> allocated, freed;
  std::string waited_for;          // hung waits: "a page-flip event"
  std::vector<std::string> notes;  // further report lines (lock chains, states)
  std::string signature_key;       // oracle-specific part of the signature

  // kind + what identifies the bug: the access/alloc/free functions for
  // memory errors (for a use-after-free, the accessing and the freeing
  // function as an unordered pair, so both halves of one race are one
  // finding), the waited-for event for hangs, the oracle's key else.
  std::string signature() const;
  // The report as the kernel prints one (KASAN, WARNING, lockdep, hung task),
  // several lines, ending in the signature.
  std::string report() const;
  // The function the violation happened in: innermost frame, else the site.
  std::string function() const;
  std::string kind_name() const { return kind->name; }
};

}  // namespace xfsim::sim
