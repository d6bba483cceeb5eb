#include "harness/trace_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "driver_core/variant.h"
#include "harness/fault_sites.h"

namespace xfsim::harness {

nlohmann::ordered_json finding_json(const sim::Violation& violation) {
  nlohmann::ordered_json finding;
  finding["kind"] = violation.kind_name();
  finding["signature"] = violation.signature();
  finding["step"] = violation.step;
  finding["task"] = violation.task;
  return finding;
}

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
      findings.push_back(finding_json(v));
    }
    verdict["findings"] = findings;
  }
  if (!result.strategy_error.empty()) verdict["detail"] = result.strategy_error;
  out << verdict.dump() << '\n';
  return out.str();
}

namespace {

[[noreturn]] void write_error(const std::string& path, const std::string& what, int error) {
  throw ScenarioError(fmt::format("{}: {}: {}", path, what, std::strerror(error)));
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
  if (path.empty()) throw ScenarioError("cannot write to an empty file name");
  // Only a regular file is ever replaced: never a device node, a FIFO, a
  // directory, nor a symbolic link (nor what it points to).
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) throw ScenarioError(fmt::format("{}: is a symbolic link; refusing to replace it", path));
    if (!S_ISREG(st.st_mode))
      throw ScenarioError(fmt::format("{}: is {}; refusing to replace it", path, kind_of(st.st_mode)));
  } else if (errno != ENOENT) {
    write_error(path, "cannot inspect the file", errno);
  }
  const std::filesystem::path target(path);
  const std::string name = target.filename().string();
  if (name.empty() || name == "." || name == "..") throw ScenarioError(fmt::format("{}: not a file name", path));
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  // A fresh temporary file next to the target (same file system, so rename
  // is atomic), created exclusively: a planted file or link is never opened.
  std::random_device entropy;
  std::string temporary;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    temporary = (dir / fmt::format(".{}.{:06x}", name.substr(0, 200), entropy() & 0xffffff)).string();
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST)
      write_error(path, fmt::format("cannot create a temporary file in '{}'", dir.string()), errno);
  }
  if (fd < 0) write_error(path, fmt::format("no unused temporary file name in '{}'", dir.string()), EEXIST);
  auto fail = [&](const char* what) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(temporary.c_str());
    write_error(path, what, error);
  };
  for (size_t done = 0; done < contents.size();) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      fail("write failed");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync failed");
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) fail("close failed");
  if (std::rename(temporary.c_str(), path.c_str()) != 0) fail("cannot rename the temporary file into place");
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
      file.origin.schedule_index =
          j.contains("schedule_index")
              ? read_unsigned(j["schedule_index"], at / "schedule_index", std::numeric_limits<uint64_t>::max())
              : 0;
      have_header = true;
      continue;
    }
    if (j.contains("verdict")) {
      file.verdict = read_string(j["verdict"], at / "verdict");
      file.violation_site = j.contains("site") ? read_string(j["site"], at / "site") : "";
      have_verdict = true;
      file.signature = j.contains("signature") ? read_string(j["signature"], at / "signature") : "";
      continue;
    }
    if (j.contains("fault")) {
      // A fault the strategy chose: replay scripts it (scripted ones are in
      // the embedded scenario already).
      if (j.contains("by") && j["by"] == "strategy") {
        const std::string site = read_string(j["fault"], at / "fault");
        if (find_fault_site(site) == nullptr) (at / "fault").fail(fmt::format("unknown fault site '{}'", site));
        file.scenario["faults"].push_back(
            {{"site", site},
             {"nth", read_unsigned(need_member(j, at, "nth"), at / "nth", std::numeric_limits<uint32_t>::max())},
             {"error", read_signed(need_member(j, at, "error"), at / "error", -4095, -1)}});
      }
      continue;
    }
    if (j.contains("choice")) {
      if (!j.contains("task_id") || !j.contains("step")) {
        throw ScenarioError(fmt::format("{}: a decision needs unsigned \"step\" and \"task_id\"", where));
      }
      const uint64_t step = read_unsigned(j["step"], at / "step", std::numeric_limits<uint64_t>::max());
      if (step != expected_step) {
        throw ScenarioError(
            fmt::format("{}: decision for step {} where step {} was expected", where, step, expected_step));
      }
      ++expected_step;
      file.schedule.push_back(
          static_cast<uint32_t>(read_unsigned(j["task_id"], at / "task_id", std::numeric_limits<uint32_t>::max())));
    }
  }
  if (!have_header) throw ScenarioError(fmt::format("{}: empty file, not an xfsim trace", path));
  if (!have_verdict) {
    throw ScenarioError(fmt::format(
        "{}:{}: no verdict line: the trace is truncated (its last line must be the verdict)", path, number));
  }
  return file;
}

}  // namespace xfsim::harness
