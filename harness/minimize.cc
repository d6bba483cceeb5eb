#include "harness/minimize.h"

#include <fmt/format.h>

#include "harness/scenario.h"
#include "sim/random_strategy.h"
#include "sim/replay_strategy.h"

namespace xfsim::harness {

size_t count_actions(const nlohmann::json& scenario) {
  size_t count = 0;
  for (const auto& actor : scenario["actors"]) count += actor["steps"].size();
  if (scenario.contains("backend") && scenario["backend"].contains("script")) count += scenario["backend"]["script"].size();
  if (scenario.contains("host")) count += scenario["host"].size();
  return count;
}

namespace {

bool same_violation(const RunResult& a, const RunResult& b) {
  return a.violation && b.violation && a.violation->kind == b.violation->kind && a.violation->site == b.violation->site;
}

struct Attempt {
  bool reproduced = false;
  std::vector<uint32_t> decisions;
  RunResult result;
  uint64_t preemptions = 0;
};

class Minimizer {
 public:
  Minimizer(const RunResult& target, const driver::Variant& variant, uint64_t search)
      : target_(target), variant_(variant), search_(search) {}

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
    attempt.reproduced = same_violation(attempt.result, target_);
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
      if (same_violation(result, target_)) return Attempt{true, trace.schedule(), result, trace.preemptions()};
    }
    return attempt;
  }

  uint64_t runs() const { return runs_; }

 private:
  const RunResult& target_;
  const driver::Variant& variant_;
  uint64_t search_;
  uint64_t runs_ = 0;
};

// Every way to delete one element, largest pieces first.
std::vector<nlohmann::json> one_smaller(const nlohmann::json& s) {
  std::vector<nlohmann::json> out;
  const auto& actors = s["actors"];
  for (size_t a = 0; a < actors.size(); ++a) {
    if (actors.size() == 1) break;
    nlohmann::json c = s;
    const std::string name = actors[a]["name"];
    c["actors"].erase(a);
    bool orphaned = false;
    for (const auto& other : c["actors"]) orphaned |= other.value("thread_of", "") == name;
    if (!orphaned) out.push_back(std::move(c));
  }
  if (s.contains("host")) {
    for (size_t i = 0; i < s["host"].size(); ++i) {
      nlohmann::json c = s;
      c["host"].erase(i);
      out.push_back(std::move(c));
    }
  }
  if (s.contains("backend") && s["backend"].contains("script")) {
    for (size_t i = 0; i < s["backend"]["script"].size(); ++i) {
      nlohmann::json c = s;
      c["backend"]["script"].erase(i);
      out.push_back(std::move(c));
    }
  }
  for (size_t a = 0; a < actors.size(); ++a) {
    for (size_t i = actors[a]["steps"].size(); i-- > 0;) {
      nlohmann::json c = s;
      c["actors"][a]["steps"].erase(i);
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace

Minimized minimize(const Reproducer& original, const driver::Variant& variant, uint64_t search_schedules) {
  Minimizer minimizer(original.result, variant, search_schedules);
  Minimized out;
  Attempt best = minimizer.replay(original.scenario, original.decisions);
  out.before = ReproducerSize{count_actions(original.scenario), original.decisions.size(), best.preemptions};
  nlohmann::json scenario = original.scenario;
  if (!best.reproduced) {
    // Not reproducible as given (should not happen for a recorded run):
    // hand it back unchanged.
    out.reproducer = original;
    out.after = out.before;
    out.runs = minimizer.runs();
    return out;
  }
  // 1. Fewer actions: delete one thing at a time while the violation stays.
  for (bool progress = true; progress;) {
    progress = false;
    for (const nlohmann::json& candidate : one_smaller(scenario)) {
      Attempt attempt = minimizer.reproduce(candidate, best.decisions);
      if (attempt.reproduced) {
        scenario = candidate;
        best = std::move(attempt);
        progress = true;
        break;
      }
    }
  }
  // 2. A shorter schedule: the shortest prefix that still reproduces (past
  // it, replay runs without preempting).
  size_t low = 0, high = best.decisions.size();
  while (low < high) {
    const size_t middle = (low + high) / 2;
    std::vector<uint32_t> prefix(best.decisions.begin(), best.decisions.begin() + static_cast<long>(middle));
    if (minimizer.replay(scenario, prefix).reproduced) high = middle;
    else low = middle + 1;
  }
  std::vector<uint32_t> decisions(best.decisions.begin(), best.decisions.begin() + static_cast<long>(low));
  // 3. Fewer preemptions: at each step where another task was chosen, let the
  // previous one go on instead, if the violation survives.
  for (size_t i = decisions.size(); i-- > 1;) {
    if (decisions[i] == decisions[i - 1]) continue;
    std::vector<uint32_t> candidate = decisions;
    candidate[i] = decisions[i - 1];
    Attempt attempt = minimizer.replay(scenario, candidate);
    if (attempt.reproduced && attempt.preemptions < best.preemptions) {
      decisions = std::vector<uint32_t>(attempt.decisions.begin(),
                                        attempt.decisions.begin() + static_cast<long>(std::min(attempt.decisions.size(), decisions.size())));
      best = std::move(attempt);
    }
  }
  Attempt final_run = minimizer.replay(scenario, decisions);
  if (!final_run.reproduced) {  // keep the last schedule known to work
    decisions = best.decisions;
    final_run = minimizer.replay(scenario, decisions);
  }
  out.reproducer = Reproducer{scenario, decisions, final_run.result};
  out.after = ReproducerSize{count_actions(scenario), decisions.size(), final_run.preemptions};
  out.runs = minimizer.runs();
  return out;
}

nlohmann::json reproducer_scenario(const Reproducer& reproducer, const std::string& variant, const std::string& name) {
  nlohmann::json s = reproducer.scenario;
  s["name"] = name;
  s["variant"] = variant;
  s["description"] = fmt::format("Reproducer found by xfsim: {} at {}. {}", reproducer.result.verdict(),
                                 reproducer.result.violation ? reproducer.result.violation->site : "",
                                 reproducer.result.violation ? reproducer.result.violation->detail : "");
  nlohmann::json schedule;
  schedule["strategy"] = "replay";
  schedule["decisions"] = reproducer.decisions;
  if (s.contains("schedule") && s["schedule"].contains("steps_max")) schedule["steps_max"] = s["schedule"]["steps_max"];
  s["schedule"] = schedule;
  nlohmann::json expect;
  expect["verdict"] = reproducer.result.verdict();
  if (variant != "correct") expect["by_variant"] = nlohmann::json::object({{"correct", "clean"}});
  s["expect"] = expect;
  return s;
}

}  // namespace xfsim::harness
