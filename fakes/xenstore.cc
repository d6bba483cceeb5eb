#include "fakes/xenstore.h"

#include <algorithm>
#include <memory>
#include <string_view>

#include <fmt/format.h>

namespace xfsim::fakes {

// A switch, as every enum's name table (sim/scheduler.cc says why).
std::optional<XenbusState> xenbus_state_named(const std::string& name) {
  for (int value = static_cast<int>(XenbusState::Unknown); value <= static_cast<int>(XenbusState::Reconfigured);
       ++value) {
    if (name == xenbus_strstate(static_cast<XenbusState>(value))) return static_cast<XenbusState>(value);
  }
  return std::nullopt;
}

const char* xenbus_strstate(XenbusState state) {
  switch (state) {
    case XenbusState::Unknown:
      return "Unknown";
    case XenbusState::Initialising:
      return "Initialising";
    case XenbusState::InitWait:
      return "InitWait";
    case XenbusState::Initialised:
      return "Initialised";
    case XenbusState::Connected:
      return "Connected";
    case XenbusState::Closing:
      return "Closing";
    case XenbusState::Closed:
      return "Closed";
    case XenbusState::Reconfiguring:
      return "Reconfiguring";
    case XenbusState::Reconfigured:
      return "Reconfigured";
  }
  return "Invalid";
}

// Frontend transitions of the xenbus protocol (xenbus.h's state comments and
// the frontends in drivers/xen/). Closing only goes on to Closed: a frontend
// that is closing must finish closing before it initialises again.
bool xenbus_transition_allowed(XenbusState from, XenbusState to) {
  using S = XenbusState;
  if (to == S::Closing || to == S::Closed) return from != S::Closed || to == S::Closed;
  switch (from) {
    case S::Unknown:
      return to == S::Initialising;
    case S::Initialising:
      return to == S::InitWait || to == S::Initialised || to == S::Connected;
    case S::InitWait:
      return to == S::Initialised || to == S::Connected;
    case S::Initialised:
      return to == S::Connected || to == S::Initialising;
    case S::Connected:
      return to == S::Reconfiguring || to == S::Initialising;
    case S::Reconfiguring:
      return to == S::Reconfigured || to == S::Initialising;
    case S::Reconfigured:
      return to == S::Connected;
    case S::Closing:
      // Not in the protocol's diagrams, but nothing forbids it either
      // (xenbus.h, displif.h), the kernel checks nothing and v5.10 does it
      // (xen_drv_remove: Closing, then fini's Initialising, then Closed). A
      // protocol note in the log (xenbus_switch_state), not a violation.
      return to == S::Initialising;
    case S::Closed:
      return to == S::Initialising;
  }
  return false;
}

namespace {
// True when `path` is `node` or lies under it ("a/b" is under "a", "ab" is not).
bool at_or_under(std::string_view path, std::string_view node) {
  return path.size() >= node.size() && path.compare(0, node.size(), node) == 0 &&
         (path.size() == node.size() || path[node.size()] == '/');
}
}  // namespace

XenStore::XenStore(sim::Scheduler& scheduler)
    : scheduler_(scheduler),
      state_(scheduler),
      xenwatch_wait_(scheduler, "xenwatch"),
      xenwatch_mutex_(scheduler, "xenwatch_mutex") {}

sim::Task<std::optional<std::string>> XenStore::read(const std::string& path) {
  XFSIM_KFUNC_AS(scheduler_, "xenbus_read");
  co_await scheduler_.point("xenbus_read");
  const auto& nodes = state_.read().nodes;
  auto it = nodes.find(path);
  if (it == nodes.end()) co_return std::nullopt;
  co_return it->second;
}

sim::Task<> XenStore::write(const std::string& path, const std::string& value) {
  XFSIM_KFUNC_AS(scheduler_, "xenbus_write");
  co_await scheduler_.point("xenbus_write");
  State& state = state_.write();
  state.nodes[path] = value;
  fire(state, path);
}

sim::Task<> XenStore::remove(const std::string& path) {
  XFSIM_KFUNC_AS(scheduler_, "xenbus_rm");
  co_await scheduler_.point("xenbus_rm");
  State& state = state_.write();
  // The node and its subtree ("a/c" goes with "a"; "a-b" stays).
  std::erase_if(state.nodes, [&path](const auto& node) { return at_or_under(node.first, path); });
  fire(state, path);
}

sim::Task<std::vector<std::string>> XenStore::directory(const std::string& path) {
  XFSIM_KFUNC_AS(scheduler_, "xenbus_directory");
  co_await scheduler_.point("xenbus_directory");
  std::vector<std::string> children;
  for (const auto& [node, value] : state_.read().nodes) {
    if (node.size() <= path.size() + 1 || !at_or_under(node, path)) continue;
    const std::string_view rest = std::string_view(node).substr(path.size() + 1);
    children.emplace_back(rest.substr(0, rest.find('/')));
  }
  // Sorted and unique, whatever order the table keeps.
  std::sort(children.begin(), children.end());
  children.erase(std::unique(children.begin(), children.end()), children.end());
  co_return children;
}

XenStore::WatchId XenStore::register_watch(const std::string& path, std::string owner, WatchCallback callback) {
  State& state = state_.write();
  const auto id = static_cast<WatchId>(state.watches.size());
  state.watches.push_back(Watch{path, std::move(owner), std::move(callback), true});
  state.pending.emplace_back(id, path);  // xenstored fires a new watch once
  xenwatch_wait_.wake_one();
  return id;
}

sim::Task<> XenStore::unregister_watch(WatchId id) {
  XFSIM_KFUNC_AS(scheduler_, "unregister_xenbus_watch");
  State& state = state_.write();
  state.watches[id].active = false;
  // Events already queued for it are dropped, as unregister_xenbus_watch does.
  std::erase_if(state.pending, [id](const auto& event) { return event.first == id; });
  if (scheduler_.current() != xenwatch_task_) {
    co_await xenwatch_mutex_.lock("unregister_xenbus_watch");
    xenwatch_mutex_.unlock();
  }
}

size_t XenStore::active_watches() const {
  size_t count = 0;
  for (const auto& watch : state_.read().watches) count += watch.active ? 1 : 0;
  return count;
}

std::vector<std::string> XenStore::active_watch_owners() const {
  std::vector<std::string> owners;
  for (const auto& watch : state_.read().watches) {
    if (watch.active) owners.push_back(watch.owner + " on " + watch.path);
  }
  return owners;
}

void XenStore::when_state(const std::string& path, XenbusState state, sim::MachineCallback action) {
  auto fired = std::make_shared<bool>(false);
  register_remote_watch(path, sim::MachineCallback(action, [this, path, state, fired, action] {
                          if (*fired) return;
                          const std::optional<std::string> value = peek(path);
                          if (!value || xenbus_state_from_string(*value) != state) return;
                          *fired = true;
                          action();
                        }));
}

void XenStore::register_remote_watch(const std::string& path, sim::MachineCallback on_change) {
  state_.write().remote_watches.emplace_back(path, std::move(on_change));
}

void XenStore::fire(State& state, const std::string& path) {
  for (const auto& [watched, on_change] : state.remote_watches) {
    if (at_or_under(path, watched)) on_change();
  }
  for (WatchId id = 0; id < state.watches.size(); ++id) {
    const auto& watch = state.watches[id];
    if (!watch.active) continue;
    // xenstored fires a watch for changes at or under its node, and for the
    // removal of a node above it.
    if (at_or_under(path, watch.path) || at_or_under(watch.path, path)) state.pending.emplace_back(id, path);
  }
  xenwatch_wait_.wake_one();
}

std::optional<std::string> XenStore::peek(const std::string& path) const {
  const auto& nodes = state_.read().nodes;
  auto it = nodes.find(path);
  if (it == nodes.end()) return std::nullopt;
  return it->second;
}

void XenStore::poke(const std::string& path, const std::string& value) { state_.write().nodes[path] = value; }

// One kthread runs every watch callback, in the order the events happened:
// a slow callback (displback_changed waiting on the backend) delays all
// later xenbus events, as on a real system.
sim::Task<> XenStore::xenwatch_thread() {
  XFSIM_KFUNC(scheduler_);
  xenwatch_task_ = scheduler_.current();
  while (true) {
    while (state_.read().pending.empty()) co_await xenwatch_wait_.wait("xenwatch_thread");
    co_await xenwatch_mutex_.lock("xenwatch_thread");
    WatchCallback callback;  // a copy: the watch may be unregistered inside
    std::string path;
    if (State& state = state_.write(); !state.pending.empty()) {  // takes the next event
      const WatchId id = state.pending.front().first;
      path = std::move(state.pending.front().second);
      state.pending.pop_front();
      if (state.watches[id].active) callback = state.watches[id].callback;
    }
    if (callback) co_await callback(path);
    xenwatch_mutex_.unlock();
  }
}

sim::Task<int> Xenbus::xenbus_switch_state(XenbusDevice& dev, XenbusState state, const char* site) {
  XFSIM_KFUNC(scheduler_);
  if (dev.state == state) co_return 0;
  if (!xenbus_transition_allowed(dev.state, state)) {
    scheduler_.report(kIllegalXenbusTransition, site,
                      fmt::format("{}: frontend {} -> {} is not a xenbus transition", site, xenbus_strstate(dev.state),
                                  xenbus_strstate(state)),
                      fmt::format("{} -> {} by {}", xenbus_strstate(dev.state), xenbus_strstate(state), site));
  }
  if (dev.state == XenbusState::Closing && state == XenbusState::Initialising) {
    scheduler_.logf("xenbus: {} protocol note: frontend Closing -> Initialising by {} before Closed", dev.nodename,
                    site);
  }
  scheduler_.logf("xenbus: {} frontend {} -> {}", dev.nodename, xenbus_strstate(dev.state), xenbus_strstate(state));
  dev.state = state;
  co_await store_.write(dev.nodename + "/state", std::to_string(static_cast<int>(state)));
  co_return 0;
}

sim::Task<> Xenbus::xenbus_dev_error(XenbusDevice& dev, int err, const std::string& msg) {
  XFSIM_KFUNC(scheduler_);
  scheduler_.logf("vdispl vdispl-{}: {} {}", dev.id, -err, msg);
  co_await store_.write("error/" + dev.nodename + "/error", fmt::format("{} {}", -err, msg));
}

sim::Task<> Xenbus::xenbus_dev_fatal(XenbusDevice& dev, int err, const std::string& msg) {
  XFSIM_KFUNC(scheduler_);
  co_await xenbus_dev_error(dev, err, msg);
  dev.failed_fatally = true;
  co_await xenbus_switch_state(dev, XenbusState::Closing, "xenbus_dev_fatal");
}

sim::Task<XenbusState> Xenbus::xenbus_read_driver_state(const std::string& path) {
  XFSIM_KFUNC(scheduler_);
  auto value = co_await store_.read(path);
  co_return value ? xenbus_state_from_string(*value) : XenbusState::Unknown;
}

XenbusState xenbus_state_from_string(const std::string& text) {
  // One decimal digit from 0 (Unknown) to 8 (Reconfigured); anything else,
  // an empty node, garbage or a long run of digits, reads as Unknown (as the
  // kernel's xenbus_read_driver_state does when its scanf fails).
  if (text.size() != 1 || text[0] < '0' || text[0] > '8') return XenbusState::Unknown;
  return static_cast<XenbusState>(text[0] - '0');
}

}  // namespace xfsim::fakes
