// harness/dmesg and harness/kernel_log: the model's runs written as kernel
// logs (golden file), read back to the same signature whole and damaged as
// real logs are, hand-written logs in the kernel's formats (tests/logs/),
// and inputs that are no logs at all.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "harness/dmesg.h"
#include "harness/explore.h"
#include "harness/from_log.h"
#include "harness/kernel_log.h"
#include "harness/minimize.h"
#include "harness/scenario.h"
#include "sim/replay_strategy.h"
#include "tests/harness/testing.h"

namespace xfsim::harness {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct LoggedRun {
  RunResult result;
  std::string dmesg;
};

// The scenario's first finding under its own variant, re-run with logging
// (as `xfsim run --dmesg` does).
LoggedRun first_finding(const std::string& path) {
  const Scenario scenario = load_scenario(path);
  const driver::Variant& variant = testing::variant(scenario.variant.c_str());
  const CampaignResult campaign = explore(scenario, variant, options_from(scenario));
  LoggedRun run;
  if (campaign.first() == nullptr) return run;
  Scenario as_run = parse_scenario(campaign.first()->scenario, path, /*validate=*/false);
  as_run.report_policy = scenario.report_policy;
  sim::ReplayStrategy replay(campaign.first()->schedule);
  sim::Trace trace;
  run.result = run_once(as_run, variant, replay, trace);
  run.dmesg = render_dmesg(trace, run.result);
  return run;
}

// Every bug-zoo scenario that ends in a violation (tests/BUILD lists them as data).
const char* const kBugScenarios[] = {
    "scenarios/bugs/devm_driver_data.json",           "scenarios/bugs/unref_before_use.json",
    "scenarios/bugs/no_teardown_mutex.json",          "scenarios/bugs/publish_before_construct.json",
    "scenarios/bugs/switch_state_in_release.json",    "scenarios/bugs/zombie_with_be_alloc.json",
    "scenarios/bugs/is_unplugged_check.json",         "scenarios/bugs/no_enter_in_ioctls.json",
    "scenarios/bugs/import_sg_table_leaks.json",      "scenarios/bugs/no_vma_unmap.json",
    "scenarios/bugs/timeout_in_detect.json",          "scenarios/bugs/mode_valid_on_connector.json",
    "scenarios/bugs/check_rejects_disconnected.json", "scenarios/bugs/no_hotplug_uevent.json",
    "scenarios/bugs/no_sigbus_fault_handler.json",
};

TEST(Dmesg, GoldenFileOfAUseAfterFree) {
  const LoggedRun run = first_finding("scenarios/bugs/devm_driver_data.json");
  ASSERT_NE(run.result.first(), nullptr);
  EXPECT_EQ(run.dmesg, read_text("tests/logs/golden/devm_driver_data.dmesg"))
      << "regenerate with: xfsim run scenarios/bugs/devm_driver_data.json --dmesg "
         "tests/logs/golden/devm_driver_data.dmesg\n"
      << run.dmesg;
}

TEST(Dmesg, DriverLinesAreTheKernelsPrintkStrings) {
  EXPECT_EQ(kernel_log_line("[drm:xen_drm_drv_dumb_create] *ERROR* Failed to create dumb buffer: -12"),
            "[drm:xen_drm_drv_dumb_create [drm_xen_front]] *ERROR* Failed to create dumb buffer: -12");
  EXPECT_EQ(kernel_log_line("[drm] Have 1 connector(s)"), "[drm] Have 1 connector(s)");
  EXPECT_EQ(kernel_log_line("WARNING: g.e. 0x5 still in use!"), "xen:grant_table: WARNING: g.e. 0x5 still in use!");
  EXPECT_EQ(kernel_log_line("vdispl vdispl-0: 12 initializing frontend"), "vdispl vdispl-0: 12 initializing frontend");
  // The kernel is silent on its own state switches and userspace is not the kernel.
  EXPECT_EQ(kernel_log_line("xenbus: device/vdispl/0 frontend Initialising -> Initialised"), "");
  EXPECT_EQ(kernel_log_line("compositor: open -> 0"), "");
  // Deterministic symbols, with the module of the function.
  EXPECT_EQ(kernel_symbol("dbuf_free"), kernel_symbol("dbuf_free"));
  EXPECT_NE(kernel_symbol("dbuf_free").find(" [drm_xen_front]"), std::string::npos);
  EXPECT_EQ(kernel_symbol("xenwatch_thread").find('['), std::string::npos);
}

TEST(KernelLog, EveryBugZooFindingRoundTripsToItsSignature) {
  size_t checked = 0;
  for (const char* path : kBugScenarios) {
    const LoggedRun run = first_finding(path);
    if (run.result.first() == nullptr) continue;  // a scenario whose verdict is clean or inconclusive
    const sim::Violation& v = *run.result.first();
    const ParsedLog log = parse_kernel_log(run.dmesg);
    ASSERT_NE(log.first(), nullptr) << path << "\n" << run.dmesg;
    EXPECT_EQ(log.first()->signature(), log_signature(v)) << path << "\n" << run.dmesg;
    EXPECT_TRUE(log.first()->complete) << path;
    // Every frame the model put in the report maps back to a model function.
    for (const auto& frame : v.where.frames) EXPECT_TRUE(model_function(frame).has_value()) << path << ": " << frame;
    if (v.allocated) {
      for (const auto& frame : v.allocated->frames) EXPECT_TRUE(model_function(frame).has_value()) << frame;
    }
    if (v.freed) {
      for (const auto& frame : v.freed->frames) EXPECT_TRUE(model_function(frame).has_value()) << frame;
    }
    // A report without a modelled stack names the oracle's site, which is no kernel function.
    if (!v.where.frames.empty()) {
      EXPECT_EQ(log.unmapped.size(), 0u) << path << ": " << (log.unmapped.empty() ? "" : *log.unmapped.begin());
    }
    ++checked;
  }
  EXPECT_GE(checked, 8u);
}

// The damage real logs have: lines lost, other drivers' noise, no
// timestamps, other PIDs, 80-column wrapping.
std::string damage(const std::string& dmesg, bool strip_timestamps, bool wrap) {
  std::istringstream in(dmesg);
  std::string line, out;
  size_t n = 0;
  bool in_report = false;
  while (std::getline(in, line)) {
    ++n;
    const bool report_line = line.find("=====") != std::string::npos || line.find("BUG:") != std::string::npos ||
                             line.find("WARNING") != std::string::npos || line.find("cut here") != std::string::npos;
    if (report_line) in_report = true;
    if (!in_report && n % 2 == 0) continue;  // half the lines outside reports
    if (n % 3 == 0) out += "[   99.000000] usb 1-1: reset high-speed USB device number 2 using xhci_hcd\n";
    if (strip_timestamps && line.size() > 15 && line[0] == '[') line = line.substr(15);
    // Another boot's PIDs.
    for (size_t at = line.find("PID: "); at != std::string::npos; at = line.find("PID: ", at + 5))
      line.insert(at + 5, "4");
    if (wrap) {
      while (line.size() > 80) {
        out += line.substr(0, 80) + "\n";
        line = line.substr(80);
      }
    }
    out += line + "\n";
  }
  return out;
}

TEST(KernelLog, DamagedLogsKeepTheSignature) {
  size_t checked = 0;
  for (const char* path : kBugScenarios) {
    const LoggedRun run = first_finding(path);
    if (run.result.first() == nullptr) continue;
    const std::string expected = log_signature(*run.result.first());
    for (int variant = 0; variant < 3; ++variant) {
      const std::string damaged = damage(run.dmesg, /*strip_timestamps=*/variant == 1, /*wrap=*/variant == 2);
      const ParsedLog log = parse_kernel_log(damaged);
      ASSERT_NE(log.first(), nullptr) << path << " damage " << variant << "\n" << damaged;
      EXPECT_EQ(log.first()->signature(), expected) << path << " damage " << variant << "\n" << damaged;
    }
    ++checked;
  }
  EXPECT_GE(checked, 8u);
}

TEST(KernelLog, ModelEventsComeBackInOrder) {
  const LoggedRun run = first_finding("scenarios/bugs/devm_driver_data.json");
  const ParsedLog log = parse_kernel_log(run.dmesg);
  ASSERT_GE(log.events.size(), 4u);
  EXPECT_EQ(log.events[0].text, "Registering XEN PV vdispl");
  std::vector<std::string> backend;
  for (const auto& e : log.events)
    if (e.type == LogEvent::Type::kBackendState) backend.push_back(e.backend_state);
  EXPECT_EQ(backend, (std::vector<std::string>{"Initialising", "InitWait", "Connected"}));
  for (size_t i = 1; i < log.events.size(); ++i) EXPECT_LE(log.events[i - 1].time_us, log.events[i].time_us);
}

// Logs written by hand in the kernel's formats (from public reports), each
// with the signature it must give.
TEST(KernelLog, HandWrittenLogsGiveTheirSignatures) {
  for (const char* name : {"kasan_uaf_syzbot", "null_deref_journalctl", "refcount_serial80", "lockdep_circular",
                           "gpf_list_poison", "hung_task"}) {
    const std::string base = std::string("tests/logs/") + name;
    const ParsedLog log = parse_kernel_log_file(base + ".log");
    ASSERT_EQ(log.reports.size(), 1u) << name;
    const CrashSignature& r = *log.first();
    std::istringstream expected(read_text(base + ".expected"));
    std::string line;
    while (std::getline(expected, line)) {
      const size_t colon = line.find(": ");
      const std::string key = line.substr(0, colon), value = line.substr(colon + 2);
      if (key == "kind") {
        EXPECT_EQ(r.kind, value) << name;
      } else if (key == "signature") {
        EXPECT_EQ(r.signature(), value) << name;
      } else if (key == "task") {
        EXPECT_EQ(r.task, value) << name;
      } else if (key == "complete") {
        EXPECT_EQ(r.complete, value == "true") << name;
      }
    }
  }
  // What the syzbot log says beyond the signature: unreliable frames dropped,
  // unmodelled kernel functions named.
  const ParsedLog syzbot = parse_kernel_log_file("tests/logs/kasan_uaf_syzbot.log");
  EXPECT_EQ(syzbot.first()->access, "read");
  EXPECT_EQ(syzbot.first()->pid, 2311u);
  EXPECT_EQ(syzbot.first()->stack.front(), "dbuf_free");
  EXPECT_EQ(syzbot.first()->stack.at(1), "xen_drm_drv_free_object_unlocked");  // the "? " frame is not one
  EXPECT_TRUE(syzbot.unmapped.count("drm_ioctl_kernel"));
  EXPECT_TRUE(syzbot.unmapped.count("idr_for_each"));
  EXPECT_FALSE(syzbot.unmapped.count("dump_stack"));
  EXPECT_NE(syzbot.first()->object.find("kmalloc-96"), std::string::npos);
  const ParsedLog irq = parse_kernel_log_file("tests/logs/null_deref_journalctl.log");
  EXPECT_EQ(irq.first()->context, "irq");
  ASSERT_EQ(irq.events.size(), 1u);  // the USB line is noise
  EXPECT_EQ(irq.events[0].backend_state, "Closed");
  const ParsedLog worker = parse_kernel_log_file("tests/logs/refcount_serial80.log");
  EXPECT_EQ(worker.first()->context, "worker");
}

TEST(KernelLog, InputsThatAreNoLogs) {
  EXPECT_THROW(parse_kernel_log(""), LogError);
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary += static_cast<char>((i * 7919) % 256);
  EXPECT_THROW(parse_kernel_log(binary), LogError);
  EXPECT_THROW(parse_kernel_log_file("tests/logs/does-not-exist.log"), LogError);
  // Text that is not a kernel log: read, nothing found.
  const ParsedLog prose = parse_kernel_log("hello\nworld\n{\"json\": true}\n");
  EXPECT_TRUE(prose.reports.empty());
  EXPECT_TRUE(prose.events.empty());
  EXPECT_EQ(prose.lines, 3u);
}

TEST(KernelLog, AReportCutShortIsMarkedIncomplete) {
  const std::string full = read_text("tests/logs/kasan_uaf_syzbot.log");
  const std::string cut = full.substr(0, full.find("Freed by task") + 5);  // mid-line, mid-report
  const ParsedLog log = parse_kernel_log(cut);
  ASSERT_EQ(log.reports.size(), 1u);
  EXPECT_FALSE(log.first()->complete);
  EXPECT_EQ(log.first()->kind, "use-after-free");
  EXPECT_EQ(log.first()->function, "dbuf_free");
  EXPECT_TRUE(log.first()->free_stack.empty());
}

TEST(KernelLog, HugeInputsAreReadInBoundedMemory) {
  KernelLogParser parser;
  const std::string noise = "[   12.000000] usb 1-1: reset high-speed USB device number 2 using xhci_hcd\n";
  std::string chunk;
  for (int i = 0; i < 1000; ++i) chunk += noise;
  for (int i = 0; i < 200; ++i) parser.feed(chunk);  // ~15 MB of noise
  // One line of 8 MB without a newline, fed in pieces: only its head is kept.
  const std::string piece(1 << 20, 'x');
  for (int i = 0; i < 8; ++i) parser.feed(piece);
  parser.feed("\n");
  parser.feed(read_text("tests/logs/kasan_uaf_syzbot.log"));
  const ParsedLog log = parser.finish();
  EXPECT_EQ(log.lines, 200u * 1000u + 1 + 65);
  ASSERT_EQ(log.reports.size(), 1u);
  EXPECT_EQ(log.first()->kind, "use-after-free");
  EXPECT_TRUE(log.events.empty());
}

// xfsim from-log: a bug-zoo run's dmesg, searched from its own scenario,
// gives back a reproducer with the same signature; bad input is exit 2.
TEST(FromLog, ReproducesABugZooFindingFromItsDmesg) {
  const LoggedRun run = first_finding("scenarios/bugs/unref_before_use.json");
  ASSERT_NE(run.result.first(), nullptr);
  const std::string dir = std::string(getenv("TEST_TMPDIR")) + "/from-log";
  const std::string log_path = dir + ".log";
  { std::ofstream(log_path) << damage(run.dmesg, /*strip_timestamps=*/false, /*wrap=*/true); }
  FromLogOptions options;
  options.log_path = log_path;
  options.hint_path = "scenarios/bugs/unref_before_use.json";
  options.out_dir = dir;
  uint64_t budget = 0;
  uint64_t limit = 200;
  options.out_of_time = [&] { return ++budget > limit; };
  std::ostringstream out, err;
  ASSERT_EQ(from_log(options, out, err), 0) << out.str() << err.str();
  EXPECT_NE(out.str().find("reproduced: " + log_signature(*run.result.first())), std::string::npos) << out.str();
  const std::string alignment = read_text(dir + "/alignment.txt");
  EXPECT_NE(alignment.find("\nequal\n"), std::string::npos) << alignment;
  EXPECT_NE(alignment.find("-> model.dmesg line"), std::string::npos) << alignment;
  const nlohmann::json reproducer = nlohmann::json::parse(read_text(dir + "/reproducer.json"));
  EXPECT_EQ(verify_reproducer(reproducer, testing::variant("unref_before_use")), "");
  EXPECT_EQ(parse_kernel_log(read_text(dir + "/model.dmesg")).first()->signature(), log_signature(*run.result.first()));

  // The correct driver never reports it: not reproduced, the nearest run written.
  options.variant = "correct";
  options.out_dir = dir + "-correct";
  budget = 0;
  limit = 20;
  std::ostringstream out2, err2;
  EXPECT_EQ(from_log(options, out2, err2), 1) << out2.str() << err2.str();

  // Bad input.
  options.variant.clear();
  options.log_path = "tests/logs/does-not-exist.log";
  std::ostringstream out3, err3;
  EXPECT_EQ(from_log(options, out3, err3), 2);
  options.log_path = log_path;
  options.hint_path.clear();
  std::ostringstream out4, err4;
  EXPECT_EQ(from_log(options, out4, err4), 2);
  EXPECT_NE(err4.str().find("--hint"), std::string::npos);
}

}  // namespace
}  // namespace xfsim::harness
