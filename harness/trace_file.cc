#include "harness/trace_file.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

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
  verdict["interleaving_hash"] = fmt::format("{:016x}", result.interleaving_hash);
  verdict["trace_hash"] = fmt::format("{:016x}", result.trace_hash);
  if (const sim::Violation* first = result.first()) {
    verdict["signature"] = first->signature();
    verdict["site"] = first->site;
    verdict["task"] = first->task;
    verdict["at_step"] = first->step;
    verdict["detail"] = first->detail;
    nlohmann::ordered_json findings = nlohmann::ordered_json::array();
    for (const auto& v : result.violations) {
      nlohmann::ordered_json finding;
      finding["kind"] = v.kind;
      finding["signature"] = v.signature();
      finding["step"] = v.step;
      finding["task"] = v.task;
      findings.push_back(finding);
    }
    verdict["findings"] = findings;
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
  std::istringstream in(read_file(path));
  TraceFile file;
  std::string line;
  size_t number = 0;
  bool have_header = false;
  uint64_t expected_step = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const std::string where = fmt::format("{}:{}", path, number);
    nlohmann::json j = parse_json_text(line, where);
    if (!j.is_object()) throw ScenarioError(fmt::format("{}: a trace line must be a JSON object", where));
    if (!have_header) {
      if (!j.contains("xfsim_trace") || !j.contains("scenario")) {
        throw ScenarioError(fmt::format("{}: not an xfsim trace (the first line must be its header)", where));
      }
      file.scenario = j["scenario"];
      file.scenario_path = j.value("scenario_path", path);
      file.origin.variant = j.value("variant", "correct");
      file.origin.strategy = j.value("strategy", "random");
      file.origin.seed = j.value("seed", uint64_t{0});
      file.origin.schedule_index = j.value("schedule_index", uint64_t{0});
      have_header = true;
      continue;
    }
    if (j.contains("verdict")) {
      file.verdict = j["verdict"].get<std::string>();
      file.violation_site = j.value("site", "");
      file.signature = j.value("signature", "");
      continue;
    }
    if (j.contains("choice")) {
      if (!j.contains("task_id") || !j["task_id"].is_number_unsigned() || !j.contains("step") ||
          !j["step"].is_number_unsigned()) {
        throw ScenarioError(fmt::format("{}: a decision needs unsigned \"step\" and \"task_id\"", where));
      }
      const uint64_t step = j["step"].get<uint64_t>();
      if (step != expected_step) {
        throw ScenarioError(fmt::format("{}: decision for step {} where step {} was expected", where, step, expected_step));
      }
      ++expected_step;
      file.schedule.push_back(j["task_id"].get<uint32_t>());
    }
  }
  if (!have_header) throw ScenarioError(fmt::format("{}: empty file, not an xfsim trace", path));
  return file;
}

}  // namespace xfsim::harness
