// What the fakes' unit tests share (tests/fakes/*_test.cc): a scheduler with
// the fakes every test needs, and an object for the lifetime tracker.
//
// Each oracle of the fakes fires in a test built to trigger it and stays
// silent in its twin. Oracles judged on the whole driver (access-after-free,
// missing-sigbus, access-after-unplug, invalid-mode-accepted,
// spurious-check-failure, hung-wait) are proven by the scenario pairs in
// scenarios/bugs/ (fires under the variant, clean under correct).
#pragma once

#include "fakes/events.h"
#include "fakes/grant_table.h"
#include "fakes/kmem.h"
#include "fakes/page_frames.h"
#include "fakes/xenstore.h"
#include "tests/sim/testing.h"

namespace xfsim::testing {

// Bench (the scheduler and its verdict) with the fakes on it.
struct FakesBench : Bench {
  fakes::Kmem kmem{scheduler};
  fakes::Memory memory{scheduler};
  fakes::GrantTable gnttab{scheduler, memory};
  fakes::EventChannels evtchn{scheduler};
  fakes::XenStore store{scheduler};
};

struct Thing : fakes::KObject {};

}  // namespace xfsim::testing
