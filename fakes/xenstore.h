// XenStore and xenbus, as the frontend and the backend see them.
//
// Follows drivers/xen/xenbus/xenbus_xs.c (read/write/directory/watches, one
// "xenwatch" kthread delivering watch events in order) and xenbus_client.c
// (xenbus_switch_state, xenbus_dev_fatal). Every call touching the store is a
// scheduling point. A frontend state change the xenbus protocol does not
// allow is the violation `illegal-xenbus-transition`.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/lock.h"
#include "sim/scheduler.h"
#include "sim/shared.h"
#include "sim/wait_queue.h"

namespace xfsim::fakes {

inline constexpr sim::ViolationKind kIllegalXenbusTransition{
    "illegal-xenbus-transition", "the frontend makes a state change the xenbus protocol does not allow"};
inline constexpr const sim::ViolationKind* kXenstoreOracles[] = {&kIllegalXenbusTransition};

// include/xen/interface/io/xenbus.h (alike in shape with displif.h's
// DisplifOp: each mirrors its own protocol header)
enum class XenbusState : int {
  Unknown = 0,
  Initialising = 1,
  InitWait = 2,
  Initialised = 3,
  Connected = 4,
  Closing = 5,
  Closed = 6,
  Reconfiguring = 7,
  Reconfigured = 8,
};
const char* xenbus_strstate(XenbusState state);
// The state xenbus_strstate names `name` ("InitWait"), if any.
std::optional<XenbusState> xenbus_state_named(const std::string& name);

// A scripted action that waits for a xenbus state rather than a time: it
// fires its delay after the frontend's (or the backend's) state node first
// reads `state`.
struct StateTrigger {
  bool frontend = true;
  XenbusState state = XenbusState::Unknown;
};
// The frontend transitions the protocol allows (see docs/fakes.md).
bool xenbus_transition_allowed(XenbusState from, XenbusState to);
// A state node's text as a state; Unknown for anything but "0".."8". Never
// throws: it runs inside coroutines, where an exception would abort.
XenbusState xenbus_state_from_string(const std::string& text);

class XenStore {
 public:
  using WatchCallback = std::function<sim::Task<>(const std::string& path)>;
  using WatchId = uint32_t;

  explicit XenStore(sim::Scheduler& scheduler);

  sim::Task<std::optional<std::string>> read(const std::string& path);
  sim::Task<> write(const std::string& path, const std::string& value);
  sim::Task<> remove(const std::string& path);  // the node and its subtree
  sim::Task<std::vector<std::string>> directory(const std::string& path);

  // register_xenbus_watch: fires once at registration (as xenstored does) and
  // on every later write/remove at or under `path`.
  WatchId register_watch(const std::string& path, std::string owner, WatchCallback callback);
  // unregister_xenbus_watch: no later event is delivered, and a callback
  // already running finishes first (the caller takes xenwatch_mutex, which
  // the xenwatch thread holds across each callback).
  sim::Task<> unregister_watch(WatchId id);
  // Another domain's watch (the backend's): delivered at once by its own
  // xenstore connection, not by this domain's xenwatch thread.
  void register_remote_watch(const std::string& path, sim::MachineCallback on_change);
  // Runs `action` (on its machine's behalf, in the writer's step) the first
  // time the state node at `path` reads `state` (StateTrigger).
  void when_state(const std::string& path, XenbusState state, sim::MachineCallback action);
  void clear_remote_watches() { state_.write().remote_watches.clear(); }
  size_t active_watches() const;
  std::vector<std::string> active_watch_owners() const;

  // Direct (non-simulated) access for set-up and assertions.
  std::optional<std::string> peek(const std::string& path) const;
  void poke(const std::string& path, const std::string& value);

  // The xenwatch kthread; spawned by the world.
  sim::Task<> xenwatch_thread();

 private:
  struct Watch {
    std::string path;
    std::string owner;
    WatchCallback callback;
    bool active;
  };
  // The store, its watches and their event queue: what both domains reach.
  struct State {
    // Looked up by exact path on every read and write; the rare walks
    // (directory, remove) visit every node and never depend on hash order.
    std::unordered_map<std::string, std::string> nodes;
    std::vector<Watch> watches;
    std::deque<std::pair<WatchId, std::string>> pending;
    std::vector<std::pair<std::string, sim::MachineCallback>> remote_watches;
  };
  void fire(State& state, const std::string& path);

  sim::Scheduler& scheduler_;
  sim::Shared<State> state_;
  sim::WaitQueue xenwatch_wait_;
  sim::Mutex xenwatch_mutex_;
  sim::TaskId xenwatch_task_ = sim::kNoTask;
};

// struct xenbus_device (the frontend's view of one PV device).
struct XenbusDevice {
  uint32_t id = 0;                                // device index; devm owner id
  std::string nodename;                           // device/vdispl/0
  std::string otherend;                           // backend/vdispl/<domid>/0
  int otherend_id = 0;                            // backend domid
  XenbusState state = XenbusState::Initialising;  // cached, as dev->state
  bool bound = false;                             // driver bound (probe .. remove)
  bool failed_fatally = false;                    // xenbus_dev_fatal was called: the driver gave up
};

class Xenbus {
 public:
  Xenbus(sim::Scheduler& scheduler, XenStore& store) : scheduler_(scheduler), store_(store) {}
  // xenbus_switch_state: no-op if unchanged; otherwise checks the transition
  // and writes <nodename>/state.
  sim::Task<int> xenbus_switch_state(XenbusDevice& dev, XenbusState state, const char* site);
  // xenbus_dev_error: a dev_err line and the error node "<errno> <msg>".
  sim::Task<> xenbus_dev_error(XenbusDevice& dev, int err, const std::string& msg);
  // xenbus_dev_fatal: error node "<errno> <msg>", then Closing.
  sim::Task<> xenbus_dev_fatal(XenbusDevice& dev, int err, const std::string& msg);
  // xenbus_read_driver_state: a missing node reads as Unknown.
  sim::Task<XenbusState> xenbus_read_driver_state(const std::string& path);
  XenStore& store() { return store_; }

 private:
  sim::Scheduler& scheduler_;
  XenStore& store_;
};

}  // namespace xfsim::fakes
