// What `run` and `replay` print for people at a terminal (a coloured
// KASAN-style report) and for scripts (one JSON object).
#include <fmt/format.h>

#include "harness/show.h"
#include "harness/trace_file.h"

namespace xfsim::harness {

std::string colour_report(const sim::Violation& violation) {
  constexpr const char* kRed = "\033[1;31m";
  constexpr const char* kYellow = "\033[33m";
  constexpr const char* kCyan = "\033[36m";
  constexpr const char* kDim = "\033[2m";
  constexpr const char* kReset = "\033[0m";
  const std::string report = violation.report();
  std::string out;
  for (size_t start = 0; start < report.size();) {
    size_t end = report.find('\n', start);
    if (end == std::string::npos) end = report.size();
    const std::string line = report.substr(start, end - start);
    start = end + 1;
    const auto starts = [&line](const char* prefix) { return line.rfind(prefix, 0) == 0; };
    const char* colour = nullptr;
    if (starts("BUG:") || starts("WARNING:") || starts("INFO:") || starts("refcount_t"))
      colour = kRed;
    else if (starts("Allocated by") || starts("Freed by"))
      colour = kYellow;
    else if (starts("Call Trace") || starts("Read of") || starts("Write of"))
      colour = kCyan;
    else if (starts("signature:") || starts("=="))
      colour = kDim;
    out += colour ? fmt::format("{}{}{}\n", colour, line, kReset) : line + "\n";
  }
  return out;
}

nlohmann::ordered_json result_json(const RunResult& result) {
  nlohmann::ordered_json out;
  out["verdict"] = result.verdict();
  out["steps"] = result.steps;
  out["t_ms"] = result.time_ms;
  out["interleaving_hash"] = fmt::format("{:016x}", result.interleaving_hash);
  out["trace_hash"] = fmt::format("{:016x}", result.trace_hash);
  if (!result.strategy_error.empty()) out["detail"] = result.strategy_error;
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (const auto& v : result.violations) {
    nlohmann::ordered_json finding = finding_json(v);
    finding["site"] = v.site;
    finding["function"] = v.function();
    finding["detail"] = v.detail;
    if (!v.object_type.empty()) finding["object"] = v.object_type + " " + v.object_name;
    findings.push_back(std::move(finding));
  }
  out["findings"] = std::move(findings);
  out["findings_dropped"] = result.violations_dropped;
  return out;
}

}  // namespace xfsim::harness
