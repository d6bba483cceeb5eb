// Abstract lifecycle coverage (docs/fuzzing.md): the tuple of the frontend's
// and the backend's xenbus states, the DRM device's state (allocated,
// registered, unplugged, released), each buffer's lifecycle state, and how
// many open files, mappings, framebuffers, dma-bufs, displif requests in
// flight and commits are outstanding, sampled at the scheduling decisions of
// a run and at its end; the transitions between tuples, and each
// component's own states and transitions (each buffer's followed by its
// object), hashed into a deterministic set of 64-bit features.
//
// Off unless a run is given an observer (run_once's last argument): with
// none, nothing here runs, so campaigns and `bazel run //:bench` pay nothing.
// With one, run_once wraps the strategy in a SamplingStrategy, which samples
// at every decision (the points where the run could have gone otherwise),
// reading the world between steps without recording any access.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fakes/kmem.h"
#include "fakes/xenstore.h"
#include "sim/strategy.h"

namespace xfsim::harness {

enum class LifecycleComponent : uint8_t {
  kFrontend,      // xenbus state, 0..8
  kBackend,       // xenbus state, 0..8
  kDrmDevice,     // LifecycleDrmState
  kBuffer,        // LifecycleBufferState, per GEM object
  kFiles,         // drm_files not yet released: 0, 1, 2, 3 or more
  kMappings,      // vm_area_structs of the device's objects and dma-bufs
  kFramebuffers,  // drm_framebuffers alive
  kDmaBufs,       // dma-bufs alive
  kRequests,      // displif requests pushed and not yet answered (every ring)
  kCommits,       // drm_atomic_states and pending vblank events alive
  kDbufs,         // the driver's xen_drm_front_dbufs alive
  kCount
};
inline constexpr size_t kLifecycleComponents = static_cast<size_t>(LifecycleComponent::kCount);

enum LifecycleDrmState : uint8_t { kDrmNone, kDrmAllocated, kDrmRegistered, kDrmUnplugged, kDrmReleased };
enum LifecycleBufferState : uint8_t {
  kBufferNone,        // before it is created (the first transition's source)
  kBufferHandle,      // alive, a handle names it
  kBufferReferenced,  // alive with no handle: an fb, a mapping or a dma-buf holds it
  kBufferExported,    // alive and exported as a dma-buf
  kBufferImported,    // alive, imported from a foreign dma-buf
  kBufferFreed
};

const char* lifecycle_component_name(LifecycleComponent component);
// The name of `value` of `component` ("Connected", "unplugged", "2", "3+").
std::string lifecycle_value_name(LifecycleComponent component, uint8_t value);
// The values a component can take, for reports of what was never reached.
uint8_t lifecycle_value_count(LifecycleComponent component);

// A feature: kind in the top byte. kState and kTransition name one
// component's value or change (decodable); kTuple and kTupleTransition are
// hashes of whole tuples.
enum class FeatureKind : uint8_t { kState = 1, kTransition = 2, kTuple = 3, kTupleTransition = 4 };
inline FeatureKind feature_kind(uint64_t feature) { return static_cast<FeatureKind>(feature >> 56); }
inline LifecycleComponent feature_component(uint64_t feature) {
  return static_cast<LifecycleComponent>((feature >> 16) & 0xff);
}
inline uint8_t feature_from(uint64_t feature) { return static_cast<uint8_t>(feature >> 8); }
inline uint8_t feature_to(uint64_t feature) { return static_cast<uint8_t>(feature); }

// One run's observations.
class LifecycleObserver {
 public:
  // Reads the world: the xenbus state nodes and every kmem object.
  void sample(const fakes::Kmem& kmem, const fakes::XenStore& store, const std::string& frontend_state,
              const std::string& backend_state);
  // The run's features, sorted, each once.
  std::vector<uint64_t> features();
  uint64_t samples() const { return samples_; }

 private:
  void add(uint64_t feature) { features_.push_back(feature); }
  std::array<uint8_t, kLifecycleComponents> last_{};
  uint64_t last_hash_ = 0;
  bool sampled_ = false;
  uint64_t samples_ = 0;
  std::map<uint32_t, uint8_t> buffers_;  // kmem id -> last state
  std::vector<uint64_t> features_;
};

// A strategy that samples before each decision, then lets `inner` decide.
class SamplingStrategy final : public sim::Strategy {
 public:
  SamplingStrategy(sim::Strategy& inner, std::function<void()> sample) : inner_(inner), sample_(std::move(sample)) {}
  const char* name() const override { return inner_.name(); }
  void begin_schedule(uint64_t index) override { inner_.begin_schedule(index); }
  sim::Choice choose(const sim::Decision& decision) override {
    sample_();
    return inner_.choose(decision);
  }
  void end_schedule() override { inner_.end_schedule(); }
  bool exhausted() const override { return inner_.exhausted(); }
  sim::StrategyNeeds needs() const override { return inner_.needs(); }
  void on_spawn(sim::TaskId task) override { inner_.on_spawn(task); }
  void after_step(sim::TaskId task, const sim::Footprint& footprint) override { inner_.after_step(task, footprint); }
  bool inject_fault(const sim::FaultPoint& point) override { return inner_.inject_fault(point); }
  std::string divergence() const override { return inner_.divergence(); }

 private:
  sim::Strategy& inner_;
  std::function<void()> sample_;
};

// Features accumulated over many runs (a corpus), with what each kind counts.
class LifecycleCoverage {
 public:
  // Adds a run's features; returns how many were new.
  size_t merge(const std::vector<uint64_t>& features);
  size_t size() const { return seen_.size(); }
  bool contains(uint64_t feature) const;
  const std::set<uint64_t>& features() const { return seen_; }
  // The report of `xfsim coverage`: each component's states and transitions
  // reached, and the states never reached.
  std::string report() const;

 private:
  std::set<uint64_t> seen_;
};

}  // namespace xfsim::harness
