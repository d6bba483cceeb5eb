#include "fakes/kmem.h"

#include <fmt/format.h>

#include "sim/assert.h"

namespace xfsim::fakes {

void Kmem::track(std::unique_ptr<KObject> object, const char* type, std::string name, uint32_t device) {
  object->kmem_id = static_cast<uint32_t>(records_.size() + 1);
  Record record;
  record.object = std::move(object);
  record.type = type;
  record.name = std::move(name);
  record.device = device;
  record.alloc_task = scheduler_.current();
  record.alloc_stack = scheduler_.save_stack();
  record.alloc_step = scheduler_.step();
  record.alloc_time_ms = scheduler_.now_ms();
  records_.push_back(std::move(record));
}

bool Kmem::live(const KObject* object) const {
  XFSIM_ASSERT(object != nullptr);
  XFSIM_ASSERT(object->kmem_id >= 1 && object->kmem_id <= records_.size(), "kmem id {} of {}", object->kmem_id,
               records_.size());
  return !records_[object->kmem_id - 1].freed;
}

std::string Kmem::free_task_name(const Record& record) const {
  return record.free_task == sim::kNoTask ? std::string("scheduler") : scheduler_.task_name(record.free_task);
}

sim::Violation Kmem::memory_report(const Record& record, const ViolationKind& kind, const char* site,
                                   const char* access) const {
  sim::Violation v;
  v.kind = &kind;
  v.site = site;
  v.access = access;
  v.object_type = record.type;
  v.object_name = record.name;
  v.allocated = scheduler_.record_of(record.alloc_task, record.alloc_stack, record.alloc_step, record.alloc_time_ms);
  if (record.freed)
    v.freed = scheduler_.record_of(record.free_task, record.free_stack, record.free_step, record.free_time_ms);
  return v;
}

bool Kmem::report_bad_access(const KObject* object, const char* site, const char* access) {
  if (object == nullptr) {
    sim::Violation v;
    v.kind = &kNullDeref;
    v.site = site;
    v.access = access;
    v.detail = fmt::format("{} dereferences NULL", site);
    scheduler_.report(std::move(v));
    return false;
  }
  const Record& record = records_[object->kmem_id - 1];
  XFSIM_ASSERT(record.freed);
  sim::Violation v = memory_report(record, kUseAfterFree, site, access);
  v.detail = fmt::format("{} {} accessed by {} in {} at step {}; freed by {} in {} at step {}", record.type,
                         record.name, scheduler_.current_name(), site, scheduler_.step(), free_task_name(record),
                         record.free_site, record.free_step);
  scheduler_.report(std::move(v));
  return false;
}

void Kmem::kfree(KObject* object, const char* site) {
  if (object == nullptr) return;  // kfree(NULL) is fine
  XFSIM_ASSERT(object->kmem_id >= 1 && object->kmem_id <= records_.size(), "kfree of an object kmem never allocated");
  Record& record = records_[object->kmem_id - 1];
  if (record.freed) {
    sim::Violation v = memory_report(record, kDoubleFree, site, "free");
    v.detail = fmt::format("{} {} freed again by {} in {} at step {}; first freed by {} in {} at step {}", record.type,
                           record.name, scheduler_.current_name(), site, scheduler_.step(), free_task_name(record),
                           record.free_site, record.free_step);
    scheduler_.report(std::move(v));
    return;
  }
  record.freed = true;
  record.free_step = scheduler_.step();
  record.free_time_ms = scheduler_.now_ms();
  record.free_task = scheduler_.current();
  record.free_stack = scheduler_.save_stack();
  record.free_site = site;
}

void Kmem::devres_release_all(uint32_t device, const char* site) {
  for (auto& record : records_) {
    if (record.device == device && !record.freed) kfree(record.object.get(), site);
  }
}

std::vector<std::string> Kmem::live_objects() const {
  std::vector<std::string> names;
  for (const auto& record : records_) {
    if (!record.freed) names.push_back(fmt::format("{} {}", record.type, record.name));
  }
  return names;
}

bool Kref::put(sim::Scheduler& scheduler, const char* site, const std::string& what) {
  if (count <= 0) {
    scheduler.report(kRefcountUnderflow, site,
                     fmt::format("{} put by {} in {} with refcount {}", what, scheduler.current_name(), site, count),
                     site);
    return false;
  }
  return --count == 0;
}

void Kref::get(sim::Scheduler& scheduler, const char* site, const std::string& what) {
  if (count <= 0) {
    scheduler.report(
        kUseAfterFree, site,
        fmt::format("{} got by {} in {} after its refcount reached zero", what, scheduler.current_name(), site), site);
    return;
  }
  ++count;
}

}  // namespace xfsim::fakes
