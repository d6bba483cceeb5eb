#include "fakes/kmem.h"

#include "sim/assert.h"

#include <fmt/format.h>

namespace xfsim::fakes {

void Kmem::track(std::unique_ptr<KObject> object, const char* type, std::string name,
                 uint32_t device) {
  object->kmem_id = static_cast<uint32_t>(records_.size() + 1);
  Record record;
  record.object = std::move(object);
  record.type = type;
  record.name = std::move(name);
  record.device = device;
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

bool Kmem::report_bad_access(const KObject* object, const char* site) {
  if (object == nullptr) {
    scheduler_.report("null-deref", site, fmt::format("{} dereferences NULL", site));
    return false;
  }
  const Record& record = records_[object->kmem_id - 1];
  XFSIM_ASSERT(record.freed);
  scheduler_.report(
      "use-after-free", site,
      fmt::format("{} {} accessed by {} in {} at step {}; freed by {} in {} at step {}",
                  record.type, record.name, scheduler_.current_name(), site, scheduler_.step(),
                  free_task_name(record), record.free_site, record.free_step));
  return false;
}

void Kmem::kfree(KObject* object, const char* site) {
  if (object == nullptr) return;  // kfree(NULL) is fine
  XFSIM_ASSERT(object->kmem_id >= 1 && object->kmem_id <= records_.size(), "kfree of an object kmem never allocated");
  Record& record = records_[object->kmem_id - 1];
  if (record.freed) {
    scheduler_.report(
        "double-free", site,
        fmt::format("{} {} freed again by {} in {} at step {}; first freed by {} in {} at step {}",
                    record.type, record.name, scheduler_.current_name(), site, scheduler_.step(),
                    free_task_name(record), record.free_site, record.free_step));
    return;
  }
  record.freed = true;
  record.free_step = scheduler_.step();
  record.free_task = scheduler_.current();
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
    scheduler.report("refcount-underflow", site,
                     fmt::format("{} put by {} in {} with refcount {}", what,
                                 scheduler.current_name(), site, count));
    return false;
  }
  return --count == 0;
}

void Kref::get(sim::Scheduler& scheduler, const char* site, const std::string& what) {
  if (count <= 0) {
    scheduler.report("use-after-free", site,
                     fmt::format("{} got by {} in {} after its refcount reached zero", what,
                                 scheduler.current_name(), site));
    return;
  }
  ++count;
}

}  // namespace xfsim::fakes
