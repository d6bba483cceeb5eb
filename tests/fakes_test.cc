// Each oracle of the fakes fires in a test built to trigger it and stays
// silent in its twin. Oracles judged on the whole driver (access-after-free,
// missing-sigbus, access-after-unplug, invalid-mode-accepted,
// spurious-check-failure, hung-wait) are proven by the scenario pairs in
// scenarios/bugs/ (fires under the variant, clean under correct).
#include <gtest/gtest.h>

#include "fakes/displif.h"
#include "fakes/events.h"
#include "fakes/grant_table.h"
#include "fakes/kmem.h"
#include "fakes/leak_check.h"
#include "fakes/page_frames.h"
#include "fakes/xenstore.h"
#include "sim/lock.h"
#include "sim/random_strategy.h"
#include "sim/scheduler.h"
#include "sim/workqueue.h"

namespace xfsim::fakes {
namespace {

// A scheduler with the bits every test needs.
struct Bench {
  sim::RandomStrategy strategy{1};
  sim::Trace trace;
  sim::Scheduler scheduler{strategy, trace};
  Kmem kmem{scheduler};
  Memory memory{scheduler};
  GrantTable gnttab{scheduler, memory};
  EventChannels evtchn{scheduler};
  XenStore store{scheduler};

  std::string verdict() const {
    return scheduler.has_violation() ? scheduler.violations().front().kind_name() : "clean";
  }
  std::string run() {
    scheduler.run({});
    return verdict();
  }
};

struct Thing : KObject {};

// ---- lifetime tracker ----

TEST(Kmem, UseAfterFreeNamesBothSidesAndTheTwinIsSilent) {
  for (bool free_first : {true, false}) {
    Bench b;
    Thing* thing = b.kmem.kzalloc<Thing>("thing", "t0");
    if (free_first) b.kmem.kfree(thing, "freer");
    b.kmem.check(thing, "user");
    EXPECT_EQ(b.verdict(), free_first ? "use-after-free" : "clean");
    if (free_first) {
      EXPECT_NE(b.scheduler.violations().front().detail.find("freer"), std::string::npos);
    }
  }
}

// A report as KASAN prints one: the access with its stack, where the object
// was allocated and freed (task and stack), and a signature made of them.
sim::Task<> allocate(Bench& b, Thing*& out) {
  XFSIM_KFUNC_AS(b.scheduler, "thing_create");
  co_await b.scheduler.point("thing_create");
  out = b.kmem.kzalloc<Thing>("thing", "t0");
}
sim::Task<> release(Bench& b, Thing* thing) {
  XFSIM_KFUNC_AS(b.scheduler, "thing_destroy");
  co_await b.scheduler.point("thing_destroy");
  b.kmem.kfree(thing, "thing_destroy");
}
sim::Task<> use(Bench& b, Thing* thing) {
  XFSIM_KFUNC_AS(b.scheduler, "thing_use");
  co_await b.scheduler.point("thing_use");
  b.kmem.check(thing, "thing_use", "write");
}
sim::Task<> lifecycle(Bench& b) {
  XFSIM_KFUNC_AS(b.scheduler, "thing_ioctl");
  Thing* thing = nullptr;
  co_await allocate(b, thing);
  co_await release(b, thing);
  co_await use(b, thing);
}

TEST(Kmem, UseAfterFreeReportCarriesAccessAllocationAndFreeStacks) {
  Bench b;
  b.scheduler.spawn("ioctl", sim::TaskKind::kUser, lifecycle(b));
  EXPECT_EQ(b.run(), "use-after-free");
  const sim::Violation& v = b.scheduler.violations().front();
  EXPECT_EQ(v.access, "write");
  EXPECT_EQ(v.object_type, "thing");
  EXPECT_EQ(v.where.frames, (std::vector<std::string>{"thing_use", "thing_ioctl"}));
  ASSERT_TRUE(v.allocated && v.freed);
  EXPECT_EQ(v.allocated->frames, (std::vector<std::string>{"thing_create", "thing_ioctl"}));
  EXPECT_EQ(v.freed->frames, (std::vector<std::string>{"thing_destroy", "thing_ioctl"}));
  EXPECT_EQ(v.freed->task, "ioctl");
  EXPECT_EQ(v.signature(), "use-after-free on thing between thing_destroy and thing_use alloc thing_create");
  const std::string report = v.report();
  for (const char* line : {"BUG: KASAN: use-after-free in thing_use", "Write of thing t0 by task ioctl (user)",
                           "Call Trace:\n thing_use\n thing_ioctl\n", "Allocated by task ioctl (user)",
                           "Freed by task ioctl (user)", " thing_destroy\n thing_ioctl\n"}) {
    EXPECT_NE(report.find(line), std::string::npos) << line << "\n" << report;
  }
}

TEST(Kmem, DoubleFreeFiresOnTheSecondFreeOnly) {
  for (int frees : {1, 2}) {
    Bench b;
    Thing* thing = b.kmem.kzalloc<Thing>("thing", "t0");
    for (int i = 0; i < frees; ++i) b.kmem.kfree(thing, "kfree");
    EXPECT_EQ(b.verdict(), frees == 2 ? "double-free" : "clean");
  }
}

TEST(Kmem, NullDereferenceIsReported) {
  for (bool null : {true, false}) {
    Bench b;
    Thing* thing = b.kmem.kzalloc<Thing>("thing", "t0");
    b.kmem.check(null ? nullptr : thing, "deref");
    EXPECT_EQ(b.verdict(), null ? "null-deref" : "clean");
  }
}

TEST(Kmem, DevmObjectsDieWithTheirDevice) {
  Bench b;
  Thing* owned = b.kmem.devm_kzalloc<Thing>(7, "thing", "devm");
  Thing* other = b.kmem.kzalloc<Thing>("thing", "plain");
  b.kmem.devres_release_all(7, "devres_release_all");
  EXPECT_FALSE(b.kmem.live(owned));
  EXPECT_TRUE(b.kmem.live(other));
  EXPECT_EQ(b.verdict(), "clean");
}

TEST(Kref, UnderflowFiresAndBalancedGetPutIsSilent) {
  for (int puts : {2, 3}) {
    Bench b;
    Kref ref;
    ref.get(b.scheduler, "get", "obj");
    bool released = false;
    for (int i = 0; i < puts; ++i) released |= ref.put(b.scheduler, "put", "obj");
    EXPECT_TRUE(released);
    EXPECT_EQ(b.verdict(), puts == 3 ? "refcount-underflow" : "clean");
  }
}

TEST(Leaks, AnythingTheFrontendStillHoldsIsALeak) {
  for (bool release : {false, true}) {
    Bench b;
    Thing* thing = b.kmem.kzalloc<Thing>("thing", "t0");
    const uint32_t page = b.memory.alloc_page(kFrontendDomid, "p");
    const grant_ref_t gref = b.gnttab.grant_foreign_access(kFrontendDomid, kBackendDomid, page, false);
    const evtchn_port_t port = b.evtchn.alloc_unbound("alloc");
    if (release) {
      b.kmem.kfree(thing, "kfree");
      b.gnttab.end_foreign_access(gref, "end");
      b.evtchn.free(port, "free");
    }
    EXPECT_EQ(report_leaks(b.scheduler, b.kmem, b.gnttab, b.evtchn, b.store), !release);
    EXPECT_EQ(b.verdict(), release ? "clean" : "leak");
  }
}

// ---- xenbus ----

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

// ---- grants and pages ----

TEST(Memory, BackendFreeingAPageTheFrontendMapsFires) {
  for (bool unmap_first : {false, true}) {
    Bench b;
    const uint32_t backend_page = b.memory.alloc_page(kBackendDomid, "be");
    const grant_ref_t gref = b.gnttab.grant_foreign_access(kBackendDomid, kFrontendDomid, backend_page, false);
    const uint32_t ballooned = b.memory.alloc_ballooned_page("front");
    b.gnttab.map_into(ballooned, gref, "map");
    EXPECT_EQ(b.memory.backing_of(ballooned), backend_page);
    if (unmap_first) b.gnttab.unmap_from(ballooned, gref, "unmap");
    b.memory.free_page(backend_page, "backend_free");
    EXPECT_EQ(b.verdict(), unmap_first ? "clean" : "backend-page-freed-while-reachable");
    EXPECT_EQ(b.memory.backing_of(ballooned), kNoPage);
  }
}

// ---- rings ----

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

// ---- event channels ----

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

// ---- lock held at exit ----

sim::Task<> take_spinlock(sim::SpinLock& lock, bool release) {
  co_await lock.lock("spin_lock");
  if (release) lock.unlock();
}

TEST(SpinLock, ATaskEndingWithASpinlockHeldIsReported) {
  for (bool release : {true, false}) {
    Bench b;
    sim::SpinLock lock(b.scheduler, "io_lock");
    b.scheduler.spawn("t", sim::TaskKind::kKthread, take_spinlock(lock, release));
    EXPECT_EQ(b.run(), release ? "clean" : "lock-held-at-exit");
  }
}

// ---- delayed work ----

sim::Task<> count_run(int& runs) {
  ++runs;
  co_return;
}

TEST(DelayedWork, CancelStopsAPendingOrQueuedWorkAndRescheduleIsANoOpWhilePending) {
  Bench b;
  int runs = 0;
  sim::DelayedWork work(b.scheduler, "kworker/test", [&] { return count_run(runs); });
  EXPECT_TRUE(work.schedule(100));
  EXPECT_FALSE(work.schedule(50));  // already pending: no change
  EXPECT_TRUE(work.cancel());
  EXPECT_EQ(b.run(), "clean");
  EXPECT_EQ(runs, 0);
  EXPECT_TRUE(work.schedule(10));
  EXPECT_EQ(b.run(), "clean");
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(b.scheduler.now_ms(), 10u);
}

sim::Task<> cancel_sync_after_point(sim::Scheduler& s, sim::DelayedWork& work, std::vector<std::string>& log) {
  co_await s.point("canceller");
  co_await work.cancel_sync("cancel_delayed_work_sync");
  log.push_back("cancelled");
}

sim::Task<> logged_work(sim::Scheduler& s, std::vector<std::string>& log) {
  log.push_back("work start");
  co_await s.point("work");
  log.push_back("work end");
}

TEST(DelayedWork, CancelSyncNeverReturnsWhileTheWorkRuns) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    sim::RandomStrategy strategy(seed);
    sim::Trace trace;
    sim::Scheduler scheduler(strategy, trace);
    std::vector<std::string> log;
    sim::DelayedWork work(scheduler, "kworker/test", [&] { return logged_work(scheduler, log); });
    work.schedule(0);
    // The timer fires only when nothing runs: start the canceller from a timer too.
    scheduler.add_timer(0, [&] {
      scheduler.spawn("canceller", sim::TaskKind::kKthread, cancel_sync_after_point(scheduler, work, log));
    });
    ASSERT_EQ(scheduler.run({}), sim::RunStatus::kFinished);
    ASSERT_EQ(log.back(), "cancelled") << "seed " << seed;
    const bool ran = log.size() == 3;
    if (ran) {
      EXPECT_EQ(log[1], "work end") << "seed " << seed;
    } else {
      EXPECT_EQ(log.size(), 1u);
    }
  }
}

}  // namespace
}  // namespace xfsim::fakes

namespace xfsim::fakes {
namespace {

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
