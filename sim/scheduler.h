// Scheduler: runs the simulated machine's tasks one step at a time on one host
// thread, asking a Strategy which runnable task goes next at every scheduling
// point, and keeping the virtual clock, timers, lockdep state and the trace.
//
// A task is a kernel or user context (process, kthread, IRQ, worker). It runs
// until it reaches a scheduling point (`co_await sched.point("site")`), blocks
// (sim/wait_queue.h, sim/completion.h, sim/lock.h), or ends. Time only moves
// when nothing is runnable: the clock jumps to the next timer. Nothing here
// reads the host clock, host randomness, threads or pointer values.
#pragma once

#include <coroutine>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/fault.h"
#include "sim/stack.h"
#include "sim/strategy.h"
#include "sim/task.h"
#include "sim/trace.h"
#include "sim/violation.h"

namespace xfsim::sim {

// The context a task runs in, as the kernel tells them apart (in_irq(),
// current->flags & PF_KTHREAD, a kworker, a user process).
enum class TaskKind : uint8_t { kUser, kKthread, kIrq, kWorker };
const char* task_kind_name(TaskKind kind);

// Which machine a task runs on. The home domain is the system under test;
// a fake adds the others (Scheduler::add_domain) and names them. Steps of a
// domain's tasks write that domain's machine resource (sim/footprint.h).
using DomainId = uint8_t;
inline constexpr DomainId kHomeDomain = 0;
inline constexpr DomainId kMaxDomains = kTaskTable - kFirstMachineResource;  // each has a footprint bit

class WaitQueue;
class Lockdep;

enum class RunStatus : uint8_t {
  kFinished,       // every non-daemon task ended (violations may have been reported on the way)
  kViolation,      // a violation of a kind that stops the run (ReportPolicy); see violations()
  kStepLimit,      // the schedule ran past its step bound (inconclusive)
  kTimeLimit,      // the next timer lies past the virtual time bound (inconclusive)
  kStrategyError,  // replay diverged: the schedule is impossible for this run
  kPruned          // the strategy proved the rest equivalent to a schedule it explored
};
const char* run_status_name(RunStatus status);

// Which reports end a run, and which are not reported at all. As in the
// kernel (WARN, lockdep, kasan_multi_shot), most kinds are recorded and the
// run goes on; memory errors stop it by default, since the state after one
// is undefined. A deadlock always ends it.
// Kinds are named as scenarios spell them (ViolationKind::name).
struct ReportPolicy {
  bool stop_on_all = false;           // the first violation of any kind ends the run
  bool stop_on_memory_errors = true;  // ViolationKind::memory_error
  std::vector<std::string> stop_on;   // further kinds that end the run
  std::vector<std::string> ignore;    // kinds dropped without a report
  static ReportPolicy defaults() { return {}; }
  static const ReportPolicy& default_policy();
  bool stops(const ViolationKind& kind) const;
  bool ignores(const ViolationKind& kind) const;
};

// The scheduler's own oracles (lockdep's are in sim/lockdep.h, might_sleep's in sim/wait_queue.h).
inline constexpr ViolationKind kDeadlock{"deadlock", "every task that must finish is blocked and nothing can wake it",
                                         ReportTitle::kWarning, false, /*always_stops=*/true};
inline constexpr ViolationKind kLockHeldAtExit{"lock-held-at-exit", "a task ends while holding a spinlock"};
inline constexpr const ViolationKind* kSchedulerOracles[] = {&kDeadlock, &kLockHeldAtExit};

struct RunLimits {
  uint64_t steps_max = 200000;
  // Virtual time: far beyond any scenario (a run is bounded by its steps),
  // far below where the clock's arithmetic could overflow.
  uint64_t time_ms_max = uint64_t{1} << 53;
};

class Scheduler {
 public:
  Scheduler(Strategy& strategy, Trace& trace);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // A daemon task (xenwatch, IRQ threads, kworkers, the backend's event loop)
  // may stay blocked forever without the run being called stuck.
  TaskId spawn(std::string name, TaskKind kind, Task<> body, bool daemon = false, DomainId domain = kHomeDomain);
  // Another machine, named as its world names it (a Xen domain: "Domain-0").
  DomainId add_domain(std::string name);
  const std::string& domain_name(DomainId domain) const;

  RunStatus run(const RunLimits& limits);
  // Destroys every task's frames; the world that owns the fakes calls it
  // before the fakes go, so no frame outlives what it points at.
  void shutdown() { destroy_all(); }

  // ---- used by model code (awaitables) ----
  struct PointAwaiter {
    Scheduler* scheduler;
    const char* site;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { scheduler->suspend_runnable(h, site); }
    void await_resume() const noexcept {}
  };
  // A scheduling point: the kernel could be preempted here, or another CPU
  // could run. `site` must be a string literal naming the kernel function.
  PointAwaiter point(const char* site) { return PointAwaiter{this, site}; }

  struct BlockAwaiter {
    Scheduler* scheduler;
    WaitQueue* queue;
    const char* site;
    int64_t timeout_ms;  // < 0: no timeout
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept;
    bool await_resume() const noexcept;  // true: woken; false: timed out
  };
  // Blocks the current task on `queue` until woken (or the timeout passes).
  // Not itself a sleep check: sleeping primitives call might_sleep() first,
  // while an IRQ thread's idle wait or a contended spinlock may block here.
  BlockAwaiter block_on(WaitQueue& queue, const char* site, int64_t timeout_ms = -1) {
    return BlockAwaiter{this, &queue, site, timeout_ms};
  }

  // Timers run in the scheduler between steps (softirq-like); their callbacks
  // may only wake or spawn tasks. keepalive=false timers (periodic polls) do
  // not keep a finished run going.
  using TimerId = uint32_t;
  TimerId add_timer(uint64_t delay_ms, std::function<void()> callback, bool keepalive = true);
  // Events at any instant: a timer that is due (its deadline reached) is
  // offered to the strategy as one more option (kDueTimers) at every
  // decision, so an interrupt or a scripted event can land between any two
  // steps, not only once every task has blocked. Choosing it while a task
  // could go on is a preemption. Off by default (traces stay as they were).
  void set_any_instant(bool on) { any_instant_ = on; }
  bool cancel_timer(TimerId id);  // true if it was pending
  bool timer_pending(TimerId id) const;

  void wake_task(TaskId task);  // used by WaitQueue

  // Footprints (sim/footprint.h): a resource for a piece of shared state,
  // reached only through sim::Shared (sim/shared.h), which records each read
  // and write in the running step; the scheduler adds the running task's
  // machine, the task table and the timer queue itself.
  uint32_t new_resource() { return next_resource_++; }

  // Oracles call these. The scheduler adds step, time, task, context and the
  // task's shadow stack. A violation whose kind the policy stops on ends the
  // run after the current step; the others are recorded and the run goes on.
  // One signature is recorded once per run.
  void report(Violation violation);
  // `key`: what tells this finding apart beyond kind and function
  // (Violation::signature_key), e.g. both xenbus states, both lock classes.
  void report(const ViolationKind& kind, std::string site, std::string detail, std::string key = {});
  // The policy must outlive the run (it is the scenario's).
  void set_report_policy(const ReportPolicy& policy) { policy_ = &policy; }
  bool has_violation() const { return !violations_.empty(); }
  bool stopped_by_violation() const { return stop_; }
  const std::vector<Violation>& violations() const { return violations_; }
  uint64_t violations_dropped() const { return violations_dropped_; }
  static constexpr size_t kMaxViolationsPerRun = 32;

  // Shadow stacks (sim/stack.h).
  ShadowStack& shadow_stack(TaskId task) {
    XFSIM_ASSERT(task < stacks_.size(), "stack of task {} of {}", task, stacks_.size());
    return *stacks_[task];
  }
  // The running task's stack, interned; kNoStack outside a task.
  StackId save_stack() { return current_ == kNoTask ? kNoStack : StackDepot::instance().save(*stacks_[current_]); }
  // Where the running task is now: name, context, step, time, stack.
  StackRecord here() const;
  // A record saved earlier (by an allocation or a free).
  StackRecord record_of(TaskId task, StackId stack, uint64_t step, uint64_t time_ms) const;

  // Fault injection (sim/fault.h), asked by every fallible call: 0, the call
  // succeeds; else the (negative) error it returns. Scripted faults must
  // outlive the run (they are the scenario's).
  int should_fail(const FaultSite& site);
  void set_scripted_faults(const std::vector<ScriptedFault>& faults) { scripted_faults_ = &faults; }
  // Whether a strategy exploring faults may also choose the hostile
  // backend's misbehaviours (FaultSite::hostile). Off: only scripted ones.
  void set_hostile_backend(bool on) { hostile_backend_ = on; }
  const std::vector<InjectedFault>& injected_faults() const { return injected_faults_; }

  void log(std::string text);  // printk-like line in the trace
  // The same, formatted only when the trace keeps log lines (never in fuzz
  // loops): the hot path pays nothing for its printks.
  template <typename... Args>
  void logf(fmt::format_string<Args...> format, Args&&... args) {
    if (trace_.logging) log(fmt::format(format, std::forward<Args>(args)...));
  }
  bool logging() const { return trace_.logging; }

  uint64_t now_ms() const { return now_ms_; }
  uint64_t step() const { return step_; }
  TaskId current() const { return current_; }
  const std::string& task_name(TaskId task) const;
  std::string current_name() const;
  TaskKind current_kind() const;
  DomainId current_domain() const;
  bool task_done(TaskId task) const;
  Lockdep& lockdep() { return *lockdep_; }
  Trace& trace() { return trace_; }
  const std::string& strategy_error() const { return strategy_error_; }

  // Atomic-context bookkeeping, maintained by SpinLock.
  void enter_atomic();
  void exit_atomic();
  bool in_atomic() const;

 private:
  enum class State : uint8_t { kRunnable, kBlocked, kDone };
  struct TaskRecord {
    std::string name;
    TaskKind kind;
    DomainId domain;
    bool daemon;
    State state = State::kRunnable;
    std::coroutine_handle<> root;
    std::coroutine_handle<> resume_at;
    const char* site = "spawn";
    WaitQueue* waiting_on = nullptr;
    TimerId wait_timer = 0;
    bool has_wait_timer = false;
    bool timed_out = false;
    int atomic_depth = 0;
  };
  struct Timer {
    uint64_t deadline_ms;
    uint64_t seq;
    TimerId id;
  };
  // The heap's order: earliest deadline first, then the order armed.
  static bool fires_later(const Timer& a, const Timer& b) {
    return a.deadline_ms != b.deadline_ms ? a.deadline_ms > b.deadline_ms : a.seq > b.seq;
  }
  struct TimerSlot {
    std::function<void()> callback;
    bool pending = false;
    bool keepalive = true;
  };

  static constexpr size_t kMaxTasks = 4096;  // TaskIds stay far from kNoTask
  void suspend_runnable(std::coroutine_handle<> h, const char* site);
  void make_runnable(TaskId task);
  void make_blocked(TaskId task);
  bool fire_next_timers(const RunLimits& limits);
  bool timer_due();  // a pending timer's deadline is now (drops cancelled ones at the front)
  void fire_due_timers();
  void fire_timers_due_at(uint64_t deadline);
  void finish_stuck();
  void destroy_all();

  Strategy& strategy_;
  Trace& trace_;
  const StrategyNeeds needs_;  // asked once: the hot loop makes no virtual call for it
  Footprint step_footprint_;
  uint32_t next_resource_ = kFirstDynamicResource;  // before lockdep_, which takes one
  std::unique_ptr<Lockdep> lockdep_;
  std::vector<std::string> domain_names_;  // by DomainId; the home domain first
  std::vector<TaskRecord> tasks_;
  // By TaskId; each at a fixed address (a FunctionFrame points at its task's
  // stack across scheduling points, while spawns may grow tasks_).
  std::vector<std::unique_ptr<ShadowStack>> stacks_;
  std::vector<TaskId> runnable_;  // sorted
  std::vector<Timer> timer_heap_;
  std::vector<TimerSlot> timers_;
  uint64_t timer_seq_ = 0;
  bool any_instant_ = false;
  std::vector<TaskId> options_with_timers_;  // runnable_ + kDueTimers, when a timer is due
  size_t keepalive_pending_ = 0;
  uint64_t now_ms_ = 0;
  uint64_t step_ = 0;
  TaskId current_ = kNoTask;
  TaskId previous_ = kNoTask;
  const ReportPolicy* policy_ = &ReportPolicy::default_policy();
  std::vector<Violation> violations_;
  uint64_t violations_dropped_ = 0;
  bool stop_ = false;
  bool time_limit_hit_ = false;
  std::string strategy_error_;
  // Fault injection: calls so far per site (few sites: a short list, in the
  // order first reached), the scenario's faults, what was injected.
  std::vector<std::pair<const FaultSite*, uint32_t>> fault_site_calls_;
  const std::vector<ScriptedFault>* scripted_faults_ = nullptr;
  std::vector<InjectedFault> injected_faults_;
  bool hostile_backend_ = false;

  void touch(uint32_t resource, bool write = true) { step_footprint_.touch(resource, write); }
  template <typename T>
  friend class Shared;
  friend class MachineCallback;
  friend class WaitQueue;
};

FunctionFrame::FunctionFrame(Scheduler& scheduler, const char* function)
    : stack_(scheduler.current() == kNoTask ? nullptr : &scheduler.shadow_stack(scheduler.current())),
      depth_(0),
      recorder_(nullptr) {
  if (stack_ == nullptr) return;
  depth_ = stack_->depth;
  stack_->push(function);
  if (scheduler.trace().record_calls) [[unlikely]] {
    recorder_ = &scheduler;
    scheduler.trace().calls.push_back(CallEvent{scheduler.step(), scheduler.current(), depth_, function});
  }
}

FunctionFrame::~FunctionFrame() {
  // Restores the depth rather than popping: frames destroyed out of order at
  // shutdown (outer before inner) still leave the stack consistent.
  if (stack_ != nullptr && stack_->depth > depth_) stack_->depth = depth_;
  // A frame left at shutdown (no task running) is not recorded: show ends
  // what is still open at the end of the run.
  if (recorder_ != nullptr && recorder_->current() != kNoTask) [[unlikely]] {
    recorder_->trace().calls.push_back(CallEvent{recorder_->step(), recorder_->current(), depth_, nullptr});
  }
}

}  // namespace xfsim::sim
