// Shadow call stacks: every task keeps the stack of modelled kernel functions
// it is in, pushed by the model's functions themselves (named as the kernel
// names them), so a report can say where an access, an allocation or a free
// happened, as KASAN's stack traces do.
//
//   sim::Task<> XenDrmFront::xen_drm_drv_fini(...) {
//     XFSIM_KFUNC(m_.scheduler);                      // pushes "xen_drm_drv_fini"
//   DrmCore::gem_mmap(...) { XFSIM_KFUNC_AS(scheduler_, "drm_gem_mmap"); ... }
//
// A frame lives in the function's (coroutine) frame, so a task's stack stays
// as it was across its scheduling points. Allocations and frees save their
// stack in the StackDepot (the kernel's stackdepot): one id per distinct
// stack, so recording a stack costs a hash lookup and no allocation.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/assert.h"

namespace xfsim::sim {

class Scheduler;
using TaskId = uint32_t;

inline constexpr uint32_t kMaxStackDepth = 32;

struct ShadowStack {
  uint32_t depth = 0;
  const char* frames[kMaxStackDepth];  // outermost first; string literals or __func__

  void push(const char* function) {
    XFSIM_ASSERT(depth < kMaxStackDepth, "shadow stack deeper than {} frames (pushing {})", kMaxStackDepth, function);
    frames[depth++] = function;
  }
  const char* innermost() const { return depth == 0 ? nullptr : frames[depth - 1]; }
};

using StackId = uint32_t;
inline constexpr StackId kNoStack = 0;

// Interned stacks, shared by every run on this thread (ids are never
// printed, only the frames they stand for, so output stays deterministic).
// Bounded by the number of distinct call paths of the model.
class StackDepot {
 public:
  static StackDepot& instance();
  StackId save(const ShadowStack& stack);
  // Innermost first, as a kernel stack trace prints.
  std::vector<std::string> frames(StackId id) const;
  const char* innermost(StackId id) const;

 private:
  struct Entry {
    uint32_t first = 0, depth = 0;  // in frames_
  };
  std::vector<const char*> frames_;
  std::vector<Entry> entries_{Entry{}};  // id 0: no stack
  std::unordered_multimap<uint64_t, StackId> by_hash_;
};

// RAII: the function's frame on the running task's shadow stack. Defined
// inline in sim/scheduler.h: it is on every modelled call.
class FunctionFrame {
 public:
  inline FunctionFrame(Scheduler& scheduler, const char* function);
  inline ~FunctionFrame();
  FunctionFrame(const FunctionFrame&) = delete;
  FunctionFrame& operator=(const FunctionFrame&) = delete;

 private:
  ShadowStack* stack_;   // nullptr outside a task (timer callbacks: softirq)
  uint32_t depth_;       // the stack's depth before the push
  Scheduler* recorder_;  // when its trace records calls (Trace::record_calls), else nullptr
};

}  // namespace xfsim::sim

#define XFSIM_KFUNC_CONCAT_(a, b) a##b
#define XFSIM_KFUNC_NAME_(line) XFSIM_KFUNC_CONCAT_(xfsim_kfunc_frame_, line)
#define XFSIM_KFUNC(scheduler) ::xfsim::sim::FunctionFrame XFSIM_KFUNC_NAME_(__LINE__)((scheduler), __func__)
#define XFSIM_KFUNC_AS(scheduler, name) ::xfsim::sim::FunctionFrame XFSIM_KFUNC_NAME_(__LINE__)((scheduler), (name))
