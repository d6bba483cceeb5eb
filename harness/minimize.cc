#include "harness/minimize.h"

#include <algorithm>

#include <fmt/format.h>

#include "harness/explore.h"
#include "harness/scenario.h"
#include "sim/random_strategy.h"
#include "sim/replay_strategy.h"

namespace xfsim::harness {

size_t count_actions(const nlohmann::json& scenario) {
  size_t count = 0;
  for (const auto& actor : scenario["actors"]) count += actor["steps"].size();
  if (scenario.contains("backend") && scenario["backend"].contains("script"))
    count += scenario["backend"]["script"].size();
  if (scenario.contains("host")) count += scenario["host"].size();
  return count;
}

bool reports(const RunResult& result, const std::string& signature) {
  if (signature == "step-limit" || signature == "time-limit")
    return result.inconclusive() && result.verdict() == signature;
  return result.find(signature) != nullptr;
}

bool reports_through(const RunResult& result, const std::string& kind, const std::string& function) {
  const auto in = [&function](const std::vector<std::string>& frames) {
    return std::find(frames.begin(), frames.end(), function) != frames.end();
  };
  for (const sim::Violation& v : result.violations) {
    if (v.kind_name() != kind) continue;
    if (v.site == function || in(v.where.frames) || (v.allocated && in(v.allocated->frames)) ||
        (v.freed && in(v.freed->frames)))
      return true;
  }
  return false;
}

namespace {

struct Attempt {
  bool reproduced = false;
  std::vector<uint32_t> decisions;
  RunResult result;
  uint64_t preemptions = 0;
};

class Minimizer {
 public:
  Minimizer(std::string signature, const driver::Variant& variant, uint64_t search)
      : signature_(std::move(signature)), variant_(variant), search_(search) {}

  // A candidate of a bug variant must leave `correct` clean, as its
  // reproducer will claim: deleting the action that caused the event a
  // wait depends on (a backend hang before a wait for its uevent) makes a
  // scenario that fails of its own making, not a smaller reproducer.
  bool correct_clean(const nlohmann::json& document, const std::vector<uint32_t>& decisions) {
    if (variant_.name == "correct") return true;
    Scenario scenario;
    try {
      scenario = parse_scenario(document, "minimize", /*validate=*/false);
    } catch (const ScenarioError&) {
      return false;
    }
    sim::ReplayStrategy strategy(decisions, sim::ReplayStrategy::Mode::kLenient);
    sim::Trace trace;
    trace.logging = false;
    ++runs_;
    const RunResult result = run_once(scenario, *driver::find_variant("correct"), strategy, trace);
    return result.violations.empty() && !result.inconclusive();
  }

  Attempt replay(const nlohmann::json& document, const std::vector<uint32_t>& decisions) {
    Attempt attempt;
    Scenario scenario;
    try {
      scenario = parse_scenario(document, "minimize", /*validate=*/false);
    } catch (const ScenarioError&) {
      return attempt;  // e.g. a thread whose process was removed
    }
    sim::ReplayStrategy strategy(decisions, sim::ReplayStrategy::Mode::kLenient);
    sim::Trace trace;
    trace.logging = false;
    ++runs_;
    attempt.result = run_once(scenario, variant_, strategy, trace);
    attempt.reproduced = reports(attempt.result, signature_);
    attempt.decisions = trace.schedule();
    attempt.preemptions = trace.preemptions();
    return attempt;
  }

  // Replay first; if the old schedule no longer fits, search a little.
  Attempt reproduce(const nlohmann::json& document, const std::vector<uint32_t>& decisions) {
    Attempt attempt = replay(document, decisions);
    if (attempt.reproduced) return attempt;
    Scenario scenario;
    try {
      scenario = parse_scenario(document, "minimize", /*validate=*/false);
    } catch (const ScenarioError&) {
      return attempt;
    }
    sim::RandomStrategy random(0x5eed);
    for (uint64_t i = 0; i < search_; ++i) {
      random.begin_schedule(i);
      sim::Trace trace;
      trace.logging = false;
      ++runs_;
      RunResult result = run_once(scenario, variant_, random, trace);
      if (reports(result, signature_)) return Attempt{true, trace.schedule(), result, trace.preemptions()};
    }
    return attempt;
  }

  uint64_t runs() const { return runs_; }

 private:
  std::string signature_;
  const driver::Variant& variant_;
  uint64_t search_;
  uint64_t runs_ = 0;
};

// A deletable part of a scenario.
struct Part {
  enum Kind : uint8_t { kActor, kHost, kScript, kStep } kind;
  size_t index;     // actor, host action, script entry
  size_t step = 0;  // kStep: the step of actor `index`
};

std::vector<Part> parts_of(const nlohmann::json& s) {
  std::vector<Part> parts;
  const auto& actors = s["actors"];
  if (actors.size() > 1) {
    for (size_t a = 0; a < actors.size(); ++a) parts.push_back(Part{Part::kActor, a});
  }
  if (s.contains("host")) {
    for (size_t i = 0; i < s["host"].size(); ++i) parts.push_back(Part{Part::kHost, i});
  }
  if (s.contains("backend") && s["backend"].contains("script")) {
    for (size_t i = 0; i < s["backend"]["script"].size(); ++i) parts.push_back(Part{Part::kScript, i});
  }
  for (size_t a = 0; a < actors.size(); ++a) {
    for (size_t i = 0; i < actors[a]["steps"].size(); ++i) parts.push_back(Part{Part::kStep, a, i});
  }
  return parts;
}

// The scenario without parts [begin, end): one copy, built when tried.
nlohmann::json without(const nlohmann::json& s, const std::vector<Part>& parts, size_t begin, size_t end) {
  std::vector<Part> cut(parts.begin() + static_cast<long>(begin), parts.begin() + static_cast<long>(end));
  // Later indices first, steps before their actors, so earlier erasures do
  // not shift what is still to be erased.
  std::sort(cut.begin(), cut.end(), [](const Part& a, const Part& b) {
    if (a.kind != b.kind) return a.kind > b.kind;
    if (a.index != b.index) return a.index > b.index;
    return a.step > b.step;
  });
  nlohmann::json c = s;
  for (const Part& part : cut) {
    switch (part.kind) {
      case Part::kStep:
        c["actors"][part.index]["steps"].erase(part.step);
        break;
      case Part::kScript:
        c["backend"]["script"].erase(part.index);
        break;
      case Part::kHost:
        c["host"].erase(part.index);
        break;
      case Part::kActor:
        c["actors"].erase(part.index);
        break;
    }
  }
  return c;
}

// 1. Fewer actions (ddmin): remove chunks of half the parts, then of a
// quarter, ..., then single parts; after a success, go on at the same
// granularity over what is left.
void remove_actions(Minimizer& minimizer, nlohmann::json& scenario, Attempt& best) {
  std::vector<Part> parts = parts_of(scenario);
  for (size_t chunk = std::max<size_t>(parts.size() / 2, 1); !parts.empty();) {
    bool removed = false;
    for (size_t begin = 0; begin < parts.size();) {
      const size_t end = std::min(parts.size(), begin + chunk);
      nlohmann::json candidate = without(scenario, parts, begin, end);
      Attempt attempt = minimizer.reproduce(candidate, best.decisions);
      if (attempt.reproduced && minimizer.correct_clean(candidate, attempt.decisions)) {
        scenario = std::move(candidate);
        best = std::move(attempt);
        parts = parts_of(scenario);
        removed = true;
        // The parts after the cut moved down: go on where the cut began.
        continue;
      }
      begin = end;
    }
    if (chunk == 1 && !removed) break;
    if (!removed) chunk = std::max<size_t>(chunk / 2, 1);
    chunk = std::min(chunk, std::max<size_t>(parts.size() / 2, 1));
  }
}

// 2. A shorter schedule: the shortest prefix of `decisions` that still
// reproduces.
std::vector<uint32_t> shortest_prefix(Minimizer& minimizer, const nlohmann::json& scenario,
                                      const std::vector<uint32_t>& decisions) {
  size_t low = 0, high = decisions.size();
  while (low < high) {
    const size_t middle = (low + high) / 2;
    std::vector<uint32_t> prefix(decisions.begin(), decisions.begin() + static_cast<long>(middle));
    if (minimizer.replay(scenario, prefix).reproduced && minimizer.correct_clean(scenario, prefix))
      high = middle;
    else
      low = middle + 1;
  }
  return std::vector<uint32_t>(decisions.begin(), decisions.begin() + static_cast<long>(low));
}

// 3. Fewer preemptions: where another task was chosen, let the previous one
// go on instead, if the finding survives.
void remove_preemptions(Minimizer& minimizer, const nlohmann::json& scenario, std::vector<uint32_t>& decisions,
                        Attempt& best) {
  for (size_t i = decisions.size(); i-- > 1;) {
    if (decisions[i] == decisions[i - 1]) continue;
    std::vector<uint32_t> candidate = decisions;
    candidate[i] = decisions[i - 1];
    Attempt attempt = minimizer.replay(scenario, candidate);
    if (attempt.reproduced && attempt.preemptions < best.preemptions && minimizer.correct_clean(scenario, candidate)) {
      decisions = std::vector<uint32_t>(
          attempt.decisions.begin(),
          attempt.decisions.begin() + static_cast<long>(std::min(attempt.decisions.size(), decisions.size())));
      best = std::move(attempt);
    }
  }
}

}  // namespace

Minimized minimize(const Reproducer& original, const driver::Variant& variant, uint64_t search_schedules) {
  Minimizer minimizer(original.signature, variant, search_schedules);
  Minimized out;
  Attempt best = minimizer.replay(original.scenario, original.decisions);
  out.before = ReproducerSize{count_actions(original.scenario), original.decisions.size(), best.preemptions};
  nlohmann::json scenario = original.scenario;
  if (!best.reproduced) {
    out.reproducer = original;
    out.after = out.before;
    out.runs = minimizer.runs();
    return out;
  }
  out.reproduced = true;
  remove_actions(minimizer, scenario, best);
  std::vector<uint32_t> decisions = shortest_prefix(minimizer, scenario, best.decisions);
  remove_preemptions(minimizer, scenario, decisions, best);
  Attempt final_run = minimizer.replay(scenario, decisions);
  if (!final_run.reproduced) {  // keep the last schedule known to work
    decisions = best.decisions;
    final_run = minimizer.replay(scenario, decisions);
  }
  out.reproducer = Reproducer{scenario, decisions, original.signature, final_run.result};
  out.after = ReproducerSize{count_actions(scenario), decisions.size(), final_run.preemptions};
  out.runs = minimizer.runs();
  return out;
}

nlohmann::json reproducer_scenario(const Reproducer& reproducer, const std::string& variant, const std::string& name) {
  nlohmann::json s = reproducer.scenario;
  s["name"] = name;
  s["variant"] = variant;
  const sim::Violation* v = reproducer.result.find(reproducer.signature);
  s["description"] = fmt::format("Reproducer found by xfsim: {}. {}", reproducer.signature, v ? v->detail : "");
  nlohmann::json schedule;
  schedule["strategy"] = "replay";
  schedule["decisions"] = reproducer.decisions;
  if (s.contains("schedule") && s["schedule"].contains("steps_max")) schedule["steps_max"] = s["schedule"]["steps_max"];
  s["schedule"] = schedule;
  nlohmann::json expect;
  if (s.contains("expect")) {  // keep the run's policy: it decides what the run reports
    for (const char* key : {"stop_on", "ignore"}) {
      if (s["expect"].contains(key)) expect[key] = s["expect"][key];
    }
  }
  expect["verdict"] = reproducer.result.verdict();
  expect["signature"] = reproducer.signature;
  if (variant != "correct") expect["by_variant"] = nlohmann::json::object({{"correct", "clean"}});
  s["expect"] = expect;
  return s;
}

std::string verify_reproducer(const nlohmann::json& document, const driver::Variant& variant) {
  Scenario scenario;
  try {
    scenario = parse_scenario(document, "reproducer");
  } catch (const ScenarioError& e) {
    return fmt::format("it does not pass the scenario schema: {}", e.what());
  }
  auto run = [&](const driver::Variant& v) { return explore(scenario, v, options_from(scenario)); };
  const CampaignResult own = run(variant);
  const RunResult* result = own.findings.empty() ? nullptr : &own.findings.front().result;
  const std::string verdict = result ? result->verdict() : "clean";
  if (verdict != scenario.expect_verdict) {
    return fmt::format("re-run under {} gives {}, not {}", variant.name, verdict, scenario.expect_verdict);
  }
  if (!scenario.expect_signature.empty() && (result == nullptr || !reports(*result, scenario.expect_signature))) {
    return fmt::format("re-run under {} does not report {}", variant.name, scenario.expect_signature);
  }
  const auto correct_expected = scenario.expected_for("correct");
  if (variant.name != "correct" && correct_expected && *correct_expected == "clean") {
    const CampaignResult correct = run(*driver::find_variant("correct"));
    if (!correct.findings.empty()) {
      return fmt::format("it says correct is clean, but correct reports {}", correct.findings.front().signature);
    }
  }
  return {};
}

}  // namespace xfsim::harness
