#include "harness/trace_file.h"

#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "driver_core/variant.h"

namespace xfsim::harness {

std::string render_trace(const Scenario& scenario, const TraceOrigin& origin, const sim::Trace& trace,
                         const RunResult& result) {
  std::ostringstream out;
  nlohmann::ordered_json header;
  header["xfsim_trace"] = 1;
  header["scenario_path"] = scenario.path;
  header["variant"] = origin.variant;
  header["strategy"] = origin.strategy;
  header["seed"] = origin.seed;
  header["schedule_index"] = origin.schedule_index;
  header["scenario"] = scenario.source;
  out << header.dump() << '\n';
  trace.write_jsonl(out);
  nlohmann::ordered_json verdict;
  verdict["verdict"] = result.verdict();
  verdict["steps"] = result.steps;
  verdict["t_ms"] = result.time_ms;
  if (result.violation) {
    verdict["site"] = result.violation->site;
    verdict["task"] = result.violation->task;
    verdict["at_step"] = result.violation->step;
    verdict["detail"] = result.violation->detail;
  }
  if (!result.strategy_error.empty()) verdict["detail"] = result.strategy_error;
  out << verdict.dump() << '\n';
  return out.str();
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw ScenarioError(fmt::format("{}: cannot write file", temporary));
    out << contents;
    out.flush();
    if (!out) throw ScenarioError(fmt::format("{}: write failed", temporary));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw ScenarioError(fmt::format("{}: cannot rename into place", path));
  }
}

TraceFile read_trace_file(const std::string& path) {
  const std::string text = read_file(path, kMaxTraceBytes);
  TraceFile file;
  size_t number = 0;
  bool have_header = false, have_verdict = false;
  uint64_t expected_step = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (line.empty()) continue;
    const std::string where = fmt::format("{}:{}", path, number);
    nlohmann::json j = parse_json_text(line, path, number);
    const JsonPlace at{where, ""};
    if (!j.is_object()) throw ScenarioError(fmt::format("{}: a trace line must be a JSON object", where));
    if (have_verdict) throw ScenarioError(fmt::format("{}: a line after the verdict line", where));
    if (!have_header) {
      if (!j.contains("xfsim_trace") || !j.contains("scenario")) {
        throw ScenarioError(fmt::format("{}: not an xfsim trace (the first line must be its header)", where));
      }
      if (read_unsigned(j["xfsim_trace"], at / "xfsim_trace", std::numeric_limits<uint64_t>::max()) != 1) {
        (at / "xfsim_trace").fail("unsupported trace format (this xfsim reads 1)");
      }
      file.scenario = read_object(j["scenario"], at / "scenario");
      file.scenario_path = j.contains("scenario_path") ? read_string(j["scenario_path"], at / "scenario_path") : path;
      file.origin.variant = j.contains("variant") ? read_string(j["variant"], at / "variant") : "correct";
      if (!driver::find_variant(file.origin.variant)) {
        (at / "variant").fail(fmt::format("unknown variant '{}' (see `xfsim variants`)", file.origin.variant));
      }
      file.origin.strategy = j.contains("strategy") ? read_string(j["strategy"], at / "strategy") : "random";
      file.origin.seed = j.contains("seed") ? read_unsigned(j["seed"], at / "seed", kMaxSeed) : 0;
      file.origin.schedule_index = j.contains("schedule_index")
                                       ? read_unsigned(j["schedule_index"], at / "schedule_index", std::numeric_limits<uint64_t>::max())
                                       : 0;
      have_header = true;
      continue;
    }
    if (j.contains("verdict")) {
      file.verdict = read_string(j["verdict"], at / "verdict");
      file.violation_site = j.contains("site") ? read_string(j["site"], at / "site") : "";
      have_verdict = true;
      continue;
    }
    if (j.contains("choice")) {
      if (!j.contains("task_id") || !j.contains("step")) {
        throw ScenarioError(fmt::format("{}: a decision needs unsigned \"step\" and \"task_id\"", where));
      }
      const uint64_t step = read_unsigned(j["step"], at / "step", std::numeric_limits<uint64_t>::max());
      if (step != expected_step) {
        throw ScenarioError(fmt::format("{}: decision for step {} where step {} was expected", where, step, expected_step));
      }
      ++expected_step;
      file.schedule.push_back(static_cast<uint32_t>(read_unsigned(j["task_id"], at / "task_id", std::numeric_limits<uint32_t>::max())));
    }
  }
  if (!have_header) throw ScenarioError(fmt::format("{}: empty file, not an xfsim trace", path));
  if (!have_verdict) {
    throw ScenarioError(fmt::format("{}:{}: no verdict line: the trace is truncated (its last line must be the verdict)", path, number));
  }
  return file;
}

}  // namespace xfsim::harness
