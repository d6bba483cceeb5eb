#include "harness/scenario.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "driver_core/variant.h"
#include "harness/fault_sites.h"
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

// valijson reads integers as int64_t: one of 2^63 or more would look
// negative and get a wrong message, so they are refused first.
void reject_huge_integers(const nlohmann::json& value, const JsonPlace& at) {
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    at.fail(fmt::format("{} is out of range (no field takes an integer above {})", value.get<uint64_t>(),
                        std::numeric_limits<int64_t>::max()));
  }
  if (value.is_object()) {
    for (const auto& [key, member] : value.items()) reject_huge_integers(member, at / key);
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) reject_huge_integers(value[i], at / i);
  }
}

// valijson prints limits as doubles ("1000000000.000000").
std::string tidy_numbers(std::string text) {
  for (size_t at = text.find(".000000"); at != std::string::npos; at = text.find(".000000", at)) {
    if (at > 0 && std::isdigit(static_cast<unsigned char>(text[at - 1])))
      text.erase(at, 7);
    else
      at += 7;
  }
  return text;
}

void validate(const nlohmann::json& document, const std::string& path) {
  reject_huge_integers(document, JsonPlace{path, ""});
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
  std::string problem = tidy_numbers(best.description);
  const std::string pointer = pointer_of(best.context);
  if (pointer == "/name" && problem.find("pattern") != std::string::npos) {
    problem += " (a name is 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or a digit)";
  }
  throw ScenarioError(fmt::format("{}: at {}: {}", path, pointer, problem));
}

constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kI64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

uint32_t u32(const nlohmann::json& object, const JsonPlace& at, const char* key, uint32_t fallback) {
  const nlohmann::json* value = find_member(object, at, key);
  return value ? static_cast<uint32_t>(read_unsigned(*value, at / key, kU32)) : fallback;
}

uint64_t u64(const nlohmann::json& object, const JsonPlace& at, const char* key, uint64_t fallback, uint64_t max) {
  const nlohmann::json* value = find_member(object, at, key);
  return value ? read_unsigned(*value, at / key, max) : fallback;
}

std::string text(const nlohmann::json& object, const JsonPlace& at, const char* key, const std::string& fallback) {
  const nlohmann::json* value = find_member(object, at, key);
  return value ? read_string(*value, at / key) : fallback;
}

bool flag(const nlohmann::json& object, const JsonPlace& at, const char* key, bool fallback) {
  const nlohmann::json* value = find_member(object, at, key);
  return value ? read_bool(*value, at / key) : fallback;
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
  static const std::pair<const char*, UserOp> kOps[] = {{"wait_device", UserOp::kWaitDevice},
                                                        {"open", UserOp::kOpen},
                                                        {"create_dumb", UserOp::kCreateDumb},
                                                        {"mmap", UserOp::kMmap},
                                                        {"touch", UserOp::kTouch},
                                                        {"munmap", UserOp::kMunmap},
                                                        {"add_fb", UserOp::kAddFb},
                                                        {"rm_fb", UserOp::kRmFb},
                                                        {"commit", UserOp::kCommit},
                                                        {"flip", UserOp::kFlip},
                                                        {"disable", UserOp::kDisable},
                                                        {"wait_flip", UserOp::kWaitFlip},
                                                        {"wait_uevent", UserOp::kWaitUevent},
                                                        {"gem_close", UserOp::kGemClose},
                                                        {"close", UserOp::kClose},
                                                        {"sleep", UserOp::kSleep},
                                                        {"wait_open", UserOp::kWaitOpen},
                                                        {"prime_export", UserOp::kPrimeExport},
                                                        {"prime_import", UserOp::kPrimeImport},
                                                        {"dmabuf_close", UserOp::kDmabufClose},
                                                        {"dmabuf_pass", UserOp::kDmabufPass},
                                                        {"dmabuf_recv", UserOp::kDmabufRecv},
                                                        {"dmabuf_mmap", UserOp::kDmabufMmap},
                                                        {"dmabuf_vmap", UserOp::kDmabufVmap},
                                                        {"dmabuf_read", UserOp::kDmabufRead},
                                                        {"dmabuf_vunmap", UserOp::kDmabufVunmap},
                                                        {"dma_heap_alloc", UserOp::kDmaHeapAlloc}};
  for (const auto& [name, kind] : kOps) {
    if (op == name) return kind;
  }
  throw ScenarioError(fmt::format("unknown op '{}'", op));
}

UserStep parse_step(const nlohmann::json& j, const JsonPlace& at) {
  UserStep step;
  step.op = read_string(need_member(j, at, "op"), at / "op");
  try {
    step.kind = parse_op(step.op);
  } catch (const ScenarioError& e) {
    (at / "op").fail(e.what());
  }
  step.as = text(j, at, "as", "");
  step.buffer = text(j, at, "buffer", "");
  step.fb = text(j, at, "fb", "");
  step.action = text(j, at, "action", "");
  step.dmabuf = text(j, at, "dmabuf", "");
  step.to = text(j, at, "to", "");
  if (j.contains("handle")) step.handle = u32(j, at, "handle", 0);
  if (j.contains("fb_id")) step.fb_id = u32(j, at, "fb_id", 0);
  step.width = u32(j, at, "width", 0);
  step.height = u32(j, at, "height", 0);
  step.bpp = u32(j, at, "bpp", 32);
  step.page = u32(j, at, "page", 0);
  step.pipe = u32(j, at, "pipe", 0);
  if (const nlohmann::json* mode = find_member(j, at, "mode")) {
    read_object(*mode, at / "mode");
    step.mode = std::make_pair(
        static_cast<uint32_t>(read_unsigned(need_member(*mode, at / "mode", "width"), at / "mode" / "width", kU32)),
        static_cast<uint32_t>(read_unsigned(need_member(*mode, at / "mode", "height"), at / "mode" / "height", kU32)));
  }
  // Beyond the schema's maxima (derived documents skip it), still in range
  // of the virtual clock's arithmetic.
  if (j.contains("bound_ms")) step.bound_ms = static_cast<int64_t>(u64(j, at, "bound_ms", 0, kI64));
  step.ms = u64(j, at, "ms", 0, kI64);
  if (j.contains("until_ms")) step.until_ms = u64(j, at, "until_ms", 0, kI64);
  return step;
}

// What the schema cannot say: names must refer to something defined earlier.
void check_meaning(const Scenario& s, const std::string& path) {
  std::set<std::string> actor_names;
  for (size_t a = 0; a < s.actors.size(); ++a) {
    const Actor& actor = s.actors[a];
    const std::string where = fmt::format("{}: at /actors/{}", path, a);
    if (!actor_names.insert(actor.name).second)
      throw ScenarioError(fmt::format("{}/name: duplicate actor name '{}'", where, actor.name));
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
      if (step.op == "create_dumb")
        need(!step.as.empty() && step.width > 0 && step.height > 0, "\"as\", \"width\" and \"height\"");
      if (step.op == "mmap" || step.op == "touch" || step.op == "munmap") need(!step.buffer.empty(), "\"buffer\"");
      if (step.op == "add_fb") need(!step.buffer.empty() && !step.as.empty(), "\"buffer\" and \"as\"");
      if (step.op == "rm_fb") need(!step.fb.empty(), "\"fb\"");
      if (step.op == "flip") need(!step.fb.empty() || step.fb_id.has_value(), "\"fb\" or \"fb_id\"");
      if (step.op == "commit")
        need(!step.fb.empty() || step.fb_id.has_value(), "\"fb\" or \"fb_id\" (and optionally \"mode\")");
      if (step.op == "gem_close") need(!step.buffer.empty() || step.handle.has_value(), "\"buffer\" or \"handle\"");
      if (step.op == "wait_uevent") need(!step.action.empty(), "\"action\"");
      if (step.op == "prime_export") need(!step.buffer.empty() && !step.as.empty(), "\"buffer\" and \"as\"");
      if (step.op == "prime_import" || step.op == "dmabuf_mmap" || step.op == "dmabuf_vmap")
        need(!step.dmabuf.empty() && !step.as.empty(), "\"dmabuf\" and \"as\"");
      if (step.op == "dmabuf_close") need(!step.dmabuf.empty(), "\"dmabuf\"");
      if (step.op == "dmabuf_pass") need(!step.dmabuf.empty() && !step.to.empty(), "\"dmabuf\" and \"to\"");
      if (step.op == "dmabuf_recv") need(!step.as.empty(), "\"as\"");
      if (step.op == "dmabuf_read" || step.op == "dmabuf_vunmap") need(!step.buffer.empty(), "\"buffer\"");
      if (step.op == "dma_heap_alloc")
        need(!step.as.empty() && step.width > 0 && step.height > 0, "\"as\", \"width\" and \"height\"");
      if (step.pipe >= s.connectors.size() && (step.op == "commit" || step.op == "flip" || step.op == "disable")) {
        throw ScenarioError(
            fmt::format("{}/pipe: pipe {} but only {} connector(s) configured", at, step.pipe, s.connectors.size()));
      }
    }
  }
  // dmabuf_pass sends to a process: an actor that is not a thread of another.
  for (size_t a = 0; a < s.actors.size(); ++a) {
    for (size_t i = 0; i < s.actors[a].steps.size(); ++i) {
      const UserStep& step = s.actors[a].steps[i];
      if (step.to.empty()) continue;
      const auto target =
          std::find_if(s.actors.begin(), s.actors.end(), [&step](const Actor& actor) { return actor.name == step.to; });
      if (target == s.actors.end() || !target->thread_of.empty()) {
        throw ScenarioError(
            fmt::format("{}: at /actors/{}/steps/{}/to: no process named '{}' (an actor that is "
                        "not a thread_of another)",
                        path, a, i, step.to));
      }
    }
  }
  if (!driver::find_variant(s.variant)) {
    throw ScenarioError(fmt::format("{}: at /variant: unknown variant '{}' (see `xfsim variants`)", path, s.variant));
  }
  // A verdict is "clean", an oracle's kind or an inconclusive end: a typo
  // would make a scenario that can never pass (or, worse, one that a
  // mistaken kind keeps passing).
  auto check_verdict = [&](const std::string& verdict, const std::string& where) {
    if (verdict == "clean" || verdict == "step-limit" || verdict == "time-limit" || is_oracle_kind(verdict)) return;
    throw ScenarioError(
        fmt::format("{}: at {}: unknown verdict '{}' (\"clean\", \"step-limit\", \"time-limit\" or a kind "
                    "from `xfsim oracles`)",
                    path, where, verdict));
  };
  check_verdict(s.expect_verdict, "/expect/verdict");
  for (const auto& [variant, verdict] : s.expect_by_variant) {
    if (!driver::find_variant(variant)) {
      throw ScenarioError(fmt::format("{}: at /expect/by_variant/{}: unknown variant", path, variant));
    }
    check_verdict(verdict, "/expect/by_variant/" + variant);
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

JsonPlace JsonPlace::operator/(const std::string& key) const {
  std::string escaped;
  for (char c : key) {
    if (c == '~')
      escaped += "~0";
    else if (c == '/')
      escaped += "~1";
    else
      escaped += c;
  }
  return JsonPlace{file, pointer + "/" + escaped};
}

JsonPlace JsonPlace::operator/(size_t index) const { return JsonPlace{file, pointer + "/" + std::to_string(index)}; }

void JsonPlace::fail(const std::string& problem) const {
  throw ScenarioError(fmt::format("{}: at {}: {}", file, pointer.empty() ? "/" : pointer, problem));
}

namespace {
const char* type_of(const nlohmann::json& value) {
  if (value.is_number_integer())
    return value.is_number_unsigned() || value.get<int64_t>() >= 0 ? "an integer" : "a negative integer";
  if (value.is_number_float()) return "a fractional number";
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  if (value.is_null()) return "null";
  return value.type_name();
}
}  // namespace

uint64_t read_unsigned(const nlohmann::json& value, const JsonPlace& at, uint64_t max) {
  const bool in_range = value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
  if (!in_range || value.get<uint64_t>() > max) {
    at.fail(fmt::format("expected an integer from 0 to {}, found {}{}", max, type_of(value),
                        value.is_number_integer() ? " " + value.dump() : ""));
  }
  return value.get<uint64_t>();
}

int64_t read_signed(const nlohmann::json& value, const JsonPlace& at, int64_t min, int64_t max) {
  bool ok = false;
  if (value.is_number_unsigned())
    ok = value.get<uint64_t>() <= static_cast<uint64_t>(max) && max >= 0 && min <= 0;
  else if (value.is_number_integer())
    ok = value.get<int64_t>() >= min && value.get<int64_t>() <= max;
  if (ok && value.is_number_unsigned()) ok = static_cast<int64_t>(value.get<uint64_t>()) >= min;
  if (!ok) {
    at.fail(fmt::format("expected an integer from {} to {}, found {}{}", min, max, type_of(value),
                        value.is_number_integer() ? " " + value.dump() : ""));
  }
  return value.get<int64_t>();
}

std::string read_string(const nlohmann::json& value, const JsonPlace& at) {
  if (!value.is_string()) at.fail(fmt::format("expected a string, found {}", type_of(value)));
  return value.get<std::string>();
}

bool read_bool(const nlohmann::json& value, const JsonPlace& at) {
  if (!value.is_boolean()) at.fail(fmt::format("expected a boolean, found {}", type_of(value)));
  return value.get<bool>();
}

const nlohmann::json& read_object(const nlohmann::json& value, const JsonPlace& at) {
  if (!value.is_object()) at.fail(fmt::format("expected an object, found {}", type_of(value)));
  return value;
}

const nlohmann::json& read_array(const nlohmann::json& value, const JsonPlace& at) {
  if (!value.is_array()) at.fail(fmt::format("expected an array, found {}", type_of(value)));
  return value;
}

const nlohmann::json* find_member(const nlohmann::json& object, const JsonPlace& at, const char* key) {
  read_object(object, at);
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const nlohmann::json& need_member(const nlohmann::json& object, const JsonPlace& at, const char* key) {
  const nlohmann::json* value = find_member(object, at, key);
  if (!value) at.fail(fmt::format("missing \"{}\"", key));
  return *value;
}

std::optional<uint64_t> parse_decimal(const std::string& text, uint64_t min, uint64_t max) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (value < min || value > max) return std::nullopt;
  return value;
}

std::string file_stem(const std::string& text, size_t max_length) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max_length) break;
    const bool safe = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    out += safe && !(out.empty() && (c == '.' || c == '-')) ? c : '_';
  }
  return out.empty() ? std::string("unnamed") : out;
}

std::string read_file(const std::string& path, uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO does not wait for a writer; it is refused
  // below like every file that is not a regular one.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw ScenarioError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw ScenarioError(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw ScenarioError(fmt::format("{}: is a directory, not a file", path));
  if (!S_ISREG(st.st_mode)) {
    const char* kind = S_ISFIFO(st.st_mode)   ? "a FIFO"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    throw ScenarioError(fmt::format("{}: is {}; only regular files are read", path, kind));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    throw ScenarioError(fmt::format("{}: {} bytes, over the limit of {} MiB", path, st.st_size, max_bytes >> 20));
  }
  std::string out;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ScenarioError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > max_bytes) throw ScenarioError(fmt::format("{}: over the limit of {} MiB", path, max_bytes >> 20));
  }
  return out;
}

namespace {

// "<path>:<line>:<column>" of a position in `text` (1-based; `line0` > 0:
// the text is line `line0` of the file).
std::string place_of(const std::string& path, size_t line0, size_t line, size_t column) {
  return fmt::format("{}:{}:{}", path, line0 > 0 ? line0 + line - 1 : line, column);
}

std::string place_of_byte(const std::string& text, const std::string& path, size_t line0, size_t index) {
  index = std::min(index, text.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < index; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return place_of(path, line0, line, index - line_start + 1);
}

// Before any parsing: NUL bytes (nlohmann's lexer would take one for the end
// of the input) and nesting depth (deep documents overflow the stack of
// every recursive walk: copy, destruction, validation).
void prescan(const std::string& text, const std::string& path, size_t line0) {
  size_t depth = 0;
  bool in_string = false, escape = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\0')
      throw ScenarioError(fmt::format("{}: malformed JSON: NUL byte", place_of_byte(text, path, line0, i)));
    if (in_string) {
      if (escape)
        escape = false;
      else if (c == '\\')
        escape = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        throw ScenarioError(
            fmt::format("{}: nested deeper than {} levels", place_of_byte(text, path, line0, i), kMaxJsonDepth));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

// Builds the document like nlohmann's own DOM parser, and refuses a key
// that appears twice in one object.
class StrictBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  StrictBuilder(const std::string& text, const std::string& path, size_t line0)
      : text_(text), path_(path), line0_(line0) {}
  nlohmann::json root;
  std::string error;

  bool null() override { return value(nullptr); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(number_integer_t v) override { return value(v); }
  bool number_unsigned(number_unsigned_t v) override { return value(v); }
  bool number_float(number_float_t v, const string_t&) override { return value(v); }
  bool string(string_t& v) override { return value(std::move(v)); }
  bool binary(binary_t& v) override { return value(nlohmann::json::binary(std::move(v))); }
  bool start_object(std::size_t) override { return open(nlohmann::json::object()); }
  bool start_array(std::size_t) override { return open(nlohmann::json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    nlohmann::json& object = *stack_.back().container;
    const JsonPlace at = place() / k;
    if (object.contains(k)) {
      error =
          fmt::format("{}: at {}: duplicate key \"{}\" (a key may appear once in an object)", where(), at.pointer, k);
      return false;
    }
    stack_.back().key = k;
    slot_ = &object[k];
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 4: syntax error ..." -> "syntax error ..."
    if (const auto close = what.find("] "); what.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
      what = what.substr(close + 2);
    if (what.rfind("parse error", 0) == 0) {
      if (const auto colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
    }
    error = fmt::format("{}: malformed JSON: {}", place_of_byte(text_, path_, line0_, position > 0 ? position - 1 : 0),
                        what);
    return false;
  }

 private:
  struct Level {
    nlohmann::json* container;
    std::string key;  // objects: the member being read
  };

  std::string where() const { return line0_ > 0 ? fmt::format("{}:{}", path_, line0_) : path_; }
  JsonPlace place() const {
    JsonPlace at{path_, ""};
    for (const Level& level : stack_) {
      if (&level == &stack_.back()) break;
      at = level.container->is_array() ? at / (level.container->size() - 1) : at / level.key;
    }
    return at;
  }
  nlohmann::json* put(nlohmann::json&& v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    nlohmann::json& container = *stack_.back().container;
    if (container.is_array()) {
      container.push_back(std::move(v));
      return &container.back();
    }
    *slot_ = std::move(v);
    return slot_;
  }
  bool value(nlohmann::json&& v) {
    put(std::move(v));
    return true;
  }
  bool open(nlohmann::json&& v) {
    stack_.push_back(Level{put(std::move(v)), {}});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  const std::string& text_;
  const std::string& path_;
  size_t line0_;
  std::vector<Level> stack_;
  nlohmann::json* slot_ = nullptr;
};

}  // namespace

nlohmann::json parse_json_text(const std::string& text, const std::string& path, size_t line) {
  prescan(text, path, line);
  StrictBuilder builder(text, path, line);
  const bool ok = nlohmann::json::sax_parse(text, &builder, nlohmann::json::input_format_t::json, /*strict=*/true,
                                            /*ignore_comments=*/false);
  if (!ok) throw ScenarioError(builder.error.empty() ? fmt::format("{}: malformed JSON", path) : builder.error);
  return std::move(builder.root);
}

namespace {

// Every element of a JSON array, in order, each read by `read_one(element,
// its place)`: one loop for every list a scenario has.
template <typename ReadOne>
auto read_each(const nlohmann::json& array, const JsonPlace& at, ReadOne read_one) {
  std::vector<decltype(read_one(array, at))> out;
  for (size_t i = 0; i < read_array(array, at).size(); ++i) out.push_back(read_one(array[i], at / i));
  return out;
}

std::pair<uint32_t, uint32_t> parse_connector(const nlohmann::json& connector, const JsonPlace& at) {
  return {static_cast<uint32_t>(read_unsigned(need_member(connector, at, "width"), at / "width", kU32)),
          static_cast<uint32_t>(read_unsigned(need_member(connector, at, "height"), at / "height", kU32))};
}

fakes::BackendAnswer parse_answer(const nlohmann::json& answer, const JsonPlace& at) {
  fakes::BackendAnswer a;
  const nlohmann::json* status = find_member(answer, at, "status");
  a.status = status ? static_cast<int32_t>(read_signed(*status, at / "status", -4095, 4095)) : 0;
  a.latency_ms = u64(answer, at, "latency_ms", 1, kI64);
  a.drop = flag(answer, at, "drop", false);
  if (const nlohmann::json* misbehave = find_member(answer, at, "misbehave")) {
    const std::string name = read_string(*misbehave, at / "misbehave");
    const std::optional<fakes::Misbehaviour> m = fakes::misbehaviour_named(name);
    if (!m) (at / "misbehave").fail(fmt::format("unknown misbehaviour '{}'", name));
    a.misbehave = *m;
  }
  return a;
}

// "when": {"frontend": "Initialised"} or {"backend": "Closing"}.
std::optional<fakes::StateTrigger> parse_when(const nlohmann::json& action, const JsonPlace& at) {
  const nlohmann::json* when = find_member(action, at, "when");
  if (when == nullptr) return std::nullopt;
  const JsonPlace when_at = at / "when";
  if (read_object(*when, when_at).size() != 1) when_at.fail("name one side: \"frontend\" or \"backend\"");
  // An iterator of the object itself: items() is a temporary proxy.
  const auto member = when->begin();
  const std::string side = member.key();
  const nlohmann::json& state_name = member.value();
  if (side != "frontend" && side != "backend") (when_at / side).fail("a side is \"frontend\" or \"backend\"");
  const std::string name = read_string(state_name, when_at / side);
  const std::optional<fakes::XenbusState> state = fakes::xenbus_state_named(name);
  if (!state) (when_at / side).fail(fmt::format("unknown xenbus state '{}'", name));
  return fakes::StateTrigger{side == "frontend", *state};
}

fakes::BackendAction parse_backend_action(const nlohmann::json& step, const JsonPlace& at) {
  fakes::BackendAction action;
  action.at_ms = read_unsigned(need_member(step, at, "at_ms"), at / "at_ms", kI64);
  action.kind = action_kind(read_string(need_member(step, at, "action"), at / "action"));
  action.reconnect = flag(step, at, "reconnect", true);
  action.when = parse_when(step, at);
  return action;
}

HostAction parse_host_action(const nlohmann::json& action, const JsonPlace& at) {
  return HostAction{read_unsigned(need_member(action, at, "at_ms"), at / "at_ms", kI64),
                    read_string(need_member(action, at, "action"), at / "action"), parse_when(action, at)};
}

Actor parse_actor(const nlohmann::json& a, const JsonPlace& at) {
  Actor actor;
  actor.name = read_string(need_member(a, at, "name"), at / "name");
  actor.thread_of = text(a, at, "thread_of", "");
  actor.die_on_sigbus = text(a, at, "on_sigbus", "die") == "die";
  actor.steps = read_each(need_member(a, at, "steps"), at / "steps", parse_step);
  return actor;
}

// One function per block of the document. parse_scenario calls them in a
// fixed order: of several errors in a document, the first met is reported.
void parse_config(const nlohmann::json& config, const JsonPlace& at, Scenario& s) {
  if (const nlohmann::json* connectors = find_member(config, at, "connectors"))
    s.connectors = read_each(*connectors, at / "connectors", parse_connector);
  s.be_alloc = flag(config, at, "be_alloc", false);
}

fakes::BackendConfig parse_backend(const nlohmann::json& backend, const JsonPlace& at) {
  fakes::BackendConfig config;
  if (const nlohmann::json* answers = find_member(backend, at, "answers")) {
    for (const auto& [op_name, answer] : read_object(*answers, at / "answers").items()) {
      const JsonPlace a_at = at / "answers" / op_name;
      fakes::DisplifOp op;
      if (!fakes::displif_op_from_name(op_name, op)) a_at.fail(fmt::format("unknown displif operation '{}'", op_name));
      config.answers[op] = parse_answer(answer, a_at);
    }
  }
  config.flip_event_latency_ms = u64(backend, at, "flip_event_latency_ms", 16, kI64);
  if (const nlohmann::json* script = find_member(backend, at, "script"))
    config.script = read_each(*script, at / "script", parse_backend_action);
  return config;
}

// "core": {"version": "X.Y", <switch>: bool, ...}: the version's switches
// (CoreConfig::for_version), then each named switch as given.
fakes::CoreConfig parse_core(const nlohmann::json& core, const JsonPlace& at) {
  fakes::CoreConfig config;
  if (const nlohmann::json* version = find_member(core, at, "version")) {
    const std::string text = read_string(*version, at / "version");
    const size_t dot = text.find('.');
    const std::optional<uint64_t> major =
        dot == std::string::npos ? std::nullopt : parse_decimal(text.substr(0, dot), 2, 6);
    const std::optional<uint64_t> minor =
        dot == std::string::npos ? std::nullopt : parse_decimal(text.substr(dot + 1), 0, 99);
    if (!major || !minor) (at / "version").fail(fmt::format("'{}' is not a kernel version MAJOR.MINOR", text));
    config = fakes::CoreConfig::for_version(static_cast<uint32_t>(*major), static_cast<uint32_t>(*minor));
  }
  config.drm_dev_unplug_unmaps = flag(core, at, "drm_dev_unplug_unmaps", config.drm_dev_unplug_unmaps);
  config.gnttab_deferred_end_holds_page =
      flag(core, at, "gnttab_deferred_end_holds_page", config.gnttab_deferred_end_holds_page);
  return config;
}

Schedule parse_schedule(const nlohmann::json& sch, const JsonPlace& at) {
  Schedule schedule;
  schedule.strategy = text(sch, at, "strategy", "random");
  schedule.seed = u64(sch, at, "seed", 1, kMaxSeed);
  schedule.schedules = u64(sch, at, "schedules", 1, kI64);
  schedule.depth = u32(sch, at, "depth", 3u);
  schedule.preemption_bound = u32(sch, at, "preemption_bound", 2u);
  schedule.sleep_sets = flag(sch, at, "sleep_sets", false);
  schedule.fault_bound = u32(sch, at, "fault_bound", 0u);
  schedule.any_instant = flag(sch, at, "any_instant", false);
  schedule.hostile_backend = flag(sch, at, "hostile_backend", false);
  schedule.steps_max = u64(sch, at, "steps_max", 100000, kI64);
  if (const nlohmann::json* decisions = find_member(sch, at, "decisions")) {
    schedule.decisions = read_each(*decisions, at / "decisions", [](const nlohmann::json& task, const JsonPlace& p) {
      return static_cast<uint32_t>(read_unsigned(task, p, kU32));
    });
  }
  if (schedule.strategy == "replay" && !sch.contains("decisions")) at.fail("strategy \"replay\" needs \"decisions\"");
  return schedule;
}

sim::ScriptedFault parse_fault(const nlohmann::json& fault, const JsonPlace& at) {
  read_object(fault, at);
  sim::ScriptedFault scripted;
  scripted.site = read_string(need_member(fault, at, "site"), at / "site");
  const sim::FaultSite* site = find_fault_site(scripted.site);
  if (site == nullptr) (at / "site").fail(fmt::format("unknown fault site '{}' (see `xfsim sites`)", scripted.site));
  scripted.nth = u32(fault, at, "nth", 1u);
  if (scripted.nth == 0) (at / "nth").fail("occurrences count from 1");
  scripted.error =
      static_cast<int>(fault.contains("error") ? read_signed(fault["error"], at / "error", -4095, -1) : site->error);
  return scripted;
}

void parse_expect(const nlohmann::json& expect, const JsonPlace& at, Scenario& s) {
  s.expect_verdict = read_string(need_member(expect, at, "verdict"), at / "verdict");
  if (const nlohmann::json* by_variant = find_member(expect, at, "by_variant")) {
    for (const auto& [variant, verdict] : read_object(*by_variant, at / "by_variant").items())
      s.expect_by_variant[variant] = read_string(verdict, at / "by_variant" / variant);
  }
  if (const nlohmann::json* signature = find_member(expect, at, "signature")) {
    s.expect_signature = read_string(*signature, at / "signature");
  }
  if (const nlohmann::json* site = find_member(expect, at, "site")) {
    s.expect_site = read_string(*site, at / "site");
    if (s.expect_site.empty()) (at / "site").fail("must name a kernel function");
  }
  if (const nlohmann::json* log = find_member(expect, at, "log")) {
    const JsonPlace log_at = at / "log";
    read_object(*log, log_at);
    if (const nlohmann::json* require = find_member(*log, log_at, "require"))
      s.log_require = read_each(*require, log_at / "require", read_string);
    if (const nlohmann::json* forbid = find_member(*log, log_at, "forbid"))
      s.log_forbid = read_each(*forbid, log_at / "forbid", read_string);
    for (const auto& text : s.log_require) {
      if (text.empty()) (log_at / "require").fail("an empty line is in every log");
    }
    for (const auto& text : s.log_forbid) {
      if (text.empty()) (log_at / "forbid").fail("an empty line is in every log");
    }
  }
  for (const bool stop : {true, false}) {
    const char* key = stop ? "stop_on" : "ignore";
    const nlohmann::json* list = find_member(expect, at, key);
    if (list == nullptr) continue;
    const JsonPlace list_at = at / key;
    const std::vector<std::string> kinds = read_each(*list, list_at, read_string);
    if (stop) {
      s.report_policy.stop_on.clear();
      s.report_policy.stop_on_memory_errors = false;
    }
    apply_kinds(s.report_policy, kinds, stop, fmt::format("{}: at {}", list_at.file, list_at.pointer));
  }
}

}  // namespace

Scenario parse_scenario(const nlohmann::json& document, const std::string& path, bool validate_schema) {
  if (validate_schema) validate(document, path);
  // Without the schema (or past it), every read still checks its type and
  // range: a wrong document is a ScenarioError naming its place.
  const JsonPlace root{path, ""};
  read_object(document, root);
  Scenario s;
  s.path = path;
  s.source = document;
  s.name = read_string(need_member(document, root, "name"), root / "name");
  s.description = text(document, root, "description", "");
  s.variant = text(document, root, "variant", "correct");
  if (const nlohmann::json* config = find_member(document, root, "config")) parse_config(*config, root / "config", s);
  if (const nlohmann::json* backend = find_member(document, root, "backend"))
    s.backend = parse_backend(*backend, root / "backend");
  if (const nlohmann::json* core = find_member(document, root, "core")) s.core = parse_core(*core, root / "core");
  if (const nlohmann::json* host = find_member(document, root, "host"))
    s.host = read_each(*host, root / "host", parse_host_action);
  s.actors = read_each(need_member(document, root, "actors"), root / "actors", parse_actor);
  if (const nlohmann::json* faults = find_member(document, root, "faults"))
    s.faults = read_each(*faults, root / "faults", parse_fault);
  if (const nlohmann::json* schedule = find_member(document, root, "schedule"))
    s.schedule = parse_schedule(*schedule, root / "schedule");
  parse_expect(need_member(document, root, "expect"), root / "expect", s);
  check_meaning(s, path);
  return s;
}

void apply_kinds(sim::ReportPolicy& policy, const std::vector<std::string>& kinds, bool stop,
                 const std::string& where) {
  for (const std::string& kind : kinds) {
    if (stop && kind == "all") {
      policy.stop_on_all = true;
      continue;
    }
    if (stop && kind == "memory") {
      policy.stop_on_memory_errors = true;
      continue;
    }
    if (!is_oracle_kind(kind)) {
      throw ScenarioError(fmt::format("{}: unknown violation kind '{}' (see `xfsim oracles`{})", where, kind,
                                      stop ? "; or \"all\", \"memory\"" : ""));
    }
    (stop ? policy.stop_on : policy.ignore).push_back(kind);
  }
}

Scenario load_scenario(const std::string& path) { return parse_scenario(parse_json_text(read_file(path), path), path); }

}  // namespace xfsim::harness
