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
  std::string kind;    // e.g. "use-after-free"; see harness/oracles.cc
  std::string site;    // the model function (or scheduling point) that detected it
  std::string detail;  // one human-readable line: both sides of the race, objects named
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
};

// Memory errors: after one, the simulated machine's state is undefined, so
// a run stops there by default (as with KASAN without kasan_multi_shot).
bool is_memory_error(const std::string& kind);

}  // namespace xfsim::sim
