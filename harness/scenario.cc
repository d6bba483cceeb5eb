#include "harness/scenario.h"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "driver_core/variant.h"
#include "harness/oracles.h"

namespace xfsim::harness {

namespace {

const char kSchemaText[] =
#include "harness/scenario_schema.inc"
    ;

const valijson::Schema& schema() {
  static const valijson::Schema* parsed = [] {
    auto* s = new valijson::Schema;
    const nlohmann::json document = nlohmann::json::parse(kSchemaText);
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(document);
    parser.populateSchema(adapter, *s);
    return s;
  }();
  return *parsed;
}

// valijson's context is ["<root>", "[actors]", "[0]", ...]: turn it into a
// JSON pointer a user can follow.
std::string pointer_of(const std::vector<std::string>& context) {
  std::string pointer;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string name = part;
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    pointer += "/" + name;
  }
  return pointer.empty() ? "/" : pointer;
}

void validate(const nlohmann::json& document, const std::string& path) {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(document);
  if (validator.validate(schema(), adapter, &results)) return;
  // The deepest error is the most specific one.
  valijson::ValidationResults::Error best;
  valijson::ValidationResults::Error error;
  size_t depth = 0;
  bool have = false;
  while (results.popError(error)) {
    if (!have || error.context.size() > depth) {
      best = error;
      depth = error.context.size();
      have = true;
    }
  }
  throw ScenarioError(fmt::format("{}: at {}: {}", path, pointer_of(best.context), best.description));
}

uint32_t u32(const nlohmann::json& object, const char* key, uint32_t fallback) {
  return object.contains(key) ? object.at(key).get<uint32_t>() : fallback;
}

fakes::BackendAction::Kind action_kind(const std::string& name) {
  using Kind = fakes::BackendAction::Kind;
  if (name == "disconnect") return Kind::kDisconnect;
  if (name == "die") return Kind::kDie;
  if (name == "restart") return Kind::kRestart;
  if (name == "hang") return Kind::kHang;
  return Kind::kUnknownFbEvent;
}

UserOp parse_op(const std::string& op) {
  static const std::pair<const char*, UserOp> kOps[] = {
      {"wait_device", UserOp::kWaitDevice}, {"open", UserOp::kOpen},         {"create_dumb", UserOp::kCreateDumb},
      {"mmap", UserOp::kMmap},              {"touch", UserOp::kTouch},       {"munmap", UserOp::kMunmap},
      {"add_fb", UserOp::kAddFb},           {"rm_fb", UserOp::kRmFb},        {"commit", UserOp::kCommit},
      {"flip", UserOp::kFlip},              {"disable", UserOp::kDisable},   {"wait_flip", UserOp::kWaitFlip},
      {"wait_uevent", UserOp::kWaitUevent}, {"gem_close", UserOp::kGemClose}, {"close", UserOp::kClose},
      {"sleep", UserOp::kSleep},            {"wait_open", UserOp::kWaitOpen}};
  for (const auto& [name, kind] : kOps) {
    if (op == name) return kind;
  }
  throw ScenarioError(fmt::format("unknown op '{}'", op));
}

UserStep parse_step(const nlohmann::json& j) {
  UserStep step;
  step.op = j.at("op").get<std::string>();
  step.kind = parse_op(step.op);
  step.as = j.value("as", "");
  step.buffer = j.value("buffer", "");
  step.fb = j.value("fb", "");
  step.action = j.value("action", "");
  if (j.contains("handle")) step.handle = j.at("handle").get<uint32_t>();
  step.width = u32(j, "width", 0);
  step.height = u32(j, "height", 0);
  step.bpp = u32(j, "bpp", 32);
  step.page = u32(j, "page", 0);
  step.pipe = u32(j, "pipe", 0);
  if (j.contains("mode")) step.mode = std::make_pair(j["mode"].at("width").get<uint32_t>(), j["mode"].at("height").get<uint32_t>());
  if (j.contains("bound_ms")) step.bound_ms = j.at("bound_ms").get<int64_t>();
  step.ms = j.value("ms", uint64_t{0});
  if (j.contains("until_ms")) step.until_ms = j.at("until_ms").get<uint64_t>();
  return step;
}

// What the schema cannot say: names must refer to something defined earlier.
void check_meaning(const Scenario& s, const std::string& path) {
  std::set<std::string> actor_names;
  for (size_t a = 0; a < s.actors.size(); ++a) {
    const Actor& actor = s.actors[a];
    const std::string where = fmt::format("{}: at /actors/{}", path, a);
    if (!actor_names.insert(actor.name).second) throw ScenarioError(fmt::format("{}/name: duplicate actor name '{}'", where, actor.name));
    if (!actor.thread_of.empty()) {
      if (!actor_names.count(actor.thread_of) || actor.thread_of == actor.name) {
        throw ScenarioError(fmt::format("{}/thread_of: no earlier actor named '{}'", where, actor.thread_of));
      }
    }
    for (size_t i = 0; i < actor.steps.size(); ++i) {
      const UserStep& step = actor.steps[i];
      const std::string at = fmt::format("{}/steps/{}", where, i);
      auto need = [&](bool ok, const char* what) {
        if (!ok) throw ScenarioError(fmt::format("{}: op '{}' needs {}", at, step.op, what));
      };
      if (step.op == "create_dumb") need(!step.as.empty() && step.width > 0 && step.height > 0, "\"as\", \"width\" and \"height\"");
      if (step.op == "mmap" || step.op == "touch" || step.op == "munmap") need(!step.buffer.empty(), "\"buffer\"");
      if (step.op == "add_fb") need(!step.buffer.empty() && !step.as.empty(), "\"buffer\" and \"as\"");
      if (step.op == "rm_fb" || step.op == "flip") need(!step.fb.empty(), "\"fb\"");
      if (step.op == "commit") need(!step.fb.empty(), "\"fb\" (and optionally \"mode\")");
      if (step.op == "gem_close") need(!step.buffer.empty() || step.handle.has_value(), "\"buffer\" or \"handle\"");
      if (step.op == "wait_uevent") need(!step.action.empty(), "\"action\"");
      if (step.pipe >= s.connectors.size() && (step.op == "commit" || step.op == "flip" || step.op == "disable")) {
        throw ScenarioError(fmt::format("{}/pipe: pipe {} but only {} connector(s) configured", at, step.pipe, s.connectors.size()));
      }
    }
  }
  if (!driver::find_variant(s.variant)) {
    throw ScenarioError(fmt::format("{}: at /variant: unknown variant '{}' (see `xfsim variants`)", path, s.variant));
  }
  for (const auto& [variant, verdict] : s.expect_by_variant) {
    if (!driver::find_variant(variant)) {
      throw ScenarioError(fmt::format("{}: at /expect/by_variant/{}: unknown variant", path, variant));
    }
    (void)verdict;
  }
}

}  // namespace

std::optional<std::string> Scenario::expected_for(const std::string& variant_name) const {
  auto it = expect_by_variant.find(variant_name);
  if (it != expect_by_variant.end()) return it->second;
  if (variant_name == variant) return expect_verdict;
  if (variant_name == "correct") return std::string("clean");
  return std::nullopt;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError(fmt::format("{}: cannot open file", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

nlohmann::json parse_json_text(const std::string& text, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    const auto colon = what.find("parse error");
    if (colon != std::string::npos) what = what.substr(colon);
    throw ScenarioError(fmt::format("{}:{}:{}: malformed JSON: {}", path, line, column, what));
  }
}

Scenario parse_scenario(const nlohmann::json& document, const std::string& path, bool validate_schema) {
  if (validate_schema) validate(document, path);
  Scenario s;
  s.path = path;
  s.source = document;
  s.name = document.at("name").get<std::string>();
  s.description = document.value("description", "");
  s.variant = document.value("variant", "correct");
  if (document.contains("config")) {
    const auto& config = document["config"];
    if (config.contains("connectors")) {
      s.connectors.clear();
      for (const auto& c : config["connectors"]) s.connectors.emplace_back(c.at("width").get<uint32_t>(), c.at("height").get<uint32_t>());
    }
    s.be_alloc = config.value("be_alloc", false);
  }
  if (document.contains("backend")) {
    const auto& backend = document["backend"];
    if (backend.contains("answers")) {
      for (const auto& [op_name, answer] : backend["answers"].items()) {
        fakes::DisplifOp op;
        fakes::displif_op_from_name(op_name, op);  // the schema allows only real ops
        fakes::BackendAnswer a;
        a.status = answer.value("status", 0);
        a.latency_ms = answer.value("latency_ms", uint64_t{1});
        a.drop = answer.value("drop", false);
        s.backend.answers[op] = a;
      }
    }
    s.backend.flip_event_latency_ms = backend.value("flip_event_latency_ms", uint64_t{16});
    if (backend.contains("script")) {
      for (const auto& step : backend["script"]) {
        fakes::BackendAction action;
        action.at_ms = step.at("at_ms").get<uint64_t>();
        action.kind = action_kind(step.at("action").get<std::string>());
        action.reconnect = step.value("reconnect", true);
        s.backend.script.push_back(action);
      }
    }
  }
  if (document.contains("host")) {
    for (const auto& h : document["host"]) s.host.push_back(HostAction{h.at("at_ms").get<uint64_t>(), h.at("action").get<std::string>()});
  }
  for (const auto& a : document.at("actors")) {
    Actor actor;
    actor.name = a.at("name").get<std::string>();
    actor.thread_of = a.value("thread_of", "");
    actor.die_on_sigbus = a.value("on_sigbus", "die") == "die";
    for (const auto& step : a.at("steps")) actor.steps.push_back(parse_step(step));
    s.actors.push_back(std::move(actor));
  }
  if (document.contains("schedule")) {
    const auto& sch = document["schedule"];
    s.schedule.strategy = sch.value("strategy", "random");
    s.schedule.seed = sch.value("seed", uint64_t{1});
    s.schedule.schedules = sch.value("schedules", uint64_t{1});
    s.schedule.depth = sch.value("depth", 3u);
    s.schedule.preemption_bound = sch.value("preemption_bound", 2u);
    s.schedule.sleep_sets = sch.value("sleep_sets", false);
    s.schedule.steps_max = sch.value("steps_max", uint64_t{100000});
    if (sch.contains("decisions")) s.schedule.decisions = sch["decisions"].get<std::vector<uint32_t>>();
    if (s.schedule.strategy == "replay" && !sch.contains("decisions")) {
      throw ScenarioError(fmt::format("{}: at /schedule: strategy \"replay\" needs \"decisions\"", path));
    }
  }
  s.expect_verdict = document["expect"].at("verdict").get<std::string>();
  if (document["expect"].contains("by_variant")) {
    for (const auto& [variant, verdict] : document["expect"]["by_variant"].items()) s.expect_by_variant[variant] = verdict.get<std::string>();
  }
  s.expect_signature = document["expect"].value("signature", "");
  if (document["expect"].contains("stop_on")) {
    s.report_policy.stop_on.clear();
    apply_kinds(s.report_policy, document["expect"]["stop_on"].get<std::vector<std::string>>(), /*stop=*/true,
                fmt::format("{}: at /expect/stop_on", path));
  }
  if (document["expect"].contains("ignore")) {
    apply_kinds(s.report_policy, document["expect"]["ignore"].get<std::vector<std::string>>(), /*stop=*/false,
                fmt::format("{}: at /expect/ignore", path));
  }
  check_meaning(s, path);
  return s;
}

void apply_kinds(sim::ReportPolicy& policy, const std::vector<std::string>& kinds, bool stop, const std::string& where) {
  for (const std::string& kind : kinds) {
    if (stop && kind == "all") {
      policy.stop_on_all = true;
      continue;
    }
    if (stop && kind == "memory") {
      const auto memory = sim::ReportPolicy::defaults().stop_on;
      policy.stop_on.insert(policy.stop_on.end(), memory.begin(), memory.end());
      continue;
    }
    if (!is_oracle_kind(kind)) {
      throw ScenarioError(fmt::format("{}: unknown violation kind '{}' (see `xfsim oracles`{})", where, kind,
                                      stop ? "; or \"all\", \"memory\"" : ""));
    }
    (stop ? policy.stop_on : policy.ignore).push_back(kind);
  }
}

Scenario load_scenario(const std::string& path) {
  return parse_scenario(parse_json_text(read_file(path), path), path);
}

}  // namespace xfsim::harness
