// Kmem: the lifetime tracker every simulated kernel object is allocated from
// (a KASAN-like oracle). kfree() poisons an object instead of releasing its
// memory, and no memory is reused within a run, so a model bug is reported
// (use-after-free, double-free, refcount-underflow, leak) and never becomes
// undefined behaviour of the harness itself.
//
// devm allocations belong to a device and die with it (devres_release_all).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fakes/memory_errors.h"
#include "sim/assert.h"
#include "sim/scheduler.h"

namespace xfsim::fakes {

// Base of every tracked object. Model code calls `kmem.check(obj, site)` where
// the kernel would dereference the object.
struct KObject {
  virtual ~KObject() = default;
  uint32_t kmem_id = 0;
};

class Kmem {
 public:
  explicit Kmem(sim::Scheduler& scheduler) : scheduler_(scheduler) { records_.reserve(128); }

  template <typename T, typename... Args>
  T* kzalloc(const char* type, std::string name, Args&&... args) {
    auto object = std::make_unique<T>(std::forward<Args>(args)...);
    T* raw = object.get();
    track(std::move(object), type, std::move(name), kNoDevice);
    return raw;
  }

  // devm_kzalloc(dev, ...): freed by devres_release_all(dev).
  template <typename T, typename... Args>
  T* devm_kzalloc(uint32_t device, const char* type, std::string name, Args&&... args) {
    auto object = std::make_unique<T>(std::forward<Args>(args)...);
    T* raw = object.get();
    track(std::move(object), type, std::move(name), device);
    return raw;
  }

  void kfree(KObject* object, const char* site);
  void rename(const KObject* object, std::string name) { records_[object->kmem_id - 1].name = std::move(name); }
  void devres_release_all(uint32_t device, const char* site);
  // True when live; reports use-after-free (with where it was freed) if not.
  // Called wherever the kernel would dereference, so the live case is inline.
  bool check(const KObject* object, const char* site, const char* access = "read") {
    XFSIM_ASSERT(object == nullptr || object->kmem_id - 1u < records_.size(), "kmem id {} of {}", object->kmem_id,
                 records_.size());
    if (object != nullptr && !records_[object->kmem_id - 1].freed) return true;
    return report_bad_access(object, site, access);
  }
  bool live(const KObject* object) const;
  // Objects still allocated (for the end-of-run leak oracle).
  std::vector<std::string> live_objects() const;

  static constexpr uint32_t kNoDevice = 0xffffffffu;
  // Every object of the run, oldest first: fn(type, object, freed). For
  // observers between steps (harness/lifecycle_coverage.h), never for model
  // code: it is no access the kernel makes.
  template <typename Fn>
  void for_each_object(Fn&& fn) const {
    for (const Record& record : records_) fn(record.type, *record.object, record.freed);
  }
  // The name an object was allocated (or renamed) with; for the same observers.
  const std::string& name_of(const KObject& object) const { return records_[object.kmem_id - 1].name; }

 private:
  struct Record {
    std::unique_ptr<KObject> object;
    const char* type = "";
    std::string name;
    uint32_t device = kNoDevice;
    bool freed = false;
    // Where it was allocated and freed (KASAN's "Allocated by" / "Freed by").
    sim::TaskId alloc_task = sim::kNoTask;  // kNoTask: from a timer (softirq)
    sim::StackId alloc_stack = sim::kNoStack;
    uint64_t alloc_step = 0, alloc_time_ms = 0;
    sim::TaskId free_task = sim::kNoTask;
    sim::StackId free_stack = sim::kNoStack;
    uint64_t free_step = 0, free_time_ms = 0;
    const char* free_site = "";
  };
  // The report of a bad access or free of `record`, with both stacks.
  sim::Violation memory_report(const Record& record, const ViolationKind& kind, const char* site,
                               const char* access) const;
  void track(std::unique_ptr<KObject> object, const char* type, std::string name, uint32_t device);
  bool report_bad_access(const KObject* object, const char* site, const char* access);
  std::string free_task_name(const Record& record) const;

  sim::Scheduler& scheduler_;
  std::vector<Record> records_;  // index = kmem_id - 1
};

// kref: a refcount whose underflow is reported, and whose release runs when it
// reaches zero (the caller does that, as kref_put's release callback).
struct Kref {
  int32_t count = 1;
  // Returns true when this put dropped the last reference.
  bool put(sim::Scheduler& scheduler, const char* site, const std::string& what);
  void get(sim::Scheduler& scheduler, const char* site, const std::string& what);
};

}  // namespace xfsim::fakes
