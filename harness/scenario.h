// Scenario: the JSON format (docs/scenarios.md), validated against
// scenario_schema.json (valijson) and then checked for meaning (names that
// refer to nothing, threads of unknown actors, unknown variants). Every error
// names the file, the place (JSON pointer, or line and column for syntax)
// and the problem.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fakes/backend.h"
#include "sim/scheduler.h"

namespace xfsim::harness {

// The largest virtual time a scenario may name (at_ms, ms, until_ms,
// bound_ms) and the largest latency, as the schema says.
inline constexpr uint64_t kScenarioMaxMs = 1000000000;  // about 11.6 days
inline constexpr uint64_t kScenarioMaxLatencyMs = 600000;

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The system calls an actor makes (the schema's "op" values).
enum class UserOp : uint8_t {
  kWaitDevice, kOpen, kCreateDumb, kMmap, kTouch, kMunmap, kAddFb, kRmFb, kCommit, kFlip,
  kDisable, kWaitFlip, kWaitUevent, kGemClose, kClose, kSleep, kWaitOpen
};

struct UserStep {
  std::string op;  // as written, for messages
  UserOp kind = UserOp::kSleep;
  std::string as, buffer, fb, action;
  std::optional<uint32_t> handle;
  uint32_t width = 0, height = 0, bpp = 32, page = 0, pipe = 0;
  std::optional<std::pair<uint32_t, uint32_t>> mode;
  std::optional<int64_t> bound_ms;
  uint64_t ms = 0;
  std::optional<uint64_t> until_ms;  // sleep: wake at this virtual time
};

struct Actor {
  std::string name;
  std::string thread_of;  // empty: a process of its own
  bool die_on_sigbus = true;
  std::vector<UserStep> steps;
};

struct HostAction {
  uint64_t at_ms = 0;
  std::string action;  // remove
};

struct Schedule {
  std::string strategy = "random";
  uint64_t seed = 1;
  uint64_t schedules = 1;
  uint32_t depth = 3;
  uint32_t preemption_bound = 2;
  bool sleep_sets = false;  // dfs: partial-order reduction
  uint64_t steps_max = 100000;
  // strategy "replay": the task run at each step (a minimised reproducer);
  // where it no longer fits, replay goes on without preempting.
  std::vector<uint32_t> decisions;
};

struct Scenario {
  std::string path;  // as given by the user
  std::string name, description;
  std::string variant = "correct";
  std::vector<std::pair<uint32_t, uint32_t>> connectors{{64, 64}};
  bool be_alloc = false;
  fakes::BackendConfig backend;
  std::vector<HostAction> host;
  std::vector<Actor> actors;
  Schedule schedule;
  std::string expect_verdict;
  std::map<std::string, std::string> expect_by_variant;
  // expect.signature: a finding the run must report (any position), so a
  // reproducer proves its own bug and not just a kind.
  std::string expect_signature;
  // expect.stop_on / expect.ignore (and --stop-on / --ignore).
  sim::ReportPolicy report_policy = sim::ReportPolicy::defaults();
  nlohmann::json source;  // the document as read (embedded in traces)

  // The verdict expected when running `variant`, if the scenario records one.
  // A bug scenario is expected clean under `correct` unless it says otherwise.
  std::optional<std::string> expected_for(const std::string& variant_name) const;
};

// `validate` = false skips the schema (for documents xfsim itself derived
// from a validated one: timing mutations and minimisation candidates).
Scenario parse_scenario(const nlohmann::json& document, const std::string& path, bool validate = true);
Scenario load_scenario(const std::string& path);  // reads, parses, validates
// Adds violation kinds to a policy's stop_on (stop) or ignore list; "all" and
// "memory" name sets for stop_on. Unknown kinds are an error naming `where`.
void apply_kinds(sim::ReportPolicy& policy, const std::vector<std::string>& kinds, bool stop, const std::string& where);
// Parses JSON text; syntax errors are reported as "<path>:<line>:<column>: ...".
nlohmann::json parse_json_text(const std::string& text, const std::string& path);
std::string read_file(const std::string& path);

}  // namespace xfsim::harness
