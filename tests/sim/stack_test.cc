// sim/stack: shadow call stacks and the depot that interns them.
#include <gtest/gtest.h>

#include "sim/stack.h"

namespace xfsim::sim {
namespace {

TEST(StackDepot, InternsStacksAndGivesThemBackInnermostFirst) {
  ShadowStack a, b;
  a.push("outer");
  a.push("inner");
  b.push("outer");
  StackDepot& depot = StackDepot::instance();
  const StackId id = depot.save(a);
  EXPECT_EQ(depot.save(a), id);
  EXPECT_NE(depot.save(b), id);
  EXPECT_EQ(depot.frames(id), (std::vector<std::string>{"inner", "outer"}));
  EXPECT_EQ(depot.save(ShadowStack{}), kNoStack);
}

}  // namespace
}  // namespace xfsim::sim
