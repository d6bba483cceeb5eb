// Hostile input and output (issue 9, section 4): mutated scenarios and traces
// either load or are refused with a ScenarioError naming the file, never
// another exception, a crash or a hang; one plain case per reproducer class
// (F-numbers of ../shared/repro/reliability/); the command line's exit codes.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "driver_core/variant.h"
#include "harness/scenario.h"
#include "harness/trace_file.h"
#include "harness/world.h"
#include "sim/random_strategy.h"

namespace xfsim::harness {
namespace {

namespace fs = std::filesystem;

// RapidCheck reads its configuration once, on first use: a fixed seed keeps
// the test deterministic.
const bool kConfigured = [] {
  setenv("RC_PARAMS", "max_success=400 max_size=100 seed=20261129", /*overwrite=*/0);
  return true;
}();

std::string scratch(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return (fs::path(dir ? dir : "/tmp") / name).string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void put(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// A recorded trace of the smoke scenario (one random schedule).
const std::string& recorded_trace() {
  static const std::string text = [] {
    const Scenario s = load_scenario("scenarios/smoke/clean.json");
    sim::RandomStrategy strategy(1);
    strategy.begin_schedule(0);
    sim::Trace trace;
    const RunResult result = run_once(s, *driver::find_variant("correct"), strategy, trace);
    return render_trace(s, TraceOrigin{"correct", "random", 1, 0}, trace, result);
  }();
  return text;
}

const std::vector<std::string>& seeds() {
  static const std::vector<std::string> texts{slurp("scenarios/smoke/clean.json"),
                                              slurp("scenarios/lifecycle/standard.json"),
                                              slurp("scenarios/bugs/publish_before_construct.json")};
  return texts;
}

// What loading a scenario or a trace file can do: succeed, or throw a
// ScenarioError whose message starts with the file name. Anything else is
// returned as a failure description.
std::string load_outcome(const std::string& path, bool trace) {
  try {
    if (trace) {
      const TraceFile file = read_trace_file(path);
      parse_scenario(file.scenario, path + " (embedded scenario)");
    } else {
      load_scenario(path);
    }
    return "";
  } catch (const ScenarioError& e) {
    const std::string message = e.what();
    return message.rfind(path, 0) == 0 ? "" : "ScenarioError not naming the file first: " + message;
  } catch (const std::exception& e) {
    return std::string("not a ScenarioError: ") + e.what();
  }
}

// Textual mutations of a JSON document (or a JSON-lines trace), one
// function each; mutate() draws one.
size_t position_in(const std::string& text) { return *rc::gen::inRange<size_t>(0, text.size() + 1); }

std::string flip_bytes(std::string text) {
  const int flips = *rc::gen::inRange(1, 4);
  for (int i = 0; i < flips && !text.empty(); ++i) {
    text[*rc::gen::inRange<size_t>(0, text.size())] ^= static_cast<char>(*rc::gen::inRange(1, 256));
  }
  return text;
}

std::string cut_short(std::string text) { return text.substr(0, position_in(text)); }

// Deep nesting, balanced or not, anywhere.
std::string nest_deeply(std::string text) {
  const size_t depth = *rc::gen::element<size_t>(63, 64, 65, 1000, 200000);
  const size_t where = position_in(text);
  const std::string closing = *rc::gen::arbitrary<bool>() ? std::string(depth, ']') : "";
  return text.substr(0, where) + std::string(depth, '[') + closing + text.substr(where);
}

// A number replaced by a huge (or negative, or fractional) one.
std::string replace_number(std::string text) {
  const size_t from = text.find_first_of("0123456789", position_in(text));
  if (from == std::string::npos) return text;
  const size_t to = text.find_first_not_of("0123456789", from);
  const std::string number = *rc::gen::element<std::string>(
      "18446744073709551615", "18446744073709551616", "9223372036854775807", "9223372036854775808", "4294967295",
      "4294967296", "1000000001", "99999999999999999999999", "1e400", "-1", "-9223372036854775809", "1.5", "0");
  return text.substr(0, from) + number + (to == std::string::npos ? "" : text.substr(to));
}

// NUL bytes, and sometimes garbage after them.
std::string insert_nul(std::string text) {
  const size_t where = position_in(text);
  return text.substr(0, where) + std::string(1, '\0') + (*rc::gen::arbitrary<bool>() ? "garbage" : "") +
         text.substr(where);
}

// A duplicate (or unknown) key in some object.
std::string add_key(std::string text) {
  const size_t brace = text.find('{', position_in(text));
  if (brace == std::string::npos) return text;
  const std::string key = *rc::gen::element<std::string>("name", "format", "variant", "op", "verdict", "seed", "at_ms",
                                                         "bound_ms", "task_id", "step", "scenario", "xfsim_trace");
  const std::string value = *rc::gen::element<std::string>("1", "\"x\"", "true", "null", "{}", "[]");
  return text.substr(0, brace + 1) + "\"" + key + "\": " + value + ", " + text.substr(brace + 1);
}

// A value's type swapped.
std::string swap_type(std::string text) {
  const size_t size = text.size();
  const size_t colon = text.find(':', position_in(text));
  if (colon == std::string::npos) return text;
  size_t end = colon + 1;
  while (end < size && text[end] == ' ') ++end;
  if (end < size && text[end] == '"') {
    const size_t close = text.find('"', end + 1);
    end = close == std::string::npos ? size : close + 1;
  } else {
    end = text.find_first_of(",}]\n", end);
    if (end == std::string::npos) end = size;
  }
  const std::string value =
      *rc::gen::element<std::string>("\"7\"", "7", "-7", "true", "null", "[]", "{}", "[1, 2]", "{\"a\": 1}", "0.5");
  return text.substr(0, colon + 1) + " " + value + text.substr(end);
}

std::string add_trailing_garbage(std::string text) {
  return text + *rc::gen::element<std::string>("x", "{}", "\n{\"verdict\": \"clean\"}", "   \n", "\n\n]");
}

// A line (or a whitespace-only line) inserted or removed.
std::string edit_line(std::string text) {
  const size_t newline = text.find('\n', position_in(text));
  if (newline == std::string::npos) return text;
  if (*rc::gen::arbitrary<bool>()) return text.substr(0, newline + 1) + "   " + text.substr(newline);
  const size_t next = text.find('\n', newline + 1);
  return text.substr(0, newline) + (next == std::string::npos ? "" : text.substr(next));
}

std::string insert_byte(std::string text) {
  const size_t where = position_in(text);
  return text.substr(0, where) + std::string(1, static_cast<char>(*rc::gen::inRange(0, 256))) + text.substr(where);
}

std::string mutate(std::string text) {
  static constexpr std::string (*kMutations[])(std::string) = {
      flip_bytes, cut_short, nest_deeply,          replace_number, insert_nul,
      add_key,    swap_type, add_trailing_garbage, edit_line,      insert_byte};
  return kMutations[*rc::gen::inRange(0, 10)](std::move(text));
}

RC_GTEST_PROP(InputFuzz, MutatedScenariosLoadOrAreRefusedNamingTheFile, ()) {
  std::string text = *rc::gen::elementOf(seeds());
  const int mutations = *rc::gen::inRange(1, 4);
  for (int i = 0; i < mutations; ++i) text = mutate(text);
  const std::string path = scratch("mutant.json");
  put(path, text);
  const std::string failure = load_outcome(path, /*trace=*/false);
  RC_ASSERT(failure == std::string());
}

RC_GTEST_PROP(InputFuzz, MutatedTracesLoadOrAreRefusedNamingTheFile, ()) {
  std::string text = recorded_trace();
  const int mutations = *rc::gen::inRange(1, 4);
  for (int i = 0; i < mutations; ++i) text = mutate(text);
  const std::string path = scratch("mutant.trace.jsonl");
  put(path, text);
  const std::string failure = load_outcome(path, /*trace=*/true);
  RC_ASSERT(failure == std::string());
}

TEST(InputFuzz, TheUnmutatedInputsLoad) {
  for (size_t i = 0; i < seeds().size(); ++i) {
    const std::string path = scratch("seed.json");
    put(path, seeds()[i]);
    EXPECT_NO_THROW(load_scenario(path));
  }
  const std::string path = scratch("seed.trace.jsonl");
  put(path, recorded_trace());
  EXPECT_NO_THROW(read_trace_file(path));
}

// --- One case per reproducer class -----------------------------------------

// The message of the ScenarioError that `load` throws ("" if none).
template <typename F>
std::string refusal(F load) {
  try {
    load();
  } catch (const ScenarioError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("NOT A ScenarioError: ") + e.what();
  }
  return "";
}

std::string refusal_of_scenario(const std::string& name, const std::string& text) {
  const std::string path = scratch(name);
  put(path, text);
  return refusal([&] { load_scenario(path); });
}

std::string refusal_of_trace(const std::string& name, const std::string& text) {
  const std::string path = scratch(name);
  put(path, text);
  return refusal([&] {
    const TraceFile file = read_trace_file(path);
    parse_scenario(file.scenario, path + " (embedded scenario)");
  });
}

// The smoke scenario with `from` replaced by `to` (once).
std::string smoke_with(const std::string& from, const std::string& to) {
  std::string text = seeds()[0];
  const size_t at = text.find(from);
  if (at == std::string::npos) return "NOT FOUND: " + from;
  return text.replace(at, from.size(), to);
}

// The recorded trace with line `n` (1-based) replaced by `line` ("": removed).
std::string trace_with_line(size_t n, const std::string& line) {
  std::istringstream in(recorded_trace());
  std::string out, current;
  for (size_t i = 1; std::getline(in, current); ++i) {
    if (i == n) {
      if (!line.empty()) out += line + "\n";
    } else {
      out += current + "\n";
    }
  }
  return out;
}

size_t trace_lines() {
  const std::string& text = recorded_trace();
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Reproducer, F01DeepTraceHeaderIsRefusedBeforeParsing) {
  const std::string deep = std::string(150000, '[') + std::string(150000, ']');
  const std::string message =
      refusal_of_trace("f01.jsonl", "{\"xfsim_trace\":1,\"variant\":\"correct\",\"scenario\":" + deep + "}\n");
  EXPECT_TRUE(contains(message, "f01.jsonl:1:") && contains(message, "nested deeper than 64")) << message;
}

TEST(Reproducer, F02DeviceIsNotRead) {
  const std::string message = refusal([] { load_scenario("/dev/zero"); });
  EXPECT_TRUE(message.rfind("/dev/zero: is a character device", 0) == 0) << message;
}

TEST(Reproducer, F03FifoIsRefusedWithoutBlocking) {
  const std::string path = scratch("f03.fifo");
  ::unlink(path.c_str());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const std::string message = refusal([&] { load_scenario(path); });
  EXPECT_TRUE(message.rfind(path + ": is a FIFO", 0) == 0) << message;
}

TEST(Reproducer, F04BoundNear2To63IsOutsideTheSchema) {
  const std::string message =
      refusal_of_scenario("f04.json", smoke_with("\"bound_ms\": 5000", "\"bound_ms\": 9223372036854775807"));
  EXPECT_TRUE(
      contains(message, "f04.json: at /actors/0/steps/12/bound_ms: Expected number less than or equal to 1000000000"))
      << message;
}

TEST(Reproducer, F04BoundNear2To63WaitsWithoutOverflowWhereTheSchemaIsSkipped) {
  // A derived document skips the schema: the wait loops saturate (UBSan in
  // the asan config would abort on a signed overflow).
  nlohmann::json source = load_scenario("scenarios/smoke/clean.json").source;
  source["actors"][0]["steps"][12]["bound_ms"] = std::numeric_limits<int64_t>::max();
  source["actors"][0]["steps"][9]["bound_ms"] = std::numeric_limits<int64_t>::max();
  source["actors"][0]["steps"][0]["bound_ms"] = std::numeric_limits<int64_t>::max();
  const Scenario s = parse_scenario(source, "f04.json", /*validate=*/false);
  sim::RandomStrategy strategy(1);
  strategy.begin_schedule(0);
  sim::Trace trace;
  trace.logging = false;
  const RunResult result = run_once(s, *driver::find_variant("correct"), strategy, trace);
  EXPECT_FALSE(result.verdict().empty());
}

TEST(Reproducer, F06OutputRefusesSymlinksDevicesFifosAndDirectories) {
  const std::string victim = scratch("f06.victim"), link = scratch("f06.link"), fifo = scratch("f06.fifo"),
                    dir = scratch("f06.dir");
  put(victim, "original");
  ::unlink(link.c_str());
  ::unlink(fifo.c_str());
  ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  fs::create_directories(dir);
  EXPECT_TRUE(contains(refusal([&] { write_file_atomically(link, "x"); }), link + ": is a symbolic link"));
  EXPECT_EQ(slurp(victim), "original");
  EXPECT_TRUE(contains(refusal([&] { write_file_atomically(fifo, "x"); }), fifo + ": is a FIFO"));
  EXPECT_TRUE(contains(refusal([&] { write_file_atomically("/dev/null", "x"); }), "/dev/null: is a character device"));
  EXPECT_TRUE(contains(refusal([&] { write_file_atomically(dir, "x"); }), dir + ": is a directory"));
}

TEST(Reproducer, F06OutputReplacesARegularFileAndLeavesNoTemporaryFile) {
  const std::string dir = scratch("f06.out");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string target = dir + "/t.jsonl";
  put(target, "old");
  write_file_atomically(target, "new contents");
  EXPECT_EQ(slurp(target), "new contents");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(Reproducer, F07NameWithDotDotIsRefused) {
  const std::string message = refusal_of_scenario("f07.json", smoke_with("\"smoke-clean\"", "\"../../escaped\""));
  EXPECT_TRUE(contains(message, "f07.json: at /name: Failed to match regex")) << message;
}

TEST(Reproducer, F08NameWithNulIsRefused) {
  const std::string message = refusal_of_scenario("f08.json", smoke_with("\"smoke-clean\"", "\"ab\\u0000cd\""));
  EXPECT_TRUE(contains(message, "f08.json: at /name:")) << message;
}

TEST(Reproducer, F09LongNameIsRefused) {
  const std::string message =
      refusal_of_scenario("f09.json", smoke_with("\"smoke-clean\"", "\"" + std::string(5000, 'N') + "\""));
  EXPECT_TRUE(contains(message, "f09.json: at /name:")) << message;
}

TEST(Reproducer, F07F08F09FileStemsAreSafeWhateverTheSchema) {
  EXPECT_EQ(file_stem("../../etc/passwd"), "_._.._etc_passwd");  // never '..' nor '/'
  EXPECT_EQ(file_stem(std::string("ab\0cd", 5)), "ab_cd");
  EXPECT_EQ(file_stem(std::string(5000, 'N')).size(), kMaxFileStem);
  EXPECT_EQ(file_stem(""), "unnamed");
  EXPECT_EQ(file_stem("-rf"), "_rf");
}

TEST(Reproducer, F12NumbersAreStrictlyDecimalAndRanged) {
  EXPECT_EQ(parse_decimal("010", 0, 100), std::optional<uint64_t>(10));
  EXPECT_EQ(parse_decimal("-1", 0, 100), std::nullopt);
  EXPECT_EQ(parse_decimal("0x10", 0, 100), std::nullopt);
  EXPECT_EQ(parse_decimal(" 1", 0, 100), std::nullopt);
  EXPECT_EQ(parse_decimal("", 0, 100), std::nullopt);
  EXPECT_EQ(parse_decimal("0", 1, 100), std::nullopt);
  EXPECT_EQ(parse_decimal("18446744073709551616", 0, UINT64_MAX), std::nullopt);
  EXPECT_EQ(parse_decimal("18446744073709551615", 0, UINT64_MAX), std::optional<uint64_t>(UINT64_MAX));
}

TEST(Reproducer, F13TypeErrorInATraceNamesFileLineAndPointer) {
  const std::string message = refusal_of_trace("f13.jsonl", trace_with_line(trace_lines(), "{\"verdict\": 5}"));
  EXPECT_TRUE(contains(message, fmt::format("f13.jsonl:{}: at /verdict: expected a string", trace_lines()))) << message;
}

TEST(Reproducer, F13TypeErrorInAScenarioNamesThePointer) {
  nlohmann::json source = load_scenario("scenarios/smoke/clean.json").source;
  source["actors"][0]["steps"][12]["bound_ms"] = "soon";
  const std::string message = refusal([&] { parse_scenario(source, "f13.json", /*validate=*/false); });
  EXPECT_TRUE(contains(message, "f13.json: at /actors/0/steps/12/bound_ms: expected an integer")) << message;
}

TEST(Reproducer, F13NumberOverflowNamesLineAndColumn) {
  const std::string message = refusal_of_scenario("f13o.json", smoke_with("\"seed\": 1", "\"seed\": 1e400"));
  EXPECT_TRUE(contains(message, "f13o.json:") && contains(message, "number overflow")) << message;
}

TEST(Reproducer, F14UnknownVariantInATraceBlamesTheTrace) {
  std::string header = trace_with_line(1, "");
  std::string line1 = recorded_trace().substr(0, recorded_trace().find('\n'));
  line1.replace(line1.find("\"variant\":\"correct\""), 19, "\"variant\":\"nope\"");
  const std::string message = refusal_of_trace("f14.jsonl", line1 + "\n" + header);
  EXPECT_TRUE(contains(message, "f14.jsonl:1: at /variant: unknown variant 'nope'")) << message;
}

TEST(Reproducer, F15IntegerOf2To64Minus1GetsARangeMessage) {
  const std::string message =
      refusal_of_scenario("f15.json", smoke_with("\"seed\": 1", "\"seed\": 18446744073709551615"));
  EXPECT_TRUE(contains(message, "f15.json: at /schedule/seed: 18446744073709551615 is out of range")) << message;
}

TEST(Reproducer, F16IntegerAbove2To32IsNotTruncated) {
  nlohmann::json source = load_scenario("scenarios/smoke/clean.json").source;
  source["actors"][0]["steps"][2]["width"] = 4294967360ull;
  const std::string message = refusal([&] { parse_scenario(source, "f16.json", /*validate=*/false); });
  EXPECT_TRUE(contains(message, "f16.json: at /actors/0/steps/2/width: expected an integer from 0 to 4294967295"))
      << message;
}

TEST(Reproducer, F16TaskIdAbove2To32InATraceIsRefused) {
  std::string text = recorded_trace();
  const size_t at = text.rfind("\"task_id\":", text.find("\"choice\""));
  ASSERT_NE(at, std::string::npos);
  const size_t digits = at + 10, end = text.find_first_not_of("0123456789", digits);
  text.replace(digits, end - digits, "4294967296");
  const std::string message = refusal_of_trace("f16.jsonl", text);
  EXPECT_TRUE(contains(message, "at /task_id: expected an integer from 0 to 4294967295")) << message;
}

TEST(Reproducer, F17TraceWithoutItsVerdictLineIsBadInput) {
  const std::string message = refusal_of_trace("f17.jsonl", trace_with_line(trace_lines(), ""));
  EXPECT_TRUE(contains(message, "f17.jsonl:") && contains(message, "no verdict line")) << message;
}

TEST(Reproducer, F18DirectoryIsNotMalformedJson) {
  const std::string dir = scratch("f18.dir");
  fs::create_directories(dir);
  const std::string message = refusal([&] { load_scenario(dir); });
  EXPECT_EQ(message, dir + ": is a directory, not a file");
}

TEST(Reproducer, F19F20F25UnwritableTargetNamesThePathAndLeavesNoTemporaryFile) {
  const std::string dir = scratch("f19.dir");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string missing = dir + "/no/such/dir/t.jsonl";
  const std::string message = refusal([&] { write_file_atomically(missing, "x"); });
  EXPECT_TRUE(contains(message, missing + ": cannot create a temporary file") &&
              contains(message, "No such file or directory"))
      << message;
  EXPECT_TRUE(contains(refusal([] { write_file_atomically("", "x"); }), "empty file name"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 0);
}

TEST(Reproducer, F23NulAndTrailingGarbageAreRefusedWithLineAndColumn) {
  const std::string nul = refusal_of_scenario("f23.json", seeds()[0] + std::string(1, '\0') + "garbage");
  EXPECT_TRUE(contains(nul, "f23.json:") && contains(nul, ": malformed JSON: NUL byte")) << nul;
  const std::string garbage = refusal([] { parse_json_text("{}\n x", "f23b.json"); });
  EXPECT_TRUE(contains(garbage, "f23b.json:2:2: malformed JSON:")) << garbage;
}

TEST(Reproducer, F24DuplicateKeyIsRefusedWithItsPlaceAndName) {
  const std::string message = refusal([] { parse_json_text("{\"a\": {\"variant\": 1, \"variant\": 2}}", "f24.json"); });
  EXPECT_EQ(message, "f24.json: at /a/variant: duplicate key \"variant\" (a key may appear once in an object)");
}

TEST(Reproducer, F26WhitespaceLineInATraceHasALineAndAColumn) {
  const std::string message = refusal_of_trace("f26.jsonl", trace_with_line(3, "   "));
  EXPECT_TRUE(contains(message, "f26.jsonl:3:4: malformed JSON:")) << message;
}

// --- The command line (F10, F11, F12): exit codes and messages ----------------

struct Outcome {
  int status = -1;
  std::string output;
};

Outcome xfsim(const std::string& arguments) {
  Outcome outcome;
  FILE* pipe = ::popen(("harness/xfsim " + arguments + " 2>&1").c_str(), "r");
  if (!pipe) return outcome;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) outcome.output.append(buffer, n);
  const int status = ::pclose(pipe);
  outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

TEST(CommandLine, F10UsageErrorsExit2AndHelpExits0) {
  EXPECT_EQ(xfsim("").status, 2);
  EXPECT_EQ(xfsim("run scenarios/smoke/clean.json --bogus").status, 2);
  EXPECT_EQ(xfsim("run scenarios/smoke/clean.json --strategy nope").status, 2);
  EXPECT_EQ(xfsim("run scenarios/smoke/clean.json --seed 1 --seed 2").status, 2);
  EXPECT_EQ(xfsim("--help").status, 0);
  EXPECT_EQ(xfsim("run --help").status, 0);
}

TEST(CommandLine, F11UnknownSubcommandIsNamed) {
  const Outcome outcome = xfsim("nope");
  EXPECT_EQ(outcome.status, 2);
  EXPECT_TRUE(contains(outcome.output, "unknown subcommand 'nope'")) << outcome.output;
}

TEST(CommandLine, F12NumbersAreRangeCheckedDecimal) {
  for (const char* arguments :
       {"run scenarios/smoke/clean.json --seed -1", "run scenarios/smoke/clean.json --schedules -1",
        "run scenarios/smoke/clean.json --schedules 0", "run scenarios/smoke/clean.json --seed 0x10",
        "run scenarios/smoke/clean.json --seed 99999999999999999999", "fuzz scenarios/smoke/clean.json --depth 11",
        "fuzz scenarios/smoke/clean.json --offset -1"}) {
    const Outcome outcome = xfsim(arguments);
    EXPECT_EQ(outcome.status, 2) << arguments;
    EXPECT_TRUE(contains(outcome.output, "expected a decimal integer from")) << arguments << ": " << outcome.output;
  }
  const Outcome octal =
      xfsim(fmt::format("run scenarios/smoke/clean.json --seed 010 --schedules 1 --trace {}", scratch("f12.jsonl")));
  EXPECT_EQ(octal.status, 0) << octal.output;
  EXPECT_TRUE(contains(octal.output, "seed 10 ")) << octal.output;
}

}  // namespace
}  // namespace xfsim::harness
