// The memory errors every lifetime oracle of the simulated machine reports,
// KASAN's and refcount_t's: kernel objects (fakes/kmem.h), page frames, grants
// and event channels (the hypervisor's fakes) share them, so they live apart
// from any one of them, in a header every fake may include.
#pragma once

#include "sim/violation.h"

namespace xfsim::fakes {

using sim::ReportTitle;
using sim::ViolationKind;
inline constexpr ViolationKind kUseAfterFree{"use-after-free",
                                             "a freed kernel object (or one whose refcount hit zero) is accessed",
                                             ReportTitle::kKasan,
                                             /*memory_error=*/true,
                                             false,
                                             /*signed_by_racing_pair=*/true};
inline constexpr ViolationKind kDoubleFree{"double-free",
                                           "a kernel object, page, grant or event channel is freed twice",
                                           ReportTitle::kKasan, /*memory_error=*/true};
inline constexpr ViolationKind kRefcountUnderflow{"refcount-underflow", "a reference is put more often than it was got",
                                                  ReportTitle::kRefcount};
inline constexpr ViolationKind kNullDeref{"null-deref",
                                          "a NULL pointer is dereferenced (e.g. front_info->drm_info after fini)",
                                          ReportTitle::kNullDeref, /*memory_error=*/true};
// Fired at the end of a run by fakes/leak_check.h, and where a resource is
// returned while still holding another (a ballooned page still mapping).
inline constexpr ViolationKind kLeak{
    "leak", "after remove and exit, frontend objects, grants, event channels or watches remain"};
inline constexpr const ViolationKind* kMemoryErrorOracles[] = {&kUseAfterFree, &kDoubleFree, &kRefcountUnderflow,
                                                               &kNullDeref, &kLeak};

}  // namespace xfsim::fakes
