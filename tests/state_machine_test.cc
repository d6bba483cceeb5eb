// RapidCheck state-machine properties (rapidcheck/state.h). Commands are
// userspace and backend actions; a command sequence becomes a scenario that
// runs under explored schedules; the property is "no violation". RapidCheck
// shrinks a failing sequence to a shortest one. The correct driver passes;
// every bug-zoo variant is found and shrunk.
#include <algorithm>
#include <iostream>
#include <sstream>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include "driver_core/variant.h"
#include "harness/explore.h"
#include "harness/scenario.h"

namespace xfsim::harness {
namespace {

using nlohmann::json;

// What userspace may rightfully wait for depends on what happened before:
// a 'change' uevent only after a flip the backend failed, the display coming
// back only after a disconnect whose backend reconnects.
struct Model {
  int buffers = 0;
  int fbs = 0;
  bool open = true;
  bool flips_fail = false;    // the backend answers PG_FLIP with an error
  bool pipe_enabled = false;  // a commit with the connector's mode went through
  int flips = 0;              // flips on an enabled pipe
  int change_waits = 0;       // one 'change' uevent is owed per failed flip
  int backend_actions = 0;
  bool only_a_reconnecting_disconnect = false;
  bool removed = false;
  bool waits_for_display = false;  // then nothing may stop the display coming back
};

// The system under test is built up as a scenario, then run.
struct Builder {
  json compositor = json::array({{{"op", "wait_device"}}, {{"op", "open"}}});
  json helper = json::array({{{"op", "wait_open"}}});
  json backend_script = json::array();
  json host = json::array();
  uint64_t clock_ms = 0;

  void user(json step, bool on_helper = false) { (on_helper ? helper : compositor).push_back(std::move(step)); }
  json scenario(bool be_alloc, int flip_status, uint64_t flip_event_latency_ms) const {
    json s;
    s["format"] = "xfsim-scenario/0";
    s["name"] = "state-machine";
    s["config"] = {{"connectors", json::array({{{"width", 64}, {"height", 64}}})}, {"be_alloc", be_alloc}};
    s["backend"] = {{"script", backend_script}, {"flip_event_latency_ms", flip_event_latency_ms}};
    if (flip_status != 0) s["backend"]["answers"] = {{"PG_FLIP", {{"status", flip_status}}}};
    s["host"] = host;
    s["actors"] = json::array({{{"name", "compositor"}, {"on_sigbus", "recover"}, {"steps", compositor}},
                               {{"name", "helper"}, {"thread_of", "compositor"}, {"steps", helper}}});
    s["expect"] = {{"verdict", "clean"}};
    return s;
  }
};

using Cmd = rc::state::Command<Model, Builder>;
std::string buffer(int i) { return "b" + std::to_string(i); }
std::string fb(int i) { return "f" + std::to_string(i); }

struct CreateDumb : Cmd {
  bool on_helper = *rc::gen::arbitrary<bool>();
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open); }
  void apply(Model& m) const override { ++m.buffers; }
  void run(const Model& m, Builder& b) const override {
    b.user({{"op", "create_dumb"}, {"width", 64}, {"height", 64}, {"bpp", 32}, {"as", buffer(m.buffers)}}, on_helper);
  }
  void show(std::ostream& os) const override { os << "CreateDumb(" << (on_helper ? "helper" : "compositor") << ")"; }
};

struct GuessClose : Cmd {
  int handle = *rc::gen::inRange(1, 4);
  void run(const Model&, Builder& b) const override { b.user({{"op", "gem_close"}, {"handle", handle}}, true); }
  void show(std::ostream& os) const override { os << "GuessClose(" << handle << ")"; }
};

struct BufferCommand : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open && m.buffers > 0); }
};

struct MapTouch : BufferCommand {
  int index = *rc::gen::inRange(0, 4);
  int page = *rc::gen::inRange(0, 4);
  void run(const Model& m, Builder& b) const override {
    b.user({{"op", "mmap"}, {"buffer", buffer(index % m.buffers)}});
    b.user({{"op", "touch"}, {"buffer", buffer(index % m.buffers)}, {"page", page}});
  }
  void show(std::ostream& os) const override { os << "MapTouch(" << index << ", page " << page << ")"; }
};

struct Touch : BufferCommand {
  int index = *rc::gen::inRange(0, 4);
  int page = *rc::gen::inRange(0, 4);
  void run(const Model& m, Builder& b) const override {
    b.user({{"op", "touch"}, {"buffer", buffer(index % m.buffers)}, {"page", page}});
  }
  void show(std::ostream& os) const override { os << "Touch(" << index << ", page " << page << ")"; }
};

struct CloseBuffer : BufferCommand {
  int index = *rc::gen::inRange(0, 4);
  void run(const Model& m, Builder& b) const override {
    b.user({{"op", "gem_close"}, {"buffer", buffer(index % m.buffers)}});
  }
  void show(std::ostream& os) const override { os << "CloseBuffer(" << index << ")"; }
};

struct AddFb : BufferCommand {
  int index = *rc::gen::inRange(0, 4);
  void apply(Model& m) const override { ++m.fbs; }
  void run(const Model& m, Builder& b) const override {
    b.user({{"op", "add_fb"}, {"buffer", buffer(index % m.buffers)}, {"as", fb(m.fbs)}});
  }
  void show(std::ostream& os) const override { os << "AddFb(" << index << ")"; }
};

// Composites: the usual way a compositor uses a buffer, one command each, so
// short random sequences reach flips and faults.
struct ShowNewBuffer : Cmd {
  bool connector_mode = *rc::gen::weightedOneOf<bool>({{4, rc::gen::just(true)}, {1, rc::gen::just(false)}});
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open); }
  void apply(Model& m) const override {
    ++m.buffers;
    ++m.fbs;
    m.pipe_enabled |= connector_mode;
  }
  void run(const Model& m, Builder& b) const override {
    b.user({{"op", "create_dumb"}, {"width", 64}, {"height", 64}, {"bpp", 32}, {"as", buffer(m.buffers)}});
    b.user({{"op", "add_fb"}, {"buffer", buffer(m.buffers)}, {"as", fb(m.fbs)}});
    json commit = {{"op", "commit"}, {"fb", fb(m.fbs)}};
    if (!connector_mode) commit["mode"] = {{"width", 100}, {"height", 100}};
    b.user(commit);
    b.user({{"op", "wait_flip"}});
  }
  void show(std::ostream& os) const override { os << "ShowNewBuffer(" << (connector_mode ? "" : "100x100") << ")"; }
};

struct MapNewBuffer : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open); }
  void apply(Model& m) const override { ++m.buffers; }
  void run(const Model& m, Builder& b) const override {
    b.user({{"op", "create_dumb"}, {"width", 64}, {"height", 64}, {"bpp", 32}, {"as", buffer(m.buffers)}});
    b.user({{"op", "mmap"}, {"buffer", buffer(m.buffers)}});
    b.user({{"op", "touch"}, {"buffer", buffer(m.buffers)}, {"page", 0}});
  }
  void show(std::ostream& os) const override { os << "MapNewBuffer"; }
};

struct FbCommand : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open && m.fbs > 0); }
};

struct Commit : FbCommand {
  int index = *rc::gen::inRange(0, 4);
  bool connector_mode = *rc::gen::weightedOneOf<bool>({{4, rc::gen::just(true)}, {1, rc::gen::just(false)}});
  void apply(Model& m) const override { m.pipe_enabled |= connector_mode; }
  void run(const Model& m, Builder& b) const override {
    json step = {{"op", "commit"}, {"fb", fb(index % m.fbs)}};
    if (!connector_mode) step["mode"] = {{"width", 100}, {"height", 100}};
    b.user(step);
    b.user({{"op", "wait_flip"}});
  }
  void show(std::ostream& os) const override { os << "Commit(" << index << (connector_mode ? "" : ", 100x100") << ")"; }
};

struct Flip : FbCommand {
  int index = *rc::gen::inRange(0, 4);
  void apply(Model& m) const override { m.flips += m.pipe_enabled ? 1 : 0; }
  void run(const Model& m, Builder& b) const override {
    b.user({{"op", "flip"}, {"fb", fb(index % m.fbs)}});
    b.user({{"op", "wait_flip"}});
  }
  void show(std::ostream& os) const override { os << "Flip(" << index << ")"; }
};

struct WaitBackendFailureUevent : Cmd {
  void checkPreconditions(const Model& m) const override {
    // Owed only when the failure is the flip's own: a hung, dead or gone
    // backend may have made the buffer or the commit fail before it.
    RC_PRE(m.flips_fail && m.flips > m.change_waits && m.open && m.backend_actions == 0 && !m.removed);
  }
  void apply(Model& m) const override { ++m.change_waits; }
  void run(const Model&, Builder& b) const override { b.user({{"op", "wait_uevent"}, {"action", "change"}}); }
  void show(std::ostream& os) const override { os << "WaitUevent(change)"; }
};

struct Sleep : Cmd {
  uint64_t delta_ms = *rc::gen::inRange(0, 20) * 10;
  void run(const Model&, Builder& b) const override {
    b.clock_ms += delta_ms;
    b.user({{"op", "sleep"}, {"until_ms", b.clock_ms}});
  }
  void show(std::ostream& os) const override { os << "Sleep(+" << delta_ms << " ms)"; }
};

struct CloseFile : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open); }
  void apply(Model& m) const override {
    m.open = false;
    m.pipe_enabled = false;  // release disables what the file had on screen
  }
  void run(const Model&, Builder& b) const override { b.user({{"op", "close"}}); }
  void show(std::ostream& os) const override { os << "CloseFile"; }
};

struct WaitDisplayBack : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.only_a_reconnecting_disconnect && !m.removed); }
  void apply(Model& m) const override { m.waits_for_display = true; }
  void run(const Model&, Builder& b) const override { b.user({{"op", "wait_device"}, {"bound_ms", 5000}}); }
  void show(std::ostream& os) const override { os << "WaitDisplayBack"; }
};

struct BackendAction : Cmd {
  std::string action = *rc::gen::element<std::string>("disconnect", "die", "restart", "hang", "unknown_fb_event");
  uint64_t at_ms = *rc::gen::inRange(0, 30) * 10;
  bool reconnect = *rc::gen::arbitrary<bool>();
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.waits_for_display && m.change_waits == 0); }
  void apply(Model& m) const override {
    m.only_a_reconnecting_disconnect = m.backend_actions == 0 && action == "disconnect" && reconnect;
    ++m.backend_actions;
  }
  void run(const Model&, Builder& b) const override {
    b.backend_script.push_back({{"at_ms", at_ms}, {"action", action}, {"reconnect", reconnect}});
  }
  void show(std::ostream& os) const override { os << "Backend(" << action << " at " << at_ms << " ms)"; }
};

struct ModuleRemove : Cmd {
  uint64_t at_ms = *rc::gen::inRange(0, 30) * 10;
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.waits_for_display && m.change_waits == 0); }
  void apply(Model& m) const override { m.removed = true; }
  void run(const Model&, Builder& b) const override { b.host.push_back({{"at_ms", at_ms}, {"action", "remove"}}); }
  void show(std::ostream& os) const override { os << "Remove(at " << at_ms << " ms)"; }
};

auto command_generator() {
  return rc::state::gen::execOneOfWithArgs<ShowNewBuffer, MapNewBuffer, CreateDumb, GuessClose, MapTouch, Touch,
                                           CloseBuffer, AddFb, Commit, Flip, WaitBackendFailureUevent, Sleep, CloseFile,
                                           WaitDisplayBack, BackendAction, ModuleRemove>();
}

struct Outcome {
  bool passed = true;
  size_t shortest_failing = 0;  // commands in the shrunk counterexample
  std::string verdict;
};

// RapidCheck reads its configuration once, on first use.
const bool kConfigured = [] {
  setenv("RC_PARAMS", "max_success=1500 max_size=30 seed=20261125", /*overwrite=*/0);
  return true;
}();

// "No violation" over a few random schedules of the built scenario.
Outcome check_variant(const std::string& variant_name) {
  const driver::Variant& variant = *driver::find_variant(variant_name);
  Outcome outcome;
  size_t shortest = SIZE_MAX;
  std::string verdict;
  const bool passed = rc::check(variant_name + " has no violation", [&] {
    const bool be_alloc = *rc::gen::arbitrary<bool>();
    const int flip_status = *rc::gen::element(0, 0, -5);
    const uint64_t flip_event_latency = *rc::gen::element<uint64_t>(16, 16, 600000);
    Model initial;
    initial.flips_fail = flip_status != 0;
    const auto commands = *rc::state::gen::commands(initial, command_generator());
    Builder builder;
    rc::state::runAll(commands, initial, builder);
    const Scenario scenario =
        parse_scenario(builder.scenario(be_alloc, flip_status, flip_event_latency), "state-machine");
    CampaignOptions options;
    options.strategy = "random";
    options.seed = 7;
    options.schedules = 10;
    const CampaignResult campaign = explore(scenario, variant, options);
    if (const Finding* finding = campaign.first()) {
      if (commands.size() <= shortest) {
        shortest = commands.size();
        verdict = finding->result.verdict();
      }
      const sim::Violation* v = finding->violation();
      RC_FAIL(finding->signature + (v ? ": " + v->detail : std::string()));
    }
  });
  outcome.passed = passed;
  outcome.shortest_failing = shortest == SIZE_MAX ? 0 : shortest;
  outcome.verdict = verdict;
  return outcome;
}

TEST(StateMachine, CorrectDriverHasNoViolationForAnyCommandSequence) {
  ASSERT_TRUE(kConfigured);
  EXPECT_TRUE(check_variant("correct").passed);
}

TEST(StateMachine, EveryBugZooVariantIsFoundAndShrunk) {
  for (const auto& variant : driver::all_variants()) {
    if (variant.name == "correct" || variant.name == "upstream") continue;
    const Outcome outcome = check_variant(variant.name);
    EXPECT_FALSE(outcome.passed) << variant.name << " was not found";
    std::cout << variant.name << ": shrunk to " << outcome.shortest_failing << " command(s), " << outcome.verdict
              << "\n";
    EXPECT_LE(outcome.shortest_failing, 10u) << variant.name;
  }
}

}  // namespace
}  // namespace xfsim::harness
