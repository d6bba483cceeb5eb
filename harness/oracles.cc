#include "harness/oracles.h"

#include <cstring>
#include <span>

#include "fakes/backend.h"
#include "fakes/displif.h"
#include "fakes/drm.h"
#include "fakes/grant_table.h"
#include "fakes/memory_errors.h"
#include "fakes/page_frames.h"
#include "fakes/xenstore.h"
#include "harness/userspace.h"
#include "harness/world.h"
#include "sim/assert.h"
#include "sim/lockdep.h"
#include "sim/wait_queue.h"

namespace xfsim::harness {

const std::vector<const sim::ViolationKind*>& oracle_kinds() {
  static const std::vector<const sim::ViolationKind*> kinds = [] {
    std::vector<const sim::ViolationKind*> all;
    for (std::span<const sim::ViolationKind* const> layer :
         {std::span<const sim::ViolationKind* const>(sim::kSchedulerOracles),
          {sim::kLockdepOracles},
          {sim::kMightSleepOracles},
          {fakes::kMemoryErrorOracles},
          {fakes::kPageFramesOracles},
          {fakes::kXenstoreOracles},
          {fakes::kDisplifOracles},
          {fakes::kBackendOracles},
          {fakes::kDrmOracles}}) {
      all.insert(all.end(), layer.begin(), layer.end());
    }
    all.push_back(&kHungWait);
    all.insert(all.end(), std::begin(kLogExpectationOracles), std::end(kLogExpectationOracles));
    for (size_t i = 0; i < all.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        XFSIM_ASSERT(std::strcmp(all[i]->name, all[j]->name) != 0, "violation kind {} declared twice", all[i]->name);
      }
    }
    return all;
  }();
  return kinds;
}

bool is_oracle_kind(const std::string& name) {
  for (const sim::ViolationKind* kind : oracle_kinds()) {
    if (name == kind->name) return true;
  }
  return false;
}

}  // namespace xfsim::harness
