#include "harness/generate.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/fault_sites.h"
#include "harness/scenario.h"

namespace xfsim::harness {

namespace {

using nlohmann::json;

// ---- drawing ----

struct Draw {
  sim::Prng& prng;
  uint64_t below(uint64_t bound) { return bound == 0 ? 0 : prng.below(bound); }
  bool chance(uint32_t percent) { return prng.below(100) < percent; }
  uint64_t range(uint64_t low, uint64_t high) { return low + below(high - low + 1); }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }
  // A time: mostly a round figure before the horizon, sometimes 0 (a tie).
  uint64_t instant(uint64_t horizon) {
    if (chance(10)) return 0;
    return range(0, horizon / 10) * 10;
  }
};

// What a process has named so far (its "as" names, by kind), so a step
// mostly refers to something that exists; sometimes to a name that does not
// (the call fails with -ENOENT or -EBADF, also a path of the kernel).
struct Names {
  std::vector<std::string> buffers, fbs, dmabufs, mappings, vmaps;
  uint32_t next = 0;
  std::string fresh(const char* prefix) { return fmt::format("{}{}", prefix, next++); }
};

std::string refer(Draw& d, const std::vector<std::string>& names, const char* unknown) {
  if (names.empty() || d.chance(5)) return unknown;
  return d.pick(names);
}

// The names a process's steps define, read back from its actors' steps
// (main thread and threads).
void collect_names(const json& step, Names& names) {
  const std::string op = step.value("op", "");
  const std::string as = step.value("as", "");
  if (as.empty()) return;
  if (op == "create_dumb" || op == "prime_import") names.buffers.push_back(as);
  if (op == "add_fb") names.fbs.push_back(as);
  if (op == "prime_export" || op == "dma_heap_alloc" || op == "dmabuf_recv") names.dmabufs.push_back(as);
  if (op == "dmabuf_mmap") names.mappings.push_back(as);
  if (op == "dmabuf_vmap") names.vmaps.push_back(as);
  names.next++;
}

struct Config {
  uint32_t connectors = 1;
  std::vector<std::string> processes;  // actors that are not threads
};

json size_fields(Draw& d, json step) {
  static const std::vector<uint32_t> kSides{64, 64, 64, 32, 128, 1, 100, 8193};
  step["width"] = d.pick(kSides);
  step["height"] = d.chance(80) ? step["width"].get<uint32_t>() : d.pick(kSides);
  if (step["width"] == 0u) step["width"] = 1;
  if (step["height"] == 0u) step["height"] = 1;
  static const std::vector<uint32_t> kBpp{32, 32, 32, 16, 24, 8};
  step["bpp"] = d.pick(kBpp);
  return step;
}

// One step a process (or its thread) may take, given what it has named.
json random_step(Draw& d, Names& names, const Config& config, const std::string& self) {
  static const std::vector<std::string> kOps{
      "create_dumb",    "create_dumb", "mmap",        "touch",       "touch",       "munmap",       "add_fb",
      "add_fb",         "rm_fb",       "commit",      "commit",      "flip",        "flip",         "disable",
      "wait_flip",      "wait_uevent", "gem_close",   "sleep",       "sleep",       "prime_export", "prime_import",
      "dmabuf_close",   "dmabuf_pass", "dmabuf_recv", "dmabuf_mmap", "dmabuf_vmap", "dmabuf_read",  "dmabuf_vunmap",
      "dma_heap_alloc", "close",       "open",        "wait_device"};
  const std::string op = d.pick(kOps);
  json step{{"op", op}};
  const auto pipe = [&] {
    if (config.connectors > 1 || d.chance(20)) step["pipe"] = d.below(config.connectors);
  };
  if (op == "create_dumb") {
    step = size_fields(d, step);
    step["as"] = names.fresh("b");
    names.buffers.push_back(step["as"]);
  } else if (op == "mmap" || op == "touch" || op == "munmap") {
    std::vector<std::string> mappable = names.buffers;
    mappable.insert(mappable.end(), names.mappings.begin(), names.mappings.end());
    step["buffer"] = refer(d, mappable, "nobuf");
    if (op == "touch" && d.chance(40)) step["page"] = d.below(20);
  } else if (op == "add_fb") {
    step["buffer"] = refer(d, names.buffers, "nobuf");
    step["as"] = names.fresh("f");
    names.fbs.push_back(step["as"]);
  } else if (op == "rm_fb") {
    step["fb"] = refer(d, names.fbs, "nofb");
  } else if (op == "commit" || op == "flip") {
    if (d.chance(8))
      step["fb_id"] = d.range(1, 4);
    else
      step["fb"] = refer(d, names.fbs, "nofb");
    pipe();
    if (op == "commit" && d.chance(12))
      step["mode"] = {{"width", d.pick(std::vector<uint32_t>{32, 100, 64, 9000})},
                      {"height", d.pick(std::vector<uint32_t>{32, 100, 64})}};
  } else if (op == "disable") {
    pipe();
  } else if (op == "wait_flip") {
    if (d.chance(30)) step["bound_ms"] = d.range(1, 40) * 100;
  } else if (op == "wait_uevent") {
    step["action"] = d.pick(std::vector<std::string>{"add", "remove", "change"});
    step["bound_ms"] = d.range(1, 40) * 100;
  } else if (op == "gem_close") {
    if (d.chance(25))
      step["handle"] = d.range(1, 3);
    else
      step["buffer"] = refer(d, names.buffers, "nobuf");
  } else if (op == "sleep") {
    if (d.chance(25))
      step["until_ms"] = d.instant(600);
    else
      step["ms"] = d.range(0, 20) * 10;
  } else if (op == "prime_export") {
    step["buffer"] = refer(d, names.buffers, "nobuf");
    step["as"] = names.fresh("d");
    names.dmabufs.push_back(step["as"]);
  } else if (op == "prime_import") {
    step["dmabuf"] = refer(d, names.dmabufs, "nodmabuf");
    step["as"] = names.fresh("b");
    names.buffers.push_back(step["as"]);
  } else if (op == "dmabuf_close") {
    step["dmabuf"] = refer(d, names.dmabufs, "nodmabuf");
  } else if (op == "dmabuf_pass") {
    std::vector<std::string> others;
    for (const auto& p : config.processes)
      if (p != self) others.push_back(p);
    step["dmabuf"] = refer(d, names.dmabufs, "nodmabuf");
    step["to"] = others.empty() || d.chance(10) ? self : d.pick(others);
  } else if (op == "dmabuf_recv") {
    step["as"] = names.fresh("d");
    names.dmabufs.push_back(step["as"]);
    step["bound_ms"] = d.range(1, 30) * 100;
  } else if (op == "dmabuf_mmap") {
    step["dmabuf"] = refer(d, names.dmabufs, "nodmabuf");
    step["as"] = names.fresh("m");
    names.mappings.push_back(step["as"]);
  } else if (op == "dmabuf_vmap") {
    step["dmabuf"] = refer(d, names.dmabufs, "nodmabuf");
    step["as"] = names.fresh("v");
    names.vmaps.push_back(step["as"]);
  } else if (op == "dmabuf_read" || op == "dmabuf_vunmap") {
    step["buffer"] = refer(d, names.vmaps, "novmap");
    if (op == "dmabuf_read" && d.chance(30)) step["page"] = d.below(20);
  } else if (op == "dma_heap_alloc") {
    step = size_fields(d, step);
    step["as"] = names.fresh("d");
    names.dmabufs.push_back(step["as"]);
  } else if (op == "wait_device") {
    step["bound_ms"] = d.range(1, 100) * 100;
  }
  return step;
}

// A process's main thread: mostly the usual start (wait for the card, open
// it), some calls, mostly a close at the end.
json random_actor(Draw& d, const std::string& name, const Config& config, const GeneratorLimits& limits) {
  json actor{{"name", name}};
  if (d.chance(50)) actor["on_sigbus"] = d.chance(70) ? "recover" : "die";
  json steps = json::array();
  Names names;
  if (d.chance(92)) steps.push_back({{"op", "wait_device"}});
  if (d.chance(95)) steps.push_back({{"op", "open"}});
  const uint64_t n = d.range(1, limits.max_steps);
  for (uint64_t i = 0; i < n; ++i) steps.push_back(random_step(d, names, config, name));
  if (d.chance(75)) steps.push_back({{"op", "close"}});
  actor["steps"] = steps;
  return actor;
}

json random_thread(Draw& d, const std::string& name, const std::string& process, const json& process_steps,
                   const Config& config, const GeneratorLimits& limits) {
  json actor{{"name", name}, {"thread_of", process}};
  Names names;
  for (const auto& step : process_steps) collect_names(step, names);
  json steps = json::array({{{"op", "wait_open"}}});
  const uint64_t n = d.range(1, std::max<uint32_t>(1, limits.max_steps / 2));
  for (uint64_t i = 0; i < n; ++i) steps.push_back(random_step(d, names, config, process));
  actor["steps"] = steps;
  return actor;
}

const std::vector<std::string>& xenbus_state_names() {
  static const std::vector<std::string> names{"Initialising", "InitWait", "Initialised",
                                              "Connected",    "Closing",  "Closed"};
  return names;
}

json random_when(Draw& d) { return json{{d.chance(50) ? "frontend" : "backend", d.pick(xenbus_state_names())}}; }

json random_backend_action(Draw& d, const GeneratorLimits& limits) {
  static const std::vector<std::string> kActions{"disconnect", "disconnect", "die",
                                                 "restart",    "hang",       "unknown_fb_event"};
  json action{{"at_ms", d.instant(limits.horizon_ms)}, {"action", d.pick(kActions)}};
  if (action["action"] == "disconnect") action["reconnect"] = d.chance(50);
  if (d.chance(20)) action["when"] = random_when(d);
  return action;
}

json random_host_action(Draw& d, const GeneratorLimits& limits) {
  json action{{"at_ms", d.instant(limits.horizon_ms)}, {"action", "remove"}};
  if (d.chance(25)) action["when"] = random_when(d);
  return action;
}

json random_fault(Draw& d) {
  const auto& sites = fault_sites();
  const sim::FaultSite* site = sites[d.below(sites.size())];
  json fault{{"site", site->name}};
  if (d.chance(40)) fault["nth"] = d.range(1, 3);
  if (d.chance(15)) fault["error"] = -static_cast<int64_t>(d.pick(std::vector<uint32_t>{5, 12, 22, 19}));
  return fault;
}

json random_answers(Draw& d) {
  static const std::vector<std::string> kOps{"DBUF_CREATE", "DBUF_DESTROY", "FB_ATTACH",
                                             "FB_DETACH",   "SET_CONFIG",   "PG_FLIP"};
  json answers = json::object();
  for (const auto& op : kOps) {
    if (!d.chance(12)) continue;
    json answer = json::object();
    if (d.chance(60)) answer["status"] = -static_cast<int64_t>(d.pick(std::vector<uint32_t>{5, 12, 22, 19, 0}));
    if (d.chance(50)) answer["latency_ms"] = d.range(0, 30) * 10;
    if (d.chance(10)) answer["drop"] = true;
    answers[op] = answer;
  }
  return answers;
}

json random_config(Draw& d) {
  json connectors = json::array();
  const uint64_t n = d.chance(70) ? 1 : d.range(2, 4);
  for (uint64_t i = 0; i < n; ++i) {
    if (d.chance(80))
      connectors.push_back({{"width", 64}, {"height", 64}});
    else
      connectors.push_back({{"width", d.range(1, 4095)}, {"height", d.range(1, 2047)}});
  }
  return json{{"connectors", connectors}, {"be_alloc", d.chance(35)}};
}

json random_schedule(Draw& d, const GeneratorLimits& limits) {
  json schedule{{"strategy", "random"}, {"seed", d.below(kMaxSeed)}, {"schedules", 1}, {"steps_max", limits.steps_max}};
  if (d.chance(15)) schedule["fault_bound"] = 1;
  if (d.chance(20)) schedule["any_instant"] = true;
  return schedule;
}

uint32_t connector_count(const json& s) {
  if (s.contains("config") && s["config"].contains("connectors"))
    return static_cast<uint32_t>(s["config"]["connectors"].size());
  return 1;
}

Config config_of(const json& s) {
  Config config;
  config.connectors = connector_count(s);
  for (const auto& actor : s["actors"])
    if (!actor.contains("thread_of")) config.processes.push_back(actor["name"].get<std::string>());
  return config;
}

// The process an actor belongs to (itself, or what it is a thread of).
std::string process_of(const json& actor) {
  return actor.contains("thread_of") ? actor["thread_of"].get<std::string>() : actor["name"].get<std::string>();
}

// Every name the actors of `process` define.
Names names_of_process(const json& s, const std::string& process) {
  Names names;
  for (const auto& actor : s["actors"]) {
    if (process_of(actor) != process) continue;
    for (const auto& step : actor["steps"]) collect_names(step, names);
  }
  names.next += 1000;  // fresh names stay apart from existing ones
  return names;
}

size_t total_steps(const json& s) {
  size_t n = 0;
  for (const auto& actor : s["actors"]) n += actor["steps"].size();
  return n;
}

std::string unused_actor_name(const json& s, const std::string& base) {
  std::set<std::string> used;
  for (const auto& actor : s["actors"]) used.insert(actor["name"].get<std::string>());
  if (!used.count(base)) return base;
  for (uint32_t i = 1;; ++i) {
    const std::string name = fmt::format("{}{}", base, i);
    if (!used.count(name)) return name;
  }
}

// Keeps a document valid after any change: names unique, thread_of pointing
// at an earlier process, dmabuf_pass at a process, pipes below the number of
// connectors, at least one actor, sizes bounded.
void repair(json& s, const GeneratorLimits& limits) {
  if (!s.contains("actors") || !s["actors"].is_array()) s["actors"] = json::array();
  json kept = json::array();
  std::set<std::string> names, processes;
  for (auto actor : s["actors"]) {
    std::string name = actor.value("name", "");
    if (name.empty()) name = "actor";
    while (names.count(name)) name += "x";
    actor["name"] = name;
    if (actor.contains("thread_of")) {
      const std::string owner = actor["thread_of"].get<std::string>();
      // A thread of a thread, or of an actor gone: its process is gone.
      if (!processes.count(owner)) continue;
    }
    names.insert(name);
    if (!actor.contains("thread_of")) processes.insert(name);
    if (!actor.contains("steps")) actor["steps"] = json::array();
    kept.push_back(actor);
  }
  if (kept.empty())
    kept.push_back({{"name", "p0"}, {"steps", json::array({{{"op", "wait_device"}}, {{"op", "open"}}})}});
  const uint32_t connectors = connector_count(s);
  for (auto& actor : kept) {
    json steps = json::array();
    for (auto step : actor["steps"]) {
      if (step.contains("to") && !processes.count(step["to"].get<std::string>())) {
        step["to"] = process_of(actor);
        if (!processes.count(step["to"].get<std::string>())) step["to"] = *processes.begin();
      }
      if (step.contains("pipe") && step["pipe"].get<uint32_t>() >= connectors)
        step["pipe"] = step["pipe"].get<uint32_t>() % connectors;
      steps.push_back(step);
    }
    actor["steps"] = steps;
  }
  s["actors"] = kept;
  // Bound growth: drop steps from the end of the longest actor.
  while (total_steps(s) > limits.max_total_steps) {
    size_t longest = 0;
    for (size_t i = 0; i < s["actors"].size(); ++i)
      if (s["actors"][i]["steps"].size() > s["actors"][longest]["steps"].size()) longest = i;
    s["actors"][longest]["steps"].erase(s["actors"][longest]["steps"].size() - 1);
  }
  if (s.contains("faults")) {
    while (s["faults"].size() > 16) s["faults"].erase(s["faults"].size() - 1);
  }
  if (s.contains("backend") && s["backend"].contains("script") && s["backend"]["script"].size() > 8) {
    auto& script = s["backend"]["script"];
    while (script.size() > 8) script.erase(script.size() - 1);
  }
  if (s.contains("host") && s["host"].size() > 4) {
    while (s["host"].size() > 4) s["host"].erase(s["host"].size() - 1);
  }
  // A name is what schema says; derived documents keep theirs.
  if (!s.contains("name") || !s["name"].is_string() || s["name"].get<std::string>().empty()) s["name"] = "generated";
  s["name"] = file_stem(s["name"].get<std::string>());
}

// ---- mutations ----

json* random_actor_of(Draw& d, json& s) { return &s["actors"][d.below(s["actors"].size())]; }

void mutate_insert_step(Draw& d, json& s) {
  json& actor = *random_actor_of(d, s);
  Names names = names_of_process(s, process_of(actor));
  const Config config = config_of(s);
  json& steps = actor["steps"];
  const size_t at = d.below(steps.size() + 1);
  steps.insert(steps.begin() + static_cast<std::ptrdiff_t>(at), random_step(d, names, config, process_of(actor)));
}

void mutate_delete_step(Draw& d, json& s) {
  json& steps = (*random_actor_of(d, s))["steps"];
  if (steps.empty()) return;
  steps.erase(d.below(steps.size()));
}

void mutate_swap_steps(Draw& d, json& s) {
  json& steps = (*random_actor_of(d, s))["steps"];
  if (steps.size() < 2) return;
  const size_t i = d.below(steps.size() - 1);
  const size_t j = d.chance(70) ? i + 1 : d.below(steps.size());
  std::swap(steps[i], steps[j]);
}

void mutate_duplicate_step(Draw& d, json& s) {
  json& steps = (*random_actor_of(d, s))["steps"];
  if (steps.empty()) return;
  const size_t i = d.below(steps.size());
  steps.insert(steps.begin() + static_cast<std::ptrdiff_t>(i), steps[i]);
}

// An argument of one step: its page, size, pipe, mode, bound or the name it refers to.
void mutate_step_argument(Draw& d, json& s) {
  json& actor = *random_actor_of(d, s);
  json& steps = actor["steps"];
  if (steps.empty()) return;
  json& step = steps[d.below(steps.size())];
  Names names = names_of_process(s, process_of(actor));
  switch (d.below(7)) {
    case 0:
      if (step.contains("page") || step["op"] == "touch" || step["op"] == "dmabuf_read") step["page"] = d.below(24);
      break;
    case 1:
      if (step.contains("width")) step = size_fields(d, step);
      break;
    case 2:
      if (step.contains("pipe") || step["op"] == "commit" || step["op"] == "flip" || step["op"] == "disable")
        step["pipe"] = d.below(connector_count(s));
      break;
    case 3:
      if (step["op"] == "commit") {
        if (step.contains("mode"))
          step.erase("mode");
        else
          step["mode"] = {{"width", d.range(1, 200)}, {"height", d.range(1, 200)}};
      }
      break;
    case 4:
      if (step.contains("bound_ms")) step["bound_ms"] = d.range(0, 60) * 100;
      break;
    case 5:
      if (step.contains("buffer")) step["buffer"] = refer(d, names.buffers, "nobuf");
      if (step.contains("fb")) step["fb"] = refer(d, names.fbs, "nofb");
      if (step.contains("dmabuf")) step["dmabuf"] = refer(d, names.dmabufs, "nodmabuf");
      break;
    default:
      if (step["op"] == "wait_uevent") step["action"] = d.pick(std::vector<std::string>{"add", "remove", "change"});
      if (step["op"] == "gem_close") {
        step.erase("buffer");
        step["handle"] = d.range(0, 4);
      }
      break;
  }
}

void mutate_timing_value(Draw& d, json& s, const GeneratorLimits& limits) {
  std::vector<json*> times;
  if (s.contains("backend") && s["backend"].contains("script"))
    for (auto& action : s["backend"]["script"]) times.push_back(&action["at_ms"]);
  if (s.contains("host"))
    for (auto& action : s["host"]) times.push_back(&action["at_ms"]);
  for (auto& actor : s["actors"])
    for (auto& step : actor["steps"]) {
      if (step.contains("ms")) times.push_back(&step["ms"]);
      if (step.contains("until_ms")) times.push_back(&step["until_ms"]);
    }
  if (s.contains("backend") && s["backend"].contains("answers")) {
    for (auto& [op, answer] : s["backend"]["answers"].items()) {
      (void)op;
      if (answer.contains("latency_ms")) times.push_back(&answer["latency_ms"]);
    }
  }
  if (times.empty()) return;
  json& value = *d.pick(times);
  const uint64_t old = value.get<uint64_t>();
  switch (d.below(4)) {
    case 0:
      value = d.instant(limits.horizon_ms);
      break;
    case 1:
      value = old / 2;
      break;
    case 2:
      value = std::min<uint64_t>(old + d.range(1, 10) * 10, kScenarioMaxLatencyMs);
      break;
    default:
      value = old > 10 ? old - 10 : 0;
      break;
  }
}

void mutate_config(Draw& d, json& s) {
  if (!s.contains("config")) s["config"] = json::object();
  json& config = s["config"];
  if (d.chance(50)) {
    config["be_alloc"] = !config.value("be_alloc", false);
    return;
  }
  if (!config.contains("connectors")) config["connectors"] = json::array({{{"width", 64}, {"height", 64}}});
  json& connectors = config["connectors"];
  if (connectors.size() < 4 && d.chance(50))
    connectors.push_back({{"width", 64}, {"height", 64}});
  else if (connectors.size() > 1)
    connectors.erase(connectors.size() - 1);
  else
    connectors[0] = {{"width", d.range(1, 4095)}, {"height", d.range(1, 2047)}};
}

void mutate_faults(Draw& d, json& s, const GeneratorLimits& limits) {
  if (!s.contains("faults")) s["faults"] = json::array();
  json& faults = s["faults"];
  if (!faults.empty() && d.chance(40)) {
    faults.erase(d.below(faults.size()));
  } else if (faults.size() < limits.max_faults) {
    faults.push_back(random_fault(d));
  } else {
    faults[d.below(faults.size())] = random_fault(d);
  }
  if (faults.empty()) s.erase("faults");
}

void mutate_backend(Draw& d, json& s, const GeneratorLimits& limits) {
  if (!s.contains("backend")) s["backend"] = json::object();
  json& backend = s["backend"];
  switch (d.below(4)) {
    case 0:
      backend["answers"] = random_answers(d);
      if (backend["answers"].empty()) backend.erase("answers");
      break;
    case 1:
      if (d.chance(50))
        backend["flip_event_latency_ms"] = d.range(0, 40) * 10;
      else
        backend.erase("flip_event_latency_ms");
      break;
    default: {
      if (!backend.contains("script")) backend["script"] = json::array();
      json& script = backend["script"];
      if (!script.empty() && d.chance(35))
        script.erase(d.below(script.size()));
      else if (!script.empty() && d.chance(40))
        script[d.below(script.size())] = random_backend_action(d, limits);
      else
        script.push_back(random_backend_action(d, limits));
      if (script.empty()) backend.erase("script");
      break;
    }
  }
  if (backend.empty()) s.erase("backend");
}

void mutate_host(Draw& d, json& s, const GeneratorLimits& limits) {
  if (s.contains("host") && !s["host"].empty() && d.chance(50)) {
    s["host"].erase(d.below(s["host"].size()));
    if (s["host"].empty()) s.erase("host");
    return;
  }
  if (!s.contains("host")) s["host"] = json::array();
  s["host"].push_back(random_host_action(d, limits));
}

void mutate_actors(Draw& d, json& s, const GeneratorLimits& limits) {
  Config config = config_of(s);
  if (s["actors"].size() > 1 && d.chance(40)) {
    s["actors"].erase(d.below(s["actors"].size()));  // repair drops its threads
    return;
  }
  if (d.chance(50) && !config.processes.empty()) {
    const std::string process = d.pick(config.processes);
    json steps = json::array();
    for (const auto& actor : s["actors"])
      if (process_of(actor) == process)
        for (const auto& step : actor["steps"]) steps.push_back(step);
    s["actors"].push_back(random_thread(d, unused_actor_name(s, "t"), process, steps, config, limits));
  } else {
    const std::string name = unused_actor_name(s, "p");
    config.processes.push_back(name);
    s["actors"].push_back(random_actor(d, name, config, limits));
  }
}

void mutate_schedule(Draw& d, json& s) {
  json& schedule = s["schedule"];
  switch (d.below(3)) {
    case 0:
      schedule["seed"] = d.below(kMaxSeed);
      break;
    case 1:
      schedule["any_instant"] = !schedule.value("any_instant", false);
      break;
    default:
      schedule["fault_bound"] = schedule.value("fault_bound", 0u) == 0 ? 1 : 0;
      break;
  }
}

}  // namespace

nlohmann::json generate_scenario(uint64_t seed, const GeneratorLimits& limits) {
  sim::Prng prng(sim::Prng::schedule_seed(seed, 0x6e6e));
  Draw d{prng};
  json s{{"format", "xfsim-scenario/0"}, {"name", fmt::format("gen-{}", seed)}, {"variant", "correct"}};
  s["description"] = fmt::format("generated by xfsim fuzz --generate from seed {}", seed);
  s["config"] = random_config(d);
  Config config;
  config.connectors = static_cast<uint32_t>(s["config"]["connectors"].size());
  const uint64_t processes = d.range(1, limits.max_processes);
  for (uint64_t i = 0; i < processes; ++i) config.processes.push_back(fmt::format("p{}", i));
  json actors = json::array();
  for (const auto& name : config.processes) actors.push_back(random_actor(d, name, config, limits));
  const uint64_t threads = d.chance(50) ? d.range(1, limits.max_threads) : 0;
  for (uint64_t i = 0; i < threads; ++i) {
    const uint64_t owner = d.below(processes);
    actors.push_back(
        random_thread(d, fmt::format("t{}", i), config.processes[owner], actors[owner]["steps"], config, limits));
  }
  s["actors"] = actors;
  json backend = json::object();
  if (d.chance(30)) {
    json answers = random_answers(d);
    if (!answers.empty()) backend["answers"] = answers;
  }
  if (d.chance(15)) backend["flip_event_latency_ms"] = d.range(0, 40) * 10;
  const uint64_t script = d.chance(70) ? d.range(1, limits.max_backend_actions) : 0;
  for (uint64_t i = 0; i < script; ++i) backend["script"].push_back(random_backend_action(d, limits));
  if (!backend.empty()) s["backend"] = backend;
  const uint64_t host = d.chance(45) ? d.range(1, limits.max_host_actions) : 0;
  for (uint64_t i = 0; i < host; ++i) s["host"].push_back(random_host_action(d, limits));
  const uint64_t faults = d.chance(25) ? d.range(1, limits.max_faults) : 0;
  for (uint64_t i = 0; i < faults; ++i) s["faults"].push_back(random_fault(d));
  s["schedule"] = random_schedule(d, limits);
  s["expect"] = json{{"verdict", "clean"}};
  if (limits.ignore_hangs) s["expect"]["ignore"] = json::array({"hung-wait"});
  repair(s, limits);
  return s;
}

nlohmann::json mutate_scenario(const nlohmann::json& scenario, sim::Prng& prng, const GeneratorLimits& limits) {
  Draw d{prng};
  json s = as_fuzz_input(scenario, limits);
  const uint64_t count = d.chance(60) ? 1 : d.range(2, 4);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t which = d.below(100);
    if (which < 18)
      mutate_insert_step(d, s);
    else if (which < 30)
      mutate_delete_step(d, s);
    else if (which < 40)
      mutate_swap_steps(d, s);
    else if (which < 45)
      mutate_duplicate_step(d, s);
    else if (which < 57)
      mutate_step_argument(d, s);
    else if (which < 67)
      mutate_timing_value(d, s, limits);
    else if (which < 72)
      mutate_config(d, s);
    else if (which < 78)
      mutate_faults(d, s, limits);
    else if (which < 86)
      mutate_backend(d, s, limits);
    else if (which < 90)
      mutate_host(d, s, limits);
    else if (which < 95)
      mutate_actors(d, s, limits);
    else
      mutate_schedule(d, s);
    repair(s, limits);
  }
  return s;
}

nlohmann::json cross_over(const nlohmann::json& a, const nlohmann::json& b, sim::Prng& prng,
                          const GeneratorLimits& limits) {
  Draw d{prng};
  json s = as_fuzz_input(a, limits);
  const json other = as_fuzz_input(b, limits);
  switch (d.below(5)) {
    case 0:
    case 1: {
      // Some of b's processes, with their threads, renamed where names clash.
      std::vector<std::string> processes;
      for (const auto& actor : other["actors"])
        if (!actor.contains("thread_of")) processes.push_back(actor["name"].get<std::string>());
      const std::string chosen = d.pick(processes);
      const std::string renamed = unused_actor_name(s, chosen);
      if (d.chance(40) && s["actors"].size() > 1) s["actors"].erase(d.below(s["actors"].size()));
      for (auto actor : other["actors"]) {
        if (process_of(actor) != chosen) continue;
        if (actor.contains("thread_of")) {
          actor["thread_of"] = renamed;
          actor["name"] = unused_actor_name(s, actor["name"].get<std::string>());
        } else {
          actor["name"] = renamed;
        }
        for (auto& step : actor["steps"])
          if (step.contains("to") && step["to"] == chosen) step["to"] = renamed;
        s["actors"].push_back(actor);
      }
      break;
    }
    case 2:
      if (other.contains("backend"))
        s["backend"] = other["backend"];
      else
        s.erase("backend");
      break;
    case 3:
      if (other.contains("host"))
        s["host"] = other["host"];
      else
        s.erase("host");
      if (other.contains("faults")) s["faults"] = other["faults"];
      break;
    default:
      if (other.contains("config"))
        s["config"] = other["config"];
      else
        s.erase("config");
      break;
  }
  repair(s, limits);
  return s;
}

nlohmann::json as_fuzz_input(const nlohmann::json& scenario, const GeneratorLimits& limits) {
  json s = scenario;
  s["variant"] = "correct";
  json expect{{"verdict", "clean"}};
  if (limits.ignore_hangs) expect["ignore"] = json::array({"hung-wait"});
  s["expect"] = expect;
  json schedule{{"strategy", "random"}, {"schedules", 1}};
  const json old = scenario.value("schedule", json::object());
  schedule["seed"] = old.value("seed", uint64_t{1});
  schedule["steps_max"] = std::min<uint64_t>(old.value("steps_max", limits.steps_max), limits.steps_max);
  if (old.contains("fault_bound")) schedule["fault_bound"] = std::min<uint64_t>(old["fault_bound"].get<uint64_t>(), 1);
  if (old.value("any_instant", false)) schedule["any_instant"] = true;
  s["schedule"] = schedule;
  repair(s, limits);
  return s;
}

}  // namespace xfsim::harness
