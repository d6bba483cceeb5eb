// fakes/xenstore: XenStore, its watches and xenwatch, and xenbus's state
// machine (illegal-xenbus-transition firing and silent).
#include <gtest/gtest.h>

#include "fakes/xenstore.h"
#include "sim/scheduler.h"
#include "tests/fakes/testing.h"

namespace xfsim::fakes {
namespace {

using Bench = testing::FakesBench;

sim::Task<> switch_through(Xenbus& xenbus, XenbusDevice& dev, std::vector<XenbusState> states) {
  for (XenbusState state : states) co_await xenbus.xenbus_switch_state(dev, state, "test");
}

TEST(Xenbus, ClosingThenInitialisingIsIllegalAndTheReconfigurePathIsNot) {
  using S = XenbusState;
  const std::vector<std::pair<std::vector<S>, std::string>> cases = {
      {{S::Initialised, S::Connected, S::Reconfiguring, S::Initialising}, "clean"},
      {{S::Initialised, S::Connected, S::Closing, S::Closed}, "clean"},
      {{S::Initialised, S::Connected, S::Closing, S::Initialising}, "clean"},  // a protocol note, not a violation
      {{S::Initialised, S::Connected, S::Closing, S::Connected}, "illegal-xenbus-transition"},
      {{S::Connected, S::Reconfigured}, "illegal-xenbus-transition"},
  };
  for (const auto& [states, verdict] : cases) {
    Bench b;
    Xenbus xenbus(b.scheduler, b.store);
    XenbusDevice dev;
    dev.nodename = "device/vdispl/0";
    b.scheduler.spawn("t", sim::TaskKind::kKthread, switch_through(xenbus, dev, states));
    EXPECT_EQ(b.run(), verdict);
    if (verdict == "clean") {
      EXPECT_EQ(b.store.peek("device/vdispl/0/state"), std::to_string(static_cast<int>(states.back())));
    }
  }
}

sim::Task<> write_all(XenStore& store, std::vector<std::string> paths) {
  for (const auto& path : paths) co_await store.write(path, "x");
}

TEST(XenStore, WatchesFireOnceAtRegistrationThenInWriteOrderOnOneThread) {
  Bench b;
  std::vector<std::string> seen;
  b.scheduler.spawn("xenwatch", sim::TaskKind::kKthread, b.store.xenwatch_thread(), /*daemon=*/true);
  b.store.register_watch("backend/0", "test", [&](const std::string& path) -> sim::Task<> {
    seen.push_back(path);
    co_return;
  });
  b.scheduler.spawn("writer", sim::TaskKind::kKthread,
                    write_all(b.store, {"backend/0/state", "other/x", "backend/0/a/b"}));
  EXPECT_EQ(b.run(), "clean");
  EXPECT_EQ(seen, (std::vector<std::string>{"backend/0", "backend/0/state", "backend/0/a/b"}));
}

sim::Task<> list_and_remove(XenStore& store, std::vector<std::string>& children) {
  co_await store.write("d/b", "1");
  co_await store.write("d/a/x", "2");
  co_await store.write("d/a/y", "3");
  co_await store.write("d/a-z", "4");  // sorts between "d/a" and "d/a/x"
  children = co_await store.directory("d");
  co_await store.remove("d/a");
}

TEST(XenStore, DirectoryIsSortedAndRemoveTakesTheSubtree) {
  Bench b;
  std::vector<std::string> children;
  b.scheduler.spawn("t", sim::TaskKind::kKthread, list_and_remove(b.store, children));
  EXPECT_EQ(b.run(), "clean");
  EXPECT_EQ(children, (std::vector<std::string>{"a", "a-z", "b"}));
  EXPECT_FALSE(b.store.peek("d/a/x").has_value());
  EXPECT_FALSE(b.store.peek("d/a/y").has_value());
  EXPECT_TRUE(b.store.peek("d/a-z").has_value());
  EXPECT_TRUE(b.store.peek("d/b").has_value());
}

// A state node is read without throwing and without overflow, whatever it
// holds: the backend reads it inside a coroutine, where a throw would abort.
TEST(Xenbus, StateNodesReadAsStatesAndAnythingElseAsUnknown) {
  EXPECT_EQ(xenbus_state_from_string("4"), XenbusState::Connected);
  EXPECT_EQ(xenbus_state_from_string("8"), XenbusState::Reconfigured);
  for (const char* garbage : {"", "9", "-1", "4 ", "x", "99999999999999999999999", "04"}) {
    EXPECT_EQ(xenbus_state_from_string(garbage), XenbusState::Unknown) << garbage;
  }
}

}  // namespace
}  // namespace xfsim::fakes
