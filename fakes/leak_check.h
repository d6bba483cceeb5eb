// The end-of-run leak oracle: once the driver is removed and every process
// has exited, nothing the frontend allocated may remain — kernel objects,
// grants it gave, event channels, XenStore watches.
#pragma once

#include "fakes/events.h"
#include "fakes/grant_table.h"
#include "fakes/kmem.h"
#include "fakes/xenstore.h"
#include "sim/scheduler.h"

namespace xfsim::fakes {

// Reports `leak` (listing up to eight of them) and returns true if any.
bool report_leaks(sim::Scheduler& scheduler, const Kmem& kmem, const GrantTable& gnttab, const EventChannels& evtchn,
                  const XenStore& store);

}  // namespace xfsim::fakes
