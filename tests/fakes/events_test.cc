// fakes/events: event channels and their handlers in IRQ context.
#include <gtest/gtest.h>

#include "fakes/events.h"
#include "sim/lock.h"
#include "sim/random_strategy.h"
#include "sim/scheduler.h"
#include "tests/fakes/testing.h"

namespace xfsim::fakes {
namespace {

using Bench = testing::FakesBench;

sim::Task<> slow_handler(sim::Scheduler& s, std::vector<std::string>& log) {
  log.push_back("handler start");
  co_await s.point("handler");
  co_await s.point("handler");
  log.push_back("handler end");
}

TEST(EventChannels, UnbindWaitsForARunningHandler) {
  // Whatever the interleaving, "unbound" never comes between start and end.
  for (uint64_t seed = 0; seed < 50; ++seed) {
    sim::RandomStrategy strategy(seed);
    sim::Trace trace;
    sim::Scheduler scheduler(strategy, trace);
    EventChannels evtchn(scheduler);
    std::vector<std::string> log;
    const evtchn_port_t port = evtchn.alloc_unbound("alloc");
    const int irq = evtchn.bind_to_irqhandler(port, "test", [&] { return slow_handler(scheduler, log); });
    scheduler.spawn(
        "unbinder", sim::TaskKind::kKthread,
        [](sim::Scheduler& s, EventChannels& e, int i, evtchn_port_t p, std::vector<std::string>& l) -> sim::Task<> {
          e.notify_frontend(p);
          co_await s.point("before unbind");
          co_await e.unbind_from_irqhandler(i, "unbind_from_irqhandler");
          l.push_back("unbound");
        }(scheduler, evtchn, irq, port, log));
    ASSERT_EQ(scheduler.run({}), sim::RunStatus::kFinished);
    ASSERT_FALSE(log.empty());
    EXPECT_EQ(log.back(), "unbound") << "seed " << seed;
    if (log.size() == 3) {
      EXPECT_EQ(log[1], "handler end");
    }
  }
}

sim::Task<> mutex_in_irq(sim::Mutex& mutex) {
  co_await mutex.lock("mutex_lock");
  mutex.unlock();
}

TEST(EventChannels, HandlersRunInIrqContextWhereSleepingIsReported) {
  for (bool sleeps : {false, true}) {
    Bench b;
    sim::Mutex mutex(b.scheduler, "some_mutex");
    const evtchn_port_t port = b.evtchn.alloc_unbound("alloc");
    b.evtchn.bind_to_irqhandler(port, "test", [&]() -> sim::Task<> {
      if (sleeps) return mutex_in_irq(mutex);
      return [](sim::Scheduler& s) -> sim::Task<> { co_await s.point("handler"); }(b.scheduler);
    });
    b.evtchn.notify_frontend(port);
    EXPECT_EQ(b.run(), sleeps ? "sleep-in-atomic" : "clean");
  }
}

}  // namespace
}  // namespace xfsim::fakes
