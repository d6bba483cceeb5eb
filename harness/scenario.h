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
#include "fakes/core_config.h"
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
  kWaitDevice,
  kOpen,
  kCreateDumb,
  kMmap,
  kTouch,
  kMunmap,
  kAddFb,
  kRmFb,
  kCommit,
  kFlip,
  kDisable,
  kWaitFlip,
  kWaitUevent,
  kGemClose,
  kClose,
  kSleep,
  kWaitOpen,
  // PRIME and dma-buf fds (harness/userspace.cc)
  kPrimeExport,
  kPrimeImport,
  kDmabufClose,
  kDmabufPass,
  kDmabufRecv,
  kDmabufMmap,
  kDmabufVmap,
  kDmabufRead,
  kDmabufVunmap,
  kDmaHeapAlloc
};

struct UserStep {
  std::string op;  // as written, for messages
  UserOp kind = UserOp::kSleep;
  std::string as, buffer, fb, action;
  std::optional<uint32_t> handle;
  std::optional<uint32_t> fb_id;  // commit, flip: an fb id guessed, not one of the process's
  uint32_t width = 0, height = 0, bpp = 32, page = 0, pipe = 0;
  std::optional<std::pair<uint32_t, uint32_t>> mode;
  std::optional<int64_t> bound_ms;
  uint64_t ms = 0;
  std::optional<uint64_t> until_ms;  // sleep: wake at this virtual time
  std::string dmabuf;                // a dma-buf fd of the process, by name
  std::string to;                    // dmabuf_pass: the receiving process (an actor)
};

struct Actor {
  std::string name;
  std::string thread_of;  // empty: a process of its own
  bool die_on_sigbus = true;
  std::vector<UserStep> steps;
};

struct HostAction {
  uint64_t at_ms = 0;
  std::string action;                       // remove
  std::optional<fakes::StateTrigger> when;  // at_ms after that state, not from the start
};

// How a campaign chooses its schedules: what a scenario's schedule block
// says (Schedule) and what a campaign is run with (CampaignOptions,
// harness/explore.h), one struct so the two cannot drift apart.
struct ScheduleChoice {
  std::string strategy = "random";
  uint64_t seed = 1;
  uint64_t schedules = 1;
  uint32_t depth = 3;             // pct
  uint32_t preemption_bound = 2;  // dfs
  bool sleep_sets = false;        // dfs: partial-order reduction (sim/dfs_strategy.h)
  uint32_t fault_bound = 0;       // faults a strategy may inject in a run (sim/fault.h); 0: none
  // strategy "replay": the task run at each step (a minimised reproducer);
  // where it no longer fits, replay goes on without preempting.
  std::vector<uint32_t> decisions;
};

// The scenario's schedule block: the choice, and the bound of every run
// (the world's, read from the scenario, not a campaign option).
struct Schedule : ScheduleChoice {
  uint64_t steps_max = 100000;
  // Events at any instant (Scheduler::set_any_instant): a due timer (a
  // scripted action, an interrupt) is a choice at every decision.
  bool any_instant = false;
  // A strategy exploring faults may also choose the backend's misbehaviours
  // (fakes/backend.h: the displ_be:* fault sites).
  bool hostile_backend = false;
};

struct Scenario {
  std::string path;  // as given by the user
  std::string name, description;
  std::string variant = "correct";
  std::vector<std::pair<uint32_t, uint32_t>> connectors{{64, 64}};
  bool be_alloc = false;
  fakes::BackendConfig backend;
  // The "core" object: the DRM core's and grant table's version and named
  // switches (fakes/core_config.h); 5.10's without it.
  fakes::CoreConfig core;
  std::vector<HostAction> host;
  std::vector<Actor> actors;
  // Scripted faults (sim/fault.h): the nth call at a site fails.
  std::vector<sim::ScriptedFault> faults;
  Schedule schedule;
  std::string expect_verdict;
  std::map<std::string, std::string> expect_by_variant;
  // expect.signature: a finding the run must report (any position), so a
  // reproducer proves its own bug and not just a kind.
  std::string expect_signature;
  // expect.site: a kernel function the expected finding's path goes through
  // (where it was detected, or a frame of its stack or of the object's alloc
  // or free stack), so a bug-zoo scenario proves it reaches its bug by its
  // own path, not just a verdict of the same kind.
  std::string expect_site;
  // expect.log.require / forbid: substrings some log line of the run must
  // (must not) contain, checked when a run finishes (harness/world.h).
  std::vector<std::string> log_require, log_forbid;
  // expect.stop_on / expect.ignore (and --stop-on / --ignore).
  sim::ReportPolicy report_policy = sim::ReportPolicy::defaults();
  nlohmann::json source;  // the document as read (embedded in traces)

  // The verdict expected when running `variant`, if the scenario records one.
  // A bug scenario is expected clean under `correct` unless it says otherwise.
  std::optional<std::string> expected_for(const std::string& variant_name) const;
};

// Limits on what xfsim reads (docs/scenarios.md, "Limits").
inline constexpr uint64_t kMaxInputBytes = 64ull << 20;       // a scenario file
inline constexpr uint64_t kMaxTraceBytes = 256ull << 20;      // a trace file (read line by line)
inline constexpr size_t kMaxJsonDepth = 64;                   // nesting of arrays and objects
inline constexpr uint64_t kMaxSeed = 9223372036854775807ull;  // 2^63 - 1
inline constexpr uint64_t kMaxVirtualMs = 1000000000;         // every ms, at_ms, until_ms and bound_ms
inline constexpr size_t kMaxFileStem = 100;                   // a name used in a file name

// A place in a JSON document being read: "<file>: at <JSON pointer>" (the
// file may carry a line: "<file>:<line>"). Errors thrown from it read
// "<file>: at <pointer>: <problem>".
struct JsonPlace {
  std::string file;
  std::string pointer;  // "" is the document itself
  JsonPlace operator/(const std::string& key) const;
  JsonPlace operator/(size_t index) const;
  [[noreturn]] void fail(const std::string& problem) const;
};
// Typed reads of JSON values: a wrong type or a value out of range throws a
// ScenarioError naming the place and what was expected. Never a raw
// nlohmann exception, never a silent narrowing.
uint64_t read_unsigned(const nlohmann::json& value, const JsonPlace& at, uint64_t max);
int64_t read_signed(const nlohmann::json& value, const JsonPlace& at, int64_t min, int64_t max);
std::string read_string(const nlohmann::json& value, const JsonPlace& at);
bool read_bool(const nlohmann::json& value, const JsonPlace& at);
const nlohmann::json& read_object(const nlohmann::json& value, const JsonPlace& at);
const nlohmann::json& read_array(const nlohmann::json& value, const JsonPlace& at);
// The member `key` of an object (which it checks is one), or nullptr.
const nlohmann::json* find_member(const nlohmann::json& object, const JsonPlace& at, const char* key);
const nlohmann::json& need_member(const nlohmann::json& object, const JsonPlace& at, const char* key);

// A strict decimal unsigned number in [min, max]: digits only (no sign, no
// octal or hex, no spaces, no overflow), or nothing.
std::optional<uint64_t> parse_decimal(const std::string& text, uint64_t min, uint64_t max);
// `text` made safe as (part of) a file name: letters, digits, '.', '_' and
// '-' only (others become '_'), not starting with '.' or '-', not empty, at
// most `max_length` characters.
std::string file_stem(const std::string& text, size_t max_length = kMaxFileStem);

// `validate` = false skips the schema (for documents xfsim itself derived
// from a validated one: timing mutations and minimisation candidates).
Scenario parse_scenario(const nlohmann::json& document, const std::string& path, bool validate = true);
Scenario load_scenario(const std::string& path);  // reads, parses, validates
// Adds violation kinds to a policy's stop_on (stop) or ignore list; "all" and
// "memory" name sets for stop_on. Unknown kinds are an error naming `where`.
void apply_kinds(sim::ReportPolicy& policy, const std::vector<std::string>& kinds, bool stop, const std::string& where);
// Parses JSON text strictly: no NUL bytes, nothing but whitespace after the
// value, no duplicate keys, nesting at most kMaxJsonDepth (checked before
// parsing). Syntax errors are reported as "<path>:<line>:<column>: ...",
// duplicate keys as "<path>: at <pointer>: ...". `line` > 0: the text is that
// line of the file (a trace line), counted into the positions reported.
nlohmann::json parse_json_text(const std::string& text, const std::string& path, size_t line = 0);
// Reads a regular file of at most `max_bytes` (never blocks on a FIFO,
// never reads a device or a directory).
std::string read_file(const std::string& path, uint64_t max_bytes = kMaxInputBytes);

}  // namespace xfsim::harness
