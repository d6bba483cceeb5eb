// Footprint: the shared state one step touched, for partial-order reduction.
//
// Two steps commute (running them in either order reaches the same state)
// when neither writes a resource the other touches. Resources are coarse and
// conservative:
//   - a machine's own memory is one resource: every step of a task writes
//     the resource of the domain it was spawned in (machine_resource), so
//     steps on one machine are always dependent;
//   - what the machines share is a resource each, held in a sim::Shared
//     (sim/shared.h) by the fake that models it, which records every read and
//     write through its accessors: in xfsim, what Xen gives two domains to
//     share (XenStore, grants, pages, event channels, granted rings);
//   - the engine's own state: each wait queue with the condition it announces
//     (a completion's count, a lock's owner), lockdep's class graph, and,
//     recorded by the scheduler itself, the task table (spawning numbers
//     tasks) and the timer queue (arming orders timers).
// Code of one machine that runs on behalf of the other (a callback, a
// sim::MachineCallback) writes the other machine too.
// Resources hash into 64 bits; a collision makes two steps look dependent,
// which only costs pruning, never soundness.
#pragma once

#include <cstdint>

namespace xfsim::sim {

enum Resource : uint32_t {
  kFirstMachineResource = 0,  // one per domain (Scheduler::add_domain): the home domain's first
  kTaskTable = 2,
  kTimers,
  kFirstDynamicResource  // Scheduler::new_resource numbers from here
};
// The machine a domain's tasks run on (domains are numbered from 0).
constexpr uint32_t machine_resource(uint8_t domain) { return kFirstMachineResource + domain; }

struct Footprint {
  uint64_t reads = 0;
  uint64_t writes = 0;

  static uint64_t bit(uint32_t resource) {
    constexpr uint32_t kDynamicBits = 64 - kFirstDynamicResource;
    return resource < kFirstDynamicResource
               ? uint64_t{1} << resource
               : uint64_t{1} << (kFirstDynamicResource + (resource - kFirstDynamicResource) % kDynamicBits);
  }
  void touch(uint32_t resource, bool write) { (write ? writes : reads) |= bit(resource); }
  bool independent_of(const Footprint& other) const {
    return (writes & (other.reads | other.writes)) == 0 && (other.writes & reads) == 0;
  }
  bool empty() const { return (reads | writes) == 0; }
};

}  // namespace xfsim::sim
