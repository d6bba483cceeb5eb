#include "sim/scheduler.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "sim/assert.h"
#include "sim/lockdep.h"
#include "sim/wait_queue.h"

namespace xfsim::sim {

// Name tables are switches without a default, alike in shape (here and in
// the fakes): -Wswitch names a value added without a name.
const char* task_kind_name(TaskKind kind) {
  switch (kind) {
    case TaskKind::kUser:
      return "user";
    case TaskKind::kKthread:
      return "kthread";
    case TaskKind::kIrq:
      return "irq";
    case TaskKind::kWorker:
      return "worker";
  }
  XFSIM_ASSERT(false, "unknown task kind {}", static_cast<int>(kind));
}

const char* run_status_name(RunStatus status) {
  switch (status) {
    case RunStatus::kFinished:
      return "finished";
    case RunStatus::kViolation:
      return "violation";
    case RunStatus::kStepLimit:
      return "step-limit";
    case RunStatus::kTimeLimit:
      return "time-limit";
    case RunStatus::kStrategyError:
      return "strategy-error";
    case RunStatus::kPruned:
      return "pruned";
  }
  XFSIM_ASSERT(false, "unknown run status {}", static_cast<int>(status));
}

Scheduler::Scheduler(Strategy& strategy, Trace& trace)
    : strategy_(strategy),
      trace_(trace),
      needs_(strategy.needs()),
      lockdep_(std::make_unique<Lockdep>(*this)),
      domain_names_{"home"} {
  tasks_.reserve(32);
  stacks_.reserve(32);
  runnable_.reserve(32);
  timers_.reserve(32);
}

Scheduler::~Scheduler() { destroy_all(); }

void Scheduler::destroy_all() {
  // Destroying a root frame destroys the awaited children it owns.
  for (auto& task : tasks_) {
    if (task.root) {
      task.root.destroy();
      task.root = {};
    }
  }
}

DomainId Scheduler::add_domain(std::string name) {
  XFSIM_ASSERT(domain_names_.size() < kMaxDomains, "more than {} domains (adding {})", kMaxDomains, name);
  domain_names_.push_back(std::move(name));
  return static_cast<DomainId>(domain_names_.size() - 1);
}

const std::string& Scheduler::domain_name(DomainId domain) const {
  XFSIM_ASSERT(domain < domain_names_.size(), "domain {} of {}", domain, domain_names_.size());
  return domain_names_[domain];
}

TaskId Scheduler::spawn(std::string name, TaskKind kind, Task<> body, bool daemon, DomainId domain) {
  XFSIM_ASSERT(tasks_.size() < kMaxTasks, "more than {} tasks (spawning {})", kMaxTasks, name);
  XFSIM_ASSERT(domain < domain_names_.size(), "{} spawned in domain {} of {}", name, domain, domain_names_.size());
  const auto id = static_cast<TaskId>(tasks_.size());
  TaskRecord record;
  record.name = std::move(name);
  record.kind = kind;
  record.domain = domain;
  record.daemon = daemon;
  record.root = body.release();
  record.resume_at = record.root;
  XFSIM_ASSERT(record.root, "spawn of {} needs a coroutine", record.name);
  tasks_.push_back(std::move(record));
  stacks_.push_back(std::unique_ptr<ShadowStack>(new ShadowStack));  // frames stay uninitialised until pushed
  touch(kTaskTable);                                                 // task ids are handed out in spawn order
  trace_.task_names.push_back(tasks_.back().name);
  trace_.task_domains.push_back(domain == kHomeDomain ? std::string() : domain_names_[domain]);
  trace_.mix(uint64_t{id} << 16 | uint64_t{domain} << 8 | static_cast<uint64_t>(kind));
  trace_.entries.push_back(TraceEntry{TraceEntry::Type::kSpawn, step_, now_ms_, id, 0, 0, false, task_kind_name(kind)});
  strategy_.on_spawn(id);
  make_runnable(id);
  return id;
}

void Scheduler::make_runnable(TaskId task) {
  auto& record = tasks_[task];
  XFSIM_ASSERT(record.state != State::kDone, "task {} woken after it ended", record.name);
  record.state = State::kRunnable;
  auto it = std::lower_bound(runnable_.begin(), runnable_.end(), task);
  if (it == runnable_.end() || *it != task) runnable_.insert(it, task);
}

void Scheduler::make_blocked(TaskId task) {
  XFSIM_ASSERT(task < tasks_.size());
  tasks_[task].state = State::kBlocked;
  auto it = std::lower_bound(runnable_.begin(), runnable_.end(), task);
  if (it != runnable_.end() && *it == task) runnable_.erase(it);
}

void Scheduler::suspend_runnable(std::coroutine_handle<> h, const char* site) {
  XFSIM_ASSERT(current_ != kNoTask, "scheduling point {} outside a task", site);
  auto& record = tasks_[current_];
  record.resume_at = h;
  record.site = site;
}

void Scheduler::BlockAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  Scheduler& s = *scheduler;
  const TaskId self = s.current_;
  XFSIM_ASSERT(self != kNoTask, "{} blocks outside a task", site);
  auto& record = s.tasks_[self];
  record.resume_at = h;
  record.site = site;
  record.waiting_on = queue;
  record.timed_out = false;
  queue->add(self);
  s.make_blocked(self);
  if (timeout_ms >= 0) {
    record.has_wait_timer = true;
    record.wait_timer = s.add_timer(static_cast<uint64_t>(timeout_ms), [&s, self] {
      auto& waiter = s.tasks_[self];
      if (waiter.state != State::kBlocked || waiter.waiting_on == nullptr) return;
      waiter.waiting_on->remove(self);
      waiter.waiting_on = nullptr;
      waiter.has_wait_timer = false;
      waiter.timed_out = true;
      s.make_runnable(self);
    });
  }
}

bool Scheduler::BlockAwaiter::await_resume() const noexcept {
  return !scheduler->tasks_[scheduler->current_].timed_out;
}

void Scheduler::wake_task(TaskId task) {
  XFSIM_ASSERT(task < tasks_.size(), "wake of task {} of {}", task, tasks_.size());
  auto& record = tasks_[task];
  if (record.state != State::kBlocked) return;
  record.waiting_on = nullptr;
  if (record.has_wait_timer) {
    cancel_timer(record.wait_timer);
    record.has_wait_timer = false;
  }
  make_runnable(task);
}

Scheduler::TimerId Scheduler::add_timer(uint64_t delay_ms, std::function<void()> callback, bool keepalive) {
  touch(kTimers);  // timers due at one instant fire in the order they were armed
  const auto id = static_cast<TimerId>(timers_.size());
  timers_.push_back(TimerSlot{std::move(callback), true, keepalive});
  if (keepalive) ++keepalive_pending_;
  timer_heap_.push_back(Timer{now_ms_ + delay_ms, timer_seq_++, id});
  std::push_heap(timer_heap_.begin(), timer_heap_.end(), fires_later);
  return id;
}

bool Scheduler::cancel_timer(TimerId id) {
  XFSIM_ASSERT(id < timers_.size(), "cancel of timer {} of {}", id, timers_.size());
  auto& slot = timers_[id];
  if (!slot.pending) return false;
  touch(kTimers);
  slot.pending = false;
  slot.callback = nullptr;
  if (slot.keepalive) --keepalive_pending_;
  return true;
}

bool Scheduler::timer_pending(TimerId id) const {
  XFSIM_ASSERT(id < timers_.size(), "timer {} of {}", id, timers_.size());
  return timers_[id].pending;
}

// Advances the clock to the earliest pending timer and fires every timer due
// then, in the order they were armed. Returns false when none is pending.
// A timer past the time bound ends the run as kTimeLimit (time_limit_hit_).
bool Scheduler::fire_next_timers(const RunLimits& limits) {
  while (!timer_heap_.empty() && !timers_[timer_heap_.front().id].pending) {
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), fires_later);
    timer_heap_.pop_back();
  }
  if (timer_heap_.empty()) return false;
  const uint64_t deadline = timer_heap_.front().deadline_ms;
  if (deadline > limits.time_ms_max) {
    time_limit_hit_ = true;
    return false;
  }
  XFSIM_ASSERT(deadline >= now_ms_, "virtual time goes back from {} to {} ms", now_ms_, deadline);
  now_ms_ = deadline;
  fire_timers_due_at(deadline);
  return true;
}

// Every pending timer of that deadline, in the order armed.
void Scheduler::fire_timers_due_at(uint64_t deadline) {
  while (!timer_heap_.empty() && timer_heap_.front().deadline_ms == deadline) {
    const TimerId id = timer_heap_.front().id;
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), fires_later);
    timer_heap_.pop_back();
    auto& slot = timers_[id];
    if (!slot.pending) continue;
    slot.pending = false;
    if (slot.keepalive) --keepalive_pending_;
    auto callback = std::move(slot.callback);
    slot.callback = nullptr;
    callback();
  }
}

bool Scheduler::timer_due() {
  while (!timer_heap_.empty() && !timers_[timer_heap_.front().id].pending) {
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), fires_later);
    timer_heap_.pop_back();
  }
  return !timer_heap_.empty() && timer_heap_.front().deadline_ms <= now_ms_;
}

void Scheduler::fire_due_timers() {
  XFSIM_ASSERT(timer_due(), "due timers chosen at t={} ms with none due", now_ms_);
  // A timer callback wakes (a timeout), spawns or acts for a machine, and a
  // wakeup by timeout is not recorded on the wait queue: the step is taken
  // as dependent on every other (it writes every machine), which costs
  // pruning, never a schedule sleep sets should not have skipped.
  touch(kTimers);
  for (DomainId domain = 0; domain < domain_names_.size(); ++domain) touch(machine_resource(domain));
  fire_timers_due_at(timer_heap_.front().deadline_ms);
}

namespace {
// While a scheduler runs, a failed XFSIM_ASSERT names its step, time and task.
class AssertScope {
 public:
  explicit AssertScope(const Scheduler* scheduler)
      : previous_(set_assert_context(AssertContext{scheduler, [](const void* owner) {
                                                     const auto* s = static_cast<const Scheduler*>(owner);
                                                     return fmt::format("step {}, t={} ms, task {}", s->step(),
                                                                        s->now_ms(), s->current_name());
                                                   }})) {}
  ~AssertScope() { set_assert_context(previous_); }
  AssertScope(const AssertScope&) = delete;
  AssertScope& operator=(const AssertScope&) = delete;

 private:
  AssertContext previous_;
};
}  // namespace

RunStatus Scheduler::run(const RunLimits& limits) {
  const AssertScope assert_scope(this);
  while (true) {
    if (stop_) return RunStatus::kViolation;
    if (runnable_.empty()) {
      bool work_left = false;
      for (const auto& task : tasks_) {
        if (!task.daemon && task.state != State::kDone) work_left = true;
      }
      if (!work_left && keepalive_pending_ == 0) return RunStatus::kFinished;
      if (!fire_next_timers(limits)) {
        if (time_limit_hit_) return RunStatus::kTimeLimit;
        finish_stuck();
        return stop_ ? RunStatus::kViolation : RunStatus::kFinished;
      }
      continue;
    }
    if (step_ >= limits.steps_max) return RunStatus::kStepLimit;

    const bool offer_timers = any_instant_ && timer_due();
    if (offer_timers) {
      options_with_timers_.assign(runnable_.begin(), runnable_.end());
      options_with_timers_.push_back(kDueTimers);  // after every task: the order stays sorted
    }
    // Unchanged until the chosen task resumes.
    const std::vector<TaskId>& options = offer_timers ? options_with_timers_ : runnable_;
    const TaskId still_runnable =
        (previous_ != kNoTask && std::binary_search(options.begin(), options.end(), previous_)) ? previous_ : kNoTask;
    size_t choice = 0;
    if (options.size() > 1 || needs_.every_step) {
      Decision decision{step_, still_runnable, options, still_runnable != kNoTask ? tasks_[still_runnable].site : ""};
      const Choice chosen = strategy_.choose(decision);
      if (chosen.outcome == Choice::Outcome::kDiverged) {
        strategy_error_ = strategy_.divergence();
        return RunStatus::kStrategyError;
      }
      if (chosen.outcome == Choice::Outcome::kPrune) return RunStatus::kPruned;
      choice = chosen.index;
      XFSIM_ASSERT(choice < options.size(), "strategy {} chose {} of {} runnable tasks", strategy_.name(), choice,
                   options.size());
    }
    const TaskId next = options[choice];
    if (next == kDueTimers) {
      // An interrupt's worth of work between two steps: the due timers fire
      // in this step, which belongs to no task; the previous task stays the
      // one whose continuation is not a preemption.
      trace_.record_decision(TraceEntry{TraceEntry::Type::kDecision, step_, now_ms_, kDueTimers,
                                        static_cast<uint32_t>(choice), static_cast<uint32_t>(options.size()),
                                        still_runnable != kNoTask, "due_timers"});
      ++step_;
      step_footprint_ = Footprint{};
      fire_due_timers();
      if (needs_.footprints) strategy_.after_step(kDueTimers, step_footprint_);
      continue;
    }
    XFSIM_ASSERT(tasks_[next].state == State::kRunnable && tasks_[next].resume_at, "task {} chosen but not runnable",
                 tasks_[next].name);
    XFSIM_ASSERT(current_ == kNoTask);
    trace_.record_decision(TraceEntry{TraceEntry::Type::kDecision, step_, now_ms_, next, static_cast<uint32_t>(choice),
                                      static_cast<uint32_t>(options.size()),
                                      still_runnable != kNoTask && next != still_runnable, tasks_[next].site});
    ++step_;
    current_ = next;
    step_footprint_ = Footprint{};
    touch(machine_resource(tasks_[next].domain));
    tasks_[next].resume_at.resume();
    current_ = kNoTask;
    previous_ = next;
    if (needs_.footprints) strategy_.after_step(next, step_footprint_);
    auto& record = tasks_[next];  // taken after the step: it may have spawned (tasks_ grew)
    if (record.root.done()) {
      record.root.destroy();
      record.root = {};
      record.resume_at = {};
      make_blocked(next);
      record.state = State::kDone;
      if (record.atomic_depth != 0) {
        Violation v;
        v.kind = &kLockHeldAtExit;
        v.site = record.name;
        v.detail = fmt::format("task {} ended holding {} spinlock(s)", record.name, record.atomic_depth);
        v.where = record_of(next, kNoStack, step_, now_ms_);
        report(std::move(v));
      }
    }
  }
}

// Nothing is runnable and no timer can change that: if a task that must end
// is still blocked, every task is blocked — a deadlock.
void Scheduler::finish_stuck() {
  std::string blocked, key;
  for (const auto& task : tasks_) {
    if (task.daemon || task.state == State::kDone) continue;
    if (!blocked.empty()) blocked += ", ";
    blocked += fmt::format("{} at {} ({})", task.name, task.site, task.waiting_on ? task.waiting_on->name() : "?");
    key += fmt::format("{}{}", key.empty() ? "" : ", ", task.waiting_on ? task.waiting_on->name() : task.site);
  }
  if (!blocked.empty()) {
    report(kDeadlock, "scheduler", "every task is blocked: " + blocked, "blocked on " + key);
  }
}

const ReportPolicy& ReportPolicy::default_policy() {
  static const ReportPolicy policy = defaults();
  return policy;
}

bool ReportPolicy::stops(const ViolationKind& kind) const {
  return stop_on_all || kind.always_stops || (stop_on_memory_errors && kind.memory_error) ||
         std::find(stop_on.begin(), stop_on.end(), kind.name) != stop_on.end();
}

bool ReportPolicy::ignores(const ViolationKind& kind) const {
  return !kind.always_stops && std::find(ignore.begin(), ignore.end(), kind.name) != ignore.end();
}

StackRecord Scheduler::here() const {
  StackRecord record;
  record.step = step_;
  record.time_ms = now_ms_;
  if (current_ == kNoTask) {
    record.task = "scheduler";
    record.context = "softirq";
    return record;
  }
  const TaskRecord& task = tasks_[current_];
  const ShadowStack& stack = *stacks_[current_];
  record.task = task.name;
  record.context = task_kind_name(task.kind);
  for (uint32_t i = stack.depth; i-- > 0;) record.frames.emplace_back(stack.frames[i]);
  return record;
}

StackRecord Scheduler::record_of(TaskId task, StackId stack, uint64_t step, uint64_t time_ms) const {
  StackRecord record;
  record.step = step;
  record.time_ms = time_ms;
  record.task = task == kNoTask ? std::string("scheduler") : tasks_[task].name;
  record.context = task == kNoTask ? "softirq" : task_kind_name(tasks_[task].kind);
  record.frames = StackDepot::instance().frames(stack);
  return record;
}

void Scheduler::report(Violation v) {
  XFSIM_ASSERT(v.kind != nullptr, "a violation at {} without a kind", v.site);
  if (stop_ || policy_->ignores(*v.kind)) return;  // after a stopping report, the state is not to be judged
  v.step = step_;
  if (v.where.task.empty()) v.where = here();
  v.task = v.where.task;
  const std::string signature = v.signature();
  for (const auto& seen : violations_) {
    if (seen.signature() == signature) return;  // the same bug again (a loop, a second object)
  }
  if (policy_->stops(*v.kind)) stop_ = true;
  trace_.mix(signature);
  if (violations_.size() >= kMaxViolationsPerRun) {
    ++violations_dropped_;
    return;
  }
  if (trace_.logging) {
    trace_.violations.push_back(v);
    trace_.entries.push_back(TraceEntry{TraceEntry::Type::kViolation, step_, now_ms_, current_, 0, 0, false, "",
                                        static_cast<uint32_t>(trace_.violations.size() - 1)});
  }
  violations_.push_back(std::move(v));
}

void Scheduler::report(const ViolationKind& kind, std::string site, std::string detail, std::string key) {
  Violation v;
  v.kind = &kind;
  v.site = std::move(site);
  v.detail = std::move(detail);
  v.signature_key = std::move(key);
  report(std::move(v));
}

int Scheduler::should_fail(const FaultSite& site) {
  // Nothing can fail: the calls need not even be counted.
  if (!needs_.faults && (scripted_faults_ == nullptr || scripted_faults_->empty())) return 0;
  auto calls = std::find_if(fault_site_calls_.begin(), fault_site_calls_.end(),
                            [&site](const auto& entry) { return entry.first == &site; });
  if (calls == fault_site_calls_.end()) {
    fault_site_calls_.emplace_back(&site, 0);
    calls = fault_site_calls_.end() - 1;
  }
  const uint32_t nth = ++calls->second;
  int error = 0;
  bool explored = false;
  if (scripted_faults_ != nullptr) {
    for (const ScriptedFault& fault : *scripted_faults_) {
      if (fault.nth == nth && fault.site == site.name) error = fault.error != 0 ? fault.error : site.error;
    }
  }
  if (error == 0 && needs_.faults && (!site.hostile || hostile_backend_) &&
      strategy_.inject_fault(FaultPoint{step_, &site, nth})) {
    error = site.error;
    explored = true;
  }
  if (error == 0) return 0;
  XFSIM_ASSERT(error < 0, "fault site {} fails with {}, not a negative errno", site.name, error);
  injected_faults_.push_back(InjectedFault{&site, nth, error, explored, step_});
  TraceEntry entry{TraceEntry::Type::kFault, step_, now_ms_, current_, nth, 0, explored, site.name};
  entry.error = error;
  trace_.entries.push_back(entry);
  trace_.mix(std::string(site.name));
  trace_.mix((uint64_t{nth} << 32) ^ static_cast<uint32_t>(error));
  return error;
}

void Scheduler::log(std::string text) {
  if (!trace_.logging) return;
  trace_.log_lines.push_back(std::move(text));
  trace_.entries.push_back(TraceEntry{TraceEntry::Type::kLog, step_, now_ms_, current_, 0, 0, false, "",
                                      static_cast<uint32_t>(trace_.log_lines.size() - 1)});
}

const std::string& Scheduler::task_name(TaskId task) const { return tasks_[task].name; }

std::string Scheduler::current_name() const {
  return current_ != kNoTask ? tasks_[current_].name : std::string("scheduler");
}

TaskKind Scheduler::current_kind() const { return current_ != kNoTask ? tasks_[current_].kind : TaskKind::kKthread; }
DomainId Scheduler::current_domain() const { return current_ != kNoTask ? tasks_[current_].domain : kHomeDomain; }

bool Scheduler::task_done(TaskId task) const { return tasks_[task].state == State::kDone; }

void Scheduler::enter_atomic() {
  if (current_ != kNoTask) ++tasks_[current_].atomic_depth;
}
void Scheduler::exit_atomic() {
  if (current_ != kNoTask) {
    XFSIM_ASSERT(tasks_[current_].atomic_depth > 0, "{} leaves atomic context it never entered", tasks_[current_].name);
    --tasks_[current_].atomic_depth;
  }
}
bool Scheduler::in_atomic() const {
  if (current_ == kNoTask) return true;  // timer callbacks are softirq context
  return tasks_[current_].atomic_depth > 0 || tasks_[current_].kind == TaskKind::kIrq;
}

}  // namespace xfsim::sim
