#include "harness/lifecycle_coverage.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "driver_core/xen_drm_front.h"
#include "fakes/displif.h"
#include "fakes/drm.h"

namespace xfsim::harness {

namespace {

constexpr uint8_t kSaturate = 3;  // counts: 0, 1, 2, 3 or more

uint8_t saturated(uint32_t n) { return static_cast<uint8_t>(std::min<uint32_t>(n, kSaturate)); }

uint64_t state_feature(LifecycleComponent c, uint8_t value) {
  return (uint64_t{static_cast<uint8_t>(FeatureKind::kState)} << 56) | (uint64_t{static_cast<uint8_t>(c)} << 16) |
         value;
}

uint64_t transition_feature(LifecycleComponent c, uint8_t from, uint8_t to) {
  return (uint64_t{static_cast<uint8_t>(FeatureKind::kTransition)} << 56) | (uint64_t{static_cast<uint8_t>(c)} << 16) |
         (uint64_t{from} << 8) | to;
}

uint64_t hashed_feature(FeatureKind kind, uint64_t hash) {
  return (uint64_t{static_cast<uint8_t>(kind)} << 56) | (hash & 0x00ffffffffffffffULL);
}

uint64_t fnv(uint64_t hash, uint64_t value) {
  for (int i = 0; i < 8; ++i) hash = (hash ^ ((value >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
  return hash;
}

bool is(const char* type, const char* name) { return std::strcmp(type, name) == 0; }

uint8_t xenbus_state(const fakes::XenStore& store, const std::string& path) {
  const std::optional<std::string> text = store.peek(path);
  return text ? static_cast<uint8_t>(fakes::xenbus_state_from_string(*text)) : 0;
}

uint8_t buffer_state(const fakes::drm_gem_object& obj, bool freed) {
  if (freed) return kBufferFreed;
  if (obj.import_attach != nullptr) return kBufferImported;
  if (obj.dma_buf != nullptr) return kBufferExported;
  return obj.handle_count > 0 ? kBufferHandle : kBufferReferenced;
}

}  // namespace

const char* lifecycle_component_name(LifecycleComponent component) {
  static constexpr const char* kNames[] = {"frontend xenbus state",
                                           "backend xenbus state",
                                           "DRM device",
                                           "buffer (GEM object)",
                                           "open files",
                                           "mappings",
                                           "framebuffers",
                                           "dma-bufs",
                                           "displif requests in flight",
                                           "commits and pending events",
                                           "driver dbufs"};
  return kNames[static_cast<size_t>(component)];
}

uint8_t lifecycle_value_count(LifecycleComponent component) {
  switch (component) {
    case LifecycleComponent::kFrontend:
    case LifecycleComponent::kBackend:
      return 9;
    case LifecycleComponent::kDrmDevice:
      return 5;
    case LifecycleComponent::kBuffer:
      return 6;
    default:
      return kSaturate + 1;
  }
}

std::string lifecycle_value_name(LifecycleComponent component, uint8_t value) {
  switch (component) {
    case LifecycleComponent::kFrontend:
    case LifecycleComponent::kBackend:
      return fakes::xenbus_strstate(static_cast<fakes::XenbusState>(value));
    case LifecycleComponent::kDrmDevice: {
      static constexpr const char* kNames[] = {"none", "allocated", "registered", "unplugged", "released"};
      return value < 5 ? kNames[value] : "?";
    }
    case LifecycleComponent::kBuffer: {
      static constexpr const char* kNames[] = {"(not yet created)", "handle",   "referenced without handle",
                                               "exported",          "imported", "freed"};
      return value < 6 ? kNames[value] : "?";
    }
    default:
      return value >= kSaturate ? fmt::format("{}+", kSaturate) : std::to_string(value);
  }
}

void LifecycleObserver::sample(const fakes::Kmem& kmem, const fakes::XenStore& store, const std::string& frontend_state,
                               const std::string& backend_state) {
  ++samples_;
  std::array<uint8_t, kLifecycleComponents> now{};
  auto at = [&now](LifecycleComponent c) -> uint8_t& { return now[static_cast<size_t>(c)]; };
  at(LifecycleComponent::kFrontend) = xenbus_state(store, frontend_state);
  at(LifecycleComponent::kBackend) = xenbus_state(store, backend_state);
  uint32_t files = 0, mappings = 0, fbs = 0, dmabufs = 0, requests = 0, commits = 0, dbufs = 0;
  uint8_t drm = kDrmNone;
  uint32_t buffer_mask = 0;
  kmem.for_each_object([&](const char* type, const fakes::KObject& object, bool freed) {
    if (is(type, "xen_gem_object")) {
      const uint8_t state = buffer_state(static_cast<const driver::xen_gem_object&>(object), freed);
      buffer_mask |= 1u << state;
      auto [it, fresh] = buffers_.try_emplace(object.kmem_id, kBufferNone);
      if (it->second != state) {
        add(transition_feature(LifecycleComponent::kBuffer, it->second, state));
        it->second = state;
      }
      add(state_feature(LifecycleComponent::kBuffer, state));
      return;
    }
    if (is(type, "drm_device")) {  // the newest device counts
      const auto& dev = static_cast<const fakes::drm_device&>(object);
      drm = freed ? kDrmReleased : dev.unplugged ? kDrmUnplugged : dev.registered ? kDrmRegistered : kDrmAllocated;
      return;
    }
    if (freed) return;
    if (is(type, "drm_file")) {
      files += !static_cast<const fakes::drm_file&>(object).closed;
    } else if (is(type, "vm_area_struct")) {
      ++mappings;
    } else if (is(type, "drm_framebuffer")) {
      ++fbs;
    } else if (is(type, "dma_buf")) {
      ++dmabufs;
    } else if (is(type, "drm_atomic_state") || is(type, "drm_pending_vblank_event")) {
      ++commits;
    } else if (is(type, "xen_drm_front_dbuf")) {
      ++dbufs;
    } else if (is(type, "displif_ring")) {
      const auto& page = static_cast<const fakes::DisplifRing&>(object).page.observe();
      requests += page.req_prod_pvt - page.rsp_cons;
    }
  });
  at(LifecycleComponent::kDrmDevice) = drm;
  at(LifecycleComponent::kBuffer) = static_cast<uint8_t>(buffer_mask);  // in the tuple: which states are present
  at(LifecycleComponent::kFiles) = saturated(files);
  at(LifecycleComponent::kMappings) = saturated(mappings);
  at(LifecycleComponent::kFramebuffers) = saturated(fbs);
  at(LifecycleComponent::kDmaBufs) = saturated(dmabufs);
  at(LifecycleComponent::kRequests) = saturated(requests);
  at(LifecycleComponent::kCommits) = saturated(commits);
  at(LifecycleComponent::kDbufs) = saturated(dbufs);
  if (sampled_ && now == last_) return;
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (uint8_t v : now) hash = fnv(hash, v);
  add(hashed_feature(FeatureKind::kTuple, hash));
  for (size_t c = 0; c < kLifecycleComponents; ++c) {
    const auto component = static_cast<LifecycleComponent>(c);
    if (component == LifecycleComponent::kBuffer) continue;  // per object, above
    add(state_feature(component, now[c]));
    if (sampled_ && now[c] != last_[c]) add(transition_feature(component, last_[c], now[c]));
  }
  if (sampled_) add(hashed_feature(FeatureKind::kTupleTransition, fnv(last_hash_, hash)));
  last_ = now;
  last_hash_ = hash;
  sampled_ = true;
}

std::vector<uint64_t> LifecycleObserver::features() {
  std::sort(features_.begin(), features_.end());
  features_.erase(std::unique(features_.begin(), features_.end()), features_.end());
  return features_;
}

size_t LifecycleCoverage::merge(const std::vector<uint64_t>& features) {
  size_t added = 0;
  for (uint64_t f : features) added += seen_.insert(f).second;
  return added;
}

bool LifecycleCoverage::contains(uint64_t feature) const { return seen_.count(feature) != 0; }

std::string LifecycleCoverage::report() const {
  std::string out;
  size_t tuples = 0, tuple_transitions = 0;
  for (uint64_t f : seen_) {
    tuples += feature_kind(f) == FeatureKind::kTuple;
    tuple_transitions += feature_kind(f) == FeatureKind::kTupleTransition;
  }
  out += fmt::format("lifecycle tuples reached: {}, transitions between tuples: {}, features in all: {}\n", tuples,
                     tuple_transitions, seen_.size());
  for (size_t c = 0; c < kLifecycleComponents; ++c) {
    const auto component = static_cast<LifecycleComponent>(c);
    std::vector<std::string> reached, never, transitions;
    for (uint8_t v = 0; v < lifecycle_value_count(component); ++v) {
      if (component == LifecycleComponent::kBuffer && v == kBufferNone) continue;
      (contains(state_feature(component, v)) ? reached : never).push_back(lifecycle_value_name(component, v));
    }
    for (auto it = seen_.lower_bound(transition_feature(component, 0, 0));
         it != seen_.end() && feature_kind(*it) == FeatureKind::kTransition && feature_component(*it) == component;
         ++it) {
      transitions.push_back(fmt::format("{} -> {}", lifecycle_value_name(component, feature_from(*it)),
                                        lifecycle_value_name(component, feature_to(*it))));
    }
    out +=
        fmt::format("{}:\n  reached: {}\n  never:   {}\n  transitions ({}): {}\n", lifecycle_component_name(component),
                    reached.empty() ? "-" : fmt::format("{}", fmt::join(reached, ", ")),
                    never.empty() ? "-" : fmt::format("{}", fmt::join(never, ", ")), transitions.size(),
                    transitions.empty() ? "-" : fmt::format("{}", fmt::join(transitions, "; ")));
  }
  return out;
}

}  // namespace xfsim::harness
