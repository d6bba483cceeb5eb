// fakes/displif: the displif rings; ring-overflow firing and silent.
#include <gtest/gtest.h>

#include "fakes/displif.h"
#include "tests/fakes/testing.h"

namespace xfsim::fakes {
namespace {

using Bench = testing::FakesBench;

TEST(DisplifRing, PushingIntoAFullRingIsRefused) {
  for (uint32_t requests : {kRingSlots, kRingSlots + 1}) {
    Bench b;
    DisplifRing::Page ring;
    bool all_pushed = true;
    for (uint32_t i = 0; i < requests; ++i) all_pushed &= ring.push_request(b.scheduler, DisplifRequest{}, "push");
    EXPECT_EQ(all_pushed, requests == kRingSlots);
    EXPECT_EQ(b.verdict(), requests == kRingSlots ? "clean" : "ring-overflow");
  }
}

TEST(DisplifRing, AnsweredSlotsCanBeReused) {
  Bench b;
  DisplifRing::Page ring;
  for (uint32_t i = 0; i < 3 * kRingSlots; ++i) {
    ASSERT_TRUE(ring.push_request(b.scheduler, DisplifRequest{}, "push"));
    ring.push_requests();
    ring.take_request();
    ring.push_response(DisplifResponse{});
    ring.rsp_cons = ring.rsp_prod;
  }
  EXPECT_EQ(b.verdict(), "clean");
}

}  // namespace
}  // namespace xfsim::fakes
