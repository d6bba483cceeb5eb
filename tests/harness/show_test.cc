// `xfsim show` (harness/show.h) on the dbuf-list race of `upstream` in
// scenarios/lifecycle/standard.json: golden files for every format, the
// Perfetto JSON checked against the trace-event format, the HTML opened in a
// headless browser (skipped when none is installed), bad input refused.
//
// The trace is made by the xfsim binary (`run --variant upstream`, the
// scenario's own dfs search) so the test follows the model: when the model
// changes the run, the goldens change with it; update them with
//   tests/harness/update_show_goldens.sh
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/scenario.h"
#include "harness/show.h"

namespace xfsim::harness {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTraceName = "standard-upstream.trace.jsonl";
constexpr const char* kGoldenDir = "tests/harness/testdata/show";

struct Outcome {
  int status = -1;
  std::string output;
};

Outcome shell(const std::string& command) {
  Outcome outcome;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return outcome;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) outcome.output.append(buffer, n);
  const int status = ::pclose(pipe);
  outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

std::string scratch(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return (fs::path(dir ? dir : "/tmp") / name).string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The trace of the finding, made once by the binary.
const std::string& standard_trace() {
  static const std::string path = [] {
    const std::string trace = scratch(kTraceName);
    const Outcome run =
        shell(fmt::format("harness/xfsim run scenarios/lifecycle/standard.json --variant upstream "
                          "--trace {}",
                          trace));
    EXPECT_EQ(run.status, 0) << run.output;
    return trace;
  }();
  return path;
}

const Timeline& standard_timeline() {
  static const Timeline timeline = [] {
    Timeline t = build_timeline(standard_trace());
    t.trace_path = kTraceName;  // as the goldens name it
    return t;
  }();
  return timeline;
}

void expect_golden(const std::string& name, const std::string& actual) {
  const std::string golden = slurp(fs::path(kGoldenDir) / name);
  if (golden == actual) return;
  const char* out_dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  const std::string written = (fs::path(out_dir ? out_dir : "/tmp") / name).string();
  std::ofstream(written, std::ios::binary) << actual;
  ADD_FAILURE() << name << " differs from its golden (" << golden.size() << " bytes golden, " << actual.size()
                << " now); the output is in " << written
                << "; if the change is meant, run tests/harness/update_show_goldens.sh";
}

TEST(ShowTest, TheRaceIsReplayedWithItsMoments) {
  const Timeline& t = standard_timeline();
  ASSERT_NE(t.result.first(), nullptr);
  EXPECT_EQ(t.result.first()->kind_name(), "use-after-free");
  EXPECT_EQ(t.recorded_verdict, "use-after-free");
  // The shadow stacks became slices: the freeing and the bad access are there.
  std::set<std::string> functions;
  for (const auto& s : t.slices) functions.insert(s.function);
  for (const char* f : {"dbuf_free", "dbuf_free_all", "xen_drm_front_dbuf_create", "xen_drm_drv_fini"})
    EXPECT_TRUE(functions.count(f)) << f;
  std::map<ShowInstant::Kind, int> kinds;
  for (const auto& i : t.instants) ++kinds[i.kind];
  EXPECT_EQ(kinds[ShowInstant::Kind::kAlloc], 1);
  EXPECT_EQ(kinds[ShowInstant::Kind::kFree], 1);
  EXPECT_EQ(kinds[ShowInstant::Kind::kBadAccess], 1);
  EXPECT_GE(kinds[ShowInstant::Kind::kLog], 10);
  // Requests reach the backend; answers come back on the control channel.
  std::map<std::string, int> flows;
  for (const auto& f : t.flows) {
    EXPECT_LT(f.from_step, f.to_step);
    EXPECT_LT(f.from_us, f.to_us);
    ++flows[f.label.substr(0, f.label.find(' '))];
  }
  EXPECT_GT(flows["request"], 0);
  EXPECT_GT(flows["answer"], 0);
  // The frontend went Connected and, once the backend closed, Reconfiguring.
  std::vector<std::string> front;
  for (const auto& c : t.counters) {
    if (c.track == "frontend xenbus state") front.push_back(c.state);
  }
  EXPECT_NE(std::find(front.begin(), front.end(), "Connected"), front.end());
  EXPECT_NE(std::find(front.begin(), front.end(), "Reconfiguring"), front.end());
  // Steps stay apart on the axis, in order.
  for (size_t i = 1; i < t.steps.size(); ++i) EXPECT_LT(t.steps[i - 1].end_us, t.steps[i].begin_us);
}

TEST(ShowTest, TheStoryHasTheTasksThatTouchedTheObject) {
  const Timeline& t = standard_timeline();
  const Story story = build_story(t, 90);
  std::vector<std::string> lanes;
  for (uint32_t task : story.lanes) lanes.push_back(t.task_name(task));
  ASSERT_GE(lanes.size(), 2u);
  EXPECT_EQ(lanes[0], "compositor");  // allocated and freed it
  EXPECT_EQ(lanes[1], "xenwatch");    // reached it after
  std::vector<std::string> marks;
  for (const auto& row : story.rows) {
    if (!row.mark.empty()) marks.push_back(row.mark);
  }
  EXPECT_EQ(marks, (std::vector<std::string>{"alloc in xen_drm_front_dbuf_create", "free in dbuf_free",
                                             "bad access in dbuf_free_all"}));
  EXPECT_LE(story.rows.size(), 90u);
  EXPECT_EQ(story.rows.front().kind, StoryRow::Kind::kFold);  // the steps before the allocation
  // Bounded: a short story still keeps the three moments.
  const Story short_story = build_story(t, 12);
  int kept = 0;
  for (const auto& row : short_story.rows) kept += !row.mark.empty();
  EXPECT_EQ(kept, 3);
  EXPECT_LE(short_story.rows.size(), 16u);
}

TEST(ShowTest, GoldenText) { expect_golden("standard-upstream.txt", render_text(standard_timeline())); }
TEST(ShowTest, GoldenMermaid) { expect_golden("standard-upstream.mmd", render_mermaid(standard_timeline())); }
TEST(ShowTest, GoldenHtml) { expect_golden("standard-upstream.html", render_html(standard_timeline())); }
TEST(ShowTest, GoldenPerfetto) {
  expect_golden("standard-upstream.perfetto.json", render_perfetto(standard_timeline()));
}

TEST(ShowTest, MermaidIsShort) {
  const std::string text = render_mermaid(standard_timeline());
  EXPECT_EQ(text.rfind("sequenceDiagram\n", 0), 0u);
  EXPECT_LT(std::count(text.begin(), text.end(), '\n'), 60);
  EXPECT_NE(text.find("participant compositor"), std::string::npos);
}

// ---- The trace-event format (the Chrome "Trace Event Format" document) ----

// Every problem found, one line each; empty when the document is valid.
std::vector<std::string> trace_event_problems(const nlohmann::json& doc) {
  std::vector<std::string> problems;
  const auto problem = [&problems](size_t i, const std::string& what) {
    problems.push_back(fmt::format("event {}: {}", i, what));
  };
  if (!doc.is_object() || !doc.contains("traceEvents") || !doc["traceEvents"].is_array())
    return {"not an object with a traceEvents array"};
  if (doc.contains("displayTimeUnit") && doc["displayTimeUnit"] != "ms" && doc["displayTimeUnit"] != "ns")
    problems.push_back("displayTimeUnit must be ms or ns");
  struct Span {
    double begin, end;
  };
  std::map<std::pair<int64_t, int64_t>, std::vector<Span>> slices;        // complete slices per thread
  std::map<std::pair<int64_t, int64_t>, std::vector<std::string>> begun;  // open B per thread
  std::map<std::string, std::vector<std::tuple<char, double, int64_t, int64_t>>> flows;
  std::set<std::pair<int64_t, int64_t>> named_threads, used_threads;
  std::set<int64_t> named_processes;
  const auto& events = doc["traceEvents"];
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (!e.is_object() || !e.contains("ph") || !e["ph"].is_string() || e["ph"].get<std::string>().size() != 1) {
      problem(i, "no one-letter \"ph\"");
      continue;
    }
    const char ph = e["ph"].get<std::string>()[0];
    const auto need = [&](const char* field, bool number) {
      if (!e.contains(field) || (number ? !e[field].is_number() : !e[field].is_string())) {
        problem(i, fmt::format("ph {} without {} \"{}\"", ph, number ? "numeric" : "string", field));
        return false;
      }
      return true;
    };
    need("pid", true);
    if (ph != 'C' && ph != 'M') need("tid", true);
    if (ph != 'M') need("ts", true);
    if (ph != 'E') need("name", false);
    const auto thread = std::make_pair(e.value("pid", int64_t{-1}), e.value("tid", int64_t{-1}));
    const double ts = e.value("ts", 0.0);
    switch (ph) {
      case 'X':
        if (need("dur", true) && e["dur"].get<double>() < 0) problem(i, "negative dur");
        slices[thread].push_back(Span{ts, ts + e.value("dur", 0.0)});
        used_threads.insert(thread);
        break;
      case 'B':
        begun[thread].push_back(e.value("name", ""));
        used_threads.insert(thread);
        break;
      case 'E':
        if (begun[thread].empty())
          problem(i, "E without a B on its thread");
        else
          begun[thread].pop_back();
        break;
      case 'i':
      case 'I':
        if (e.contains("s") && e["s"] != "g" && e["s"] != "p" && e["s"] != "t") problem(i, "instant scope not g/p/t");
        if (e.value("s", "t") == "t") used_threads.insert(thread);
        break;
      case 's':
      case 't':
      case 'f':
        if (!e.contains("id")) {
          problem(i, "flow event without an id");
          break;
        }
        flows[e["id"].dump()].push_back({ph, ts, thread.first, thread.second});
        break;
      case 'C':
        if (!e.contains("args") || !e["args"].is_object() || e["args"].empty()) {
          problem(i, "counter without args");
          break;
        }
        for (const auto& [key, value] : e["args"].items()) {
          if (!value.is_number()) problem(i, "counter value " + key + " not a number");
        }
        break;
      case 'M': {
        const std::string name = e.value("name", "");
        if (name == "process_name" || name == "thread_name") {
          if (!e.contains("args") || !e["args"].contains("name") || !e["args"]["name"].is_string())
            problem(i, name + " without args.name");
          if (name == "thread_name") named_threads.insert(thread);
          if (name == "process_name") named_processes.insert(thread.first);
        } else if (name != "process_sort_index" && name != "thread_sort_index") {
          problem(i, "unknown metadata " + name);
        }
        break;
      }
      default:
        problem(i, fmt::format("unexpected ph {}", ph));
    }
  }
  for (const auto& [thread, open] : begun) {
    if (!open.empty())
      problems.push_back(fmt::format("thread {}/{}: B {} never ended", thread.first, thread.second, open.back()));
  }
  // Complete slices on one thread nest: none overlaps another partly.
  for (auto& [thread, spans] : slices) {
    std::sort(spans.begin(), spans.end(),
              [](const Span& a, const Span& b) { return a.begin != b.begin ? a.begin < b.begin : a.end > b.end; });
    std::vector<Span> stack;
    for (const Span& s : spans) {
      while (!stack.empty() && stack.back().end <= s.begin) stack.pop_back();
      if (!stack.empty() && s.end > stack.back().end + 1e-9)
        problems.push_back(
            fmt::format("thread {}/{}: slice at {} overlaps its parent", thread.first, thread.second, s.begin));
      stack.push_back(s);
    }
  }
  // Flows: one start, one finish, in time order, each inside a slice of its thread.
  for (const auto& [id, ends] : flows) {
    const auto count = [&ends](char ph) {
      return std::count_if(ends.begin(), ends.end(), [ph](const auto& e) { return std::get<0>(e) == ph; });
    };
    if (count('s') != 1 || count('f') != 1) {
      problems.push_back(fmt::format("flow {}: {} start(s), {} finish(es)", id, count('s'), count('f')));
      continue;
    }
    double start = 0, finish = 0;
    for (const auto& [ph, ts, pid, tid] : ends) {
      (ph == 's' ? start : finish) = ts;
      const auto& spans = slices[{pid, tid}];
      if (std::none_of(spans.begin(), spans.end(), [ts = ts](const Span& s) { return s.begin <= ts && ts <= s.end; }))
        problems.push_back(fmt::format("flow {}: its {} end at {} is in no slice of its thread", id, ph, ts));
    }
    if (finish < start) problems.push_back(fmt::format("flow {}: finishes before it starts", id));
  }
  for (const auto& thread : used_threads) {
    if (!named_threads.count(thread))
      problems.push_back(fmt::format("thread {}/{} has events but no thread_name", thread.first, thread.second));
    if (!named_processes.count(thread.first))
      problems.push_back(fmt::format("process {} has events but no process_name", thread.first));
  }
  return problems;
}

TEST(ShowTest, PerfettoIsValidTraceEventJson) {
  const nlohmann::json doc = nlohmann::json::parse(render_perfetto(standard_timeline()));
  const auto problems = trace_event_problems(doc);
  EXPECT_TRUE(problems.empty()) << problems.size() << " problem(s), the first: " << problems.front();
  EXPECT_EQ(doc["displayTimeUnit"], "ms");
  std::map<std::string, int> phases;
  std::set<std::string> threads;
  for (const auto& e : doc["traceEvents"]) {
    ++phases[e["ph"].get<std::string>()];
    if (e["ph"] == "M" && e["name"] == "thread_name") threads.insert(e["args"]["name"].get<std::string>());
  }
  for (const char* ph : {"X", "i", "s", "f", "C", "M"}) EXPECT_GT(phases[ph], 0) << ph;
  EXPECT_TRUE(threads.count("compositor (user)"));
  EXPECT_TRUE(threads.count("displ_be (user)"));
  // The backend is a process of its own (its domain).
  std::set<int64_t> processes;
  for (const auto& e : doc["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "process_name") processes.insert(e["pid"].get<int64_t>());
  }
  EXPECT_EQ(processes.size(), 2u);
}

// The finding's object, dbuf-gemN (a plain kzalloc), is a 0/1 "live" track
// from its allocation to its free, at the moments of the KASAN report; the
// GEM object it stands for counts its references (a handle, then the
// framebuffer's) down to 0. Each event is a change.
TEST(ShowTest, PerfettoCountsTheReferencesOfTheFindingsObjects) {
  const Timeline& t = standard_timeline();
  const sim::Violation* v = t.result.first();
  ASSERT_TRUE(v != nullptr && v->allocated && v->freed);
  ASSERT_EQ(v->object_type, "xen_drm_front_dbuf");
  ASSERT_EQ(v->object_name.rfind("dbuf-", 0), 0u);
  const nlohmann::json doc = nlohmann::json::parse(render_perfetto(t));
  std::map<std::string, std::vector<std::pair<double, int64_t>>> tracks;
  std::map<std::string, double> kasan;  // "alloc", "free" -> ts
  for (const auto& e : doc["traceEvents"]) {
    if (e["ph"] == "C" && e["cat"] == "refcount") {
      ASSERT_EQ(e["args"].size(), 1u);
      tracks[e["name"]].push_back({e["ts"].get<double>(), e["args"].begin()->get<int64_t>()});
    }
    if (e["ph"] == "i" && e["cat"] == "kasan") {
      const std::string name = e["name"];
      kasan[name.substr(0, name.find(' '))] = e["ts"].get<double>();
    }
  }
  const std::string live = fmt::format("live {} ({})", v->object_name, v->object_type);
  const std::string refs = fmt::format("refs {} (xen_gem_object)", v->object_name.substr(5));
  ASSERT_TRUE(tracks.count(live)) << live;
  ASSERT_TRUE(tracks.count(refs)) << refs;
  EXPECT_EQ(tracks.size(), 2u);
  const std::vector<std::pair<double, int64_t>> expected{{kasan.at("alloc"), 1}, {kasan.at("free"), 0}};
  EXPECT_EQ(tracks[live], expected);
  const auto& gem = tracks[refs];
  ASSERT_GE(gem.size(), 3u);
  EXPECT_EQ(gem.back().second, 0);
  EXPECT_LE(gem.back().first, kasan.at("free"));
  EXPECT_EQ(std::max_element(gem.begin(), gem.end(), [](auto& a, auto& b) { return a.second < b.second; })->second, 2);
  for (const auto& [name, values] : tracks) {
    for (size_t i = 1; i < values.size(); ++i) {
      EXPECT_LT(values[i - 1].first, values[i].first) << name;
      EXPECT_NE(values[i - 1].second, values[i].second) << name;
    }
  }
  // On the Timeline, the free is the step of the report's free stack.
  const ShowObjectCounter& freed =
      *std::find_if(t.object_counters.begin(), t.object_counters.end(),
                    [&](const ShowObjectCounter& c) { return c.track == live && c.value == 0; });
  EXPECT_EQ(freed.step, v->freed->step - 1);
}

// The checker itself catches what it is there for.
TEST(ShowTest, TheTraceEventCheckerFindsBrokenDocuments) {
  const nlohmann::json good = nlohmann::json::parse(render_perfetto(standard_timeline()));
  ASSERT_TRUE(trace_event_problems(good).empty());
  const auto broken = [&good](const std::function<bool(nlohmann::json&)>& edit) {
    nlohmann::json doc = good;
    auto& events = doc["traceEvents"];
    for (size_t i = 0; i < events.size(); ++i) {
      if (edit(events[i])) {
        if (events[i].is_null()) events.erase(i);
        break;
      }
    }
    return !trace_event_problems(doc).empty();
  };
  EXPECT_TRUE(broken([](nlohmann::json& e) { return e["ph"] == "f" ? (e = nullptr, true) : false; }));  // unpaired
  EXPECT_TRUE(broken([](nlohmann::json& e) { return e["ph"] == "X" ? (e.erase("dur"), true) : false; }));
  EXPECT_TRUE(broken([](nlohmann::json& e) { return e["ph"] == "i" ? (e.erase("ts"), true) : false; }));
  EXPECT_TRUE(broken([](nlohmann::json& e) { return e["ph"] == "C" ? (e["args"]["state"] = "x", true) : false; }));
  EXPECT_TRUE(broken([](nlohmann::json& e) {
    return e["ph"] == "M" && e["name"] == "thread_name" && e["args"]["name"] == "compositor (user)"
               ? (e = nullptr, true)
               : false;
  }));
  EXPECT_TRUE(broken([](nlohmann::json& e) {  // a slice that outlives its parent
    return e["ph"] == "X" && e["cat"] == "kfunc" && e["name"] == "dbuf_free" ? (e["dur"] = 1e9, true) : false;
  }));
  nlohmann::json begin_only = good;
  begin_only["traceEvents"].push_back({{"name", "x"}, {"ph", "B"}, {"ts", 1}, {"pid", 1}, {"tid", 1}});
  EXPECT_FALSE(trace_event_problems(begin_only).empty());
}

// ---- HTML ----

TEST(ShowTest, HtmlIsOnePageUnder200KbWithNoNetwork) {
  const std::string html = render_html(standard_timeline());
  EXPECT_LT(html.size(), 200u * 1024);
  for (const char* part : {"<svg id=\"diagram\"", "id=\"report\"", "BUG: KASAN: use-after-free in dbuf_free_all",
                           "xfsim replay", "xfsim minimize", "Xenbus states", "&quot;actors&quot;"})
    EXPECT_NE(html.find(part), std::string::npos) << part;
  for (const char* network : {"http://", "https://", "src=\"", "<link"}) {
    size_t at = html.find(network);
    // The SVG namespace is a name, not a fetch.
    while (at != std::string::npos && html.compare(at, 26, "http://www.w3.org/2000/svg") == 0)
      at = html.find(network, at + 1);
    EXPECT_EQ(at, std::string::npos) << network;
  }
}

std::string find_browser() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    for (const char* dir : {"/usr/bin", "/usr/local/bin", "/snap/bin"}) {
      const fs::path path = fs::path(dir) / name;
      if (::access(path.c_str(), X_OK) == 0) return path.string();
    }
  }
  return "";
}

TEST(ShowTest, HtmlRendersInAHeadlessBrowser) {
  const std::string browser = find_browser();
  if (browser.empty()) {
    GTEST_SKIP() << "no headless browser installed (Debian: apt-get install chromium; setup.sh installs it): the "
                    "HTML page was not rendered";
  }
  const std::string page = scratch("standard-upstream.html");
  std::ofstream(page, std::ios::binary) << render_html(standard_timeline());
  const auto start = std::chrono::steady_clock::now();
  const Outcome dump = shell(
      fmt::format("{} --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --user-data-dir={} "
                  "--enable-logging=stderr --v=0 --virtual-time-budget=2000 --dump-dom file://{}",
                  browser, scratch("chromium-profile"), page));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format("headless {} rendered the page in {:.2f} s (browser start-up included)\n", browser, seconds);
  ASSERT_EQ(dump.status, 0) << dump.output;
  // The page's script ran to its end (it marks the body) and nothing threw.
  EXPECT_EQ(dump.output.find("Uncaught"), std::string::npos) << dump.output;
  const size_t rendered = dump.output.find("data-rendered=\"");
  ASSERT_NE(rendered, std::string::npos) << "the page's script did not run to its end";
  EXPECT_GT(std::atoi(dump.output.c_str() + rendered + 15), 0) << "no step box in the diagram";
  EXPECT_NE(dump.output.find("BUG: KASAN: use-after-free"), std::string::npos);
  EXPECT_NE(dump.output.find("<svg id=\"diagram\""), std::string::npos);
}

// ---- The command line and bad input ----

TEST(ShowTest, CommandLineWritesEachFormat) {
  for (const char* format : kShowFormats) {
    const std::string out = scratch(fmt::format("out.{}", format));
    const Outcome show = shell(fmt::format("harness/xfsim show {} --format {} -o {}", standard_trace(), format, out));
    EXPECT_EQ(show.status, 0) << show.output;
    EXPECT_GT(slurp(out).size(), 100u) << format;
  }
  const Outcome to_stdout = shell(fmt::format("harness/xfsim show {} --format mermaid", standard_trace()));
  EXPECT_EQ(to_stdout.status, 0);
  EXPECT_EQ(to_stdout.output.rfind("sequenceDiagram\n", 0), 0u);
  EXPECT_EQ(shell(fmt::format("harness/xfsim show {} --format svg", standard_trace())).status, 2);
}

TEST(ShowTest, BadInputIsNamedWithItsLine) {
  // Not a trace: a scenario file.
  const Outcome scenario = shell("harness/xfsim show scenarios/lifecycle/standard.json --format text");
  EXPECT_EQ(scenario.status, 2);
  EXPECT_NE(scenario.output.find("scenarios/lifecycle/standard.json:1"), std::string::npos) << scenario.output;
  // Truncated: the verdict line is gone.
  const std::string full = slurp(standard_trace());
  const std::string cut = scratch("truncated.jsonl");
  std::ofstream(cut, std::ios::binary) << full.substr(0, full.rfind('\n', full.size() - 2) + 1);
  const Outcome truncated = shell(fmt::format("harness/xfsim show {} --format html", cut));
  EXPECT_EQ(truncated.status, 2);
  EXPECT_NE(truncated.output.find("truncated"), std::string::npos) << truncated.output;
  EXPECT_NE(truncated.output.find(cut + ":"), std::string::npos) << truncated.output;
  // Cut in the middle of a line.
  const std::string half = scratch("half.jsonl");
  std::ofstream(half, std::ios::binary) << full.substr(0, full.size() / 2);
  const Outcome broken = shell(fmt::format("harness/xfsim show {} --format perfetto", half));
  EXPECT_EQ(broken.status, 2);
  EXPECT_NE(broken.output.find(half + ":"), std::string::npos) << broken.output;
  // Missing.
  EXPECT_EQ(shell("harness/xfsim show no-such.jsonl").status, 2);
}

}  // namespace
}  // namespace xfsim::harness

namespace xfsim::harness {
namespace {

// ---- Terminal and script output of run / replay; fuzz's pages ----

TEST(ShowOutputTest, JsonIsOneObjectAndQuietOneLine) {
  const Outcome json = shell(fmt::format(
      "harness/xfsim run scenarios/lifecycle/standard.json --variant upstream --trace {} --json 2>/dev/null",
      scratch("json.jsonl")));
  EXPECT_EQ(json.status, 0);
  EXPECT_EQ(std::count(json.output.begin(), json.output.end(), '\n'), 1) << json.output;
  const nlohmann::json result = nlohmann::json::parse(json.output);
  EXPECT_EQ(result["verdict"], "use-after-free");
  EXPECT_EQ(result["exit"], 0);
  ASSERT_EQ(result["findings"].size(), 1u);
  EXPECT_EQ(result["findings"][0]["function"], "dbuf_free_all");
  EXPECT_EQ(result["findings"][0]["object"], "xen_drm_front_dbuf dbuf-gem1");
  const Outcome replay = shell(fmt::format("harness/xfsim replay {} --json", scratch("json.jsonl")));
  EXPECT_EQ(replay.status, 0);
  EXPECT_EQ(nlohmann::json::parse(replay.output)["findings"][0]["signature"], result["findings"][0]["signature"]);
  const Outcome quiet =
      shell(fmt::format("harness/xfsim run scenarios/lifecycle/standard.json --variant upstream --trace {} --quiet",
                        scratch("quiet.jsonl")));
  EXPECT_EQ(quiet.status, 0);
  EXPECT_EQ(quiet.output.rfind("verdict: use-after-free", 0), 0u) << quiet.output;
  EXPECT_EQ(std::count(quiet.output.begin(), quiet.output.end(), '\n'), 1) << quiet.output;
  EXPECT_EQ(shell("harness/xfsim run scenarios/lifecycle/standard.json --quiet --json").status, 2);
}

TEST(ShowOutputTest, ColourOnlyOnATerminal) {
  // Piped: the report is plain.
  const Outcome piped = shell(fmt::format(
      "harness/xfsim run scenarios/lifecycle/standard.json --variant upstream --trace {}", scratch("plain.jsonl")));
  EXPECT_NE(piped.output.find("BUG: KASAN: use-after-free in dbuf_free_all"), std::string::npos);
  EXPECT_EQ(piped.output.find('\033'), std::string::npos);
  // What a terminal gets: the same report, its headline red.
  const sim::Violation& v = *standard_timeline().result.first();
  const std::string coloured = colour_report(v);
  EXPECT_NE(coloured.find("\033[1;31mBUG: KASAN: use-after-free in dbuf_free_all\033[0m"), std::string::npos);
  std::string stripped;
  for (size_t i = 0; i < coloured.size(); ++i) {
    if (coloured[i] == '\033') {
      i = coloured.find('m', i);
      continue;
    }
    stripped += coloured[i];
  }
  EXPECT_EQ(stripped, v.report());
}

TEST(ShowOutputTest, FuzzWritesAPagePerFindingAndAnIndex) {
  const std::string dir = scratch("campaign");
  const Outcome fuzz = shell(fmt::format(
      "harness/xfsim fuzz scenarios/lifecycle/standard.json --variant upstream --strategy pct --schedules 50 "
      "--no-minimize --out {}",
      dir));
  EXPECT_EQ(fuzz.status, 1) << fuzz.output;  // findings
  size_t traces = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const std::string suffix = ".trace.jsonl";
    if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    ++traces;
    const std::string page = name.substr(0, name.size() - suffix.size()) + ".html";
    const std::string html = slurp((fs::path(dir) / page).string());
    EXPECT_NE(html.find("<svg id=\"diagram\""), std::string::npos) << page;
    EXPECT_NE(slurp((fs::path(dir) / "index.html").string()).find("href=\"" + page + "\""), std::string::npos);
  }
  EXPECT_GT(traces, 0u);
  EXPECT_NE(slurp((fs::path(dir) / "index.html").string()).find("schedules/s"), std::string::npos);
}

// index.html draws distinct interleavings and findings against schedules
// run: a point at the start, every 256 schedules and at the end, so 600
// schedules make 4; x grows, and neither count ever falls (y never rises).
TEST(ShowOutputTest, FuzzIndexChartsInterleavingsAndFindings) {
  const std::string dir = scratch("campaign-chart");
  const Outcome fuzz = shell(fmt::format(
      "harness/xfsim fuzz scenarios/lifecycle/standard.json --variant upstream --strategy pct --schedules 600 "
      "--no-minimize --out {}",
      dir));
  ASSERT_EQ(fuzz.status, 1) << fuzz.output;  // findings
  const std::string index = slurp((fs::path(dir) / "index.html").string());
  const size_t svg = index.find("<svg id=\"progress\"");
  ASSERT_NE(svg, std::string::npos);
  EXPECT_EQ(index.find("<script"), std::string::npos);
  const auto polyline = [&](const std::string& cls) {
    std::vector<std::pair<double, double>> points;
    const std::string open = "<polyline class=\"" + cls + "\"";
    const size_t at = index.find(open, svg);
    EXPECT_NE(at, std::string::npos) << cls;
    if (at == std::string::npos) return points;
    const size_t begin = index.find("points=\"", at) + 8;
    std::istringstream in(index.substr(begin, index.find('"', begin) - begin));
    double x, y;
    char comma;
    while (in >> x >> comma >> y) points.push_back({x, y});
    return points;
  };
  for (const char* cls : {"interleavings", "findings"}) {
    const auto points = polyline(cls);
    EXPECT_EQ(points.size(), 4u) << cls;
    for (size_t i = 1; i < points.size(); ++i) {
      EXPECT_LT(points[i - 1].first, points[i].first) << cls;
      EXPECT_GE(points[i - 1].second, points[i].second) << cls;
    }
    ASSERT_FALSE(points.empty());
    EXPECT_GT(points.front().second, points.back().second) << cls << ": the count rose";
  }
  // The x axis ends at the schedules run.
  EXPECT_NE(index.find(">600</text>", svg), std::string::npos);
}

// A long campaign's chart is thinned to kCampaignChartPoints, first and last kept.
TEST(ShowOutputTest, TheCampaignChartIsThinned) {
  std::vector<CampaignPoint> progress;
  for (uint64_t i = 0; i <= 1000; ++i) progress.push_back(CampaignPoint{i * 256, i * 100, i / 300});
  const std::string index = render_campaign_index("s", "v", 256000, 1.0, 100000, {}, progress);
  const size_t at = index.find("<polyline class=\"interleavings\"");
  ASSERT_NE(at, std::string::npos);
  const size_t begin = index.find("points=\"", at) + 8;
  const std::string points = index.substr(begin, index.find('"', begin) - begin);
  EXPECT_EQ(std::count(points.begin(), points.end(), ','), static_cast<long>(kCampaignChartPoints));
  EXPECT_EQ(points.rfind("70.0,170.0", 0), 0u);                                                   // the start
  EXPECT_EQ(points.substr(points.rfind(' ') + 1), "570.0,20.0");                                  // the end
  EXPECT_EQ(render_campaign_index("s", "v", 0, 1.0, 0, {}, {}).find("<svg"), std::string::npos);  // no points, no chart
}

}  // namespace
}  // namespace xfsim::harness
