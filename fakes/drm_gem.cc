// drm_gem.c: GEM objects, their handles and references, the dumb-buffer and
// GEM ioctls, mmap and the mm's side of it (drm_vma_manager's unmap,
// vm_insert_page, the fault path of a userspace access, munmap).
#include "fakes/drm.h"

#include <algorithm>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "sim/assert.h"

namespace xfsim::fakes {

drm_gem_object* DrmCore::register_object(drm_device& dev, drm_gem_object* obj, size_t size) {
  XFSIM_KFUNC_AS(scheduler_, "drm_gem_object_init");
  obj->dev = &dev;
  obj->size = size;
  obj->num_pages = static_cast<uint32_t>((size + 4095) / 4096);
  obj->label = fmt::format(FMT_COMPILE("gem{}"), next_label_++);
  kmem_.rename(obj, obj->label);
  dev.objects.push_back(obj);
  return obj;
}

sim::Task<int> DrmCore::drm_gem_handle_create(drm_file& file, drm_gem_object& obj, uint32_t& handle) {
  XFSIM_KFUNC(scheduler_);
  co_await scheduler_.point("drm_gem_handle_create");
  if (!kmem_.check(&obj, "drm_gem_handle_create")) co_return -ENOENT;
  obj.refcount.get(scheduler_, "drm_gem_handle_create", obj.label);
  ++obj.handle_count;
  co_await file.table_lock->lock("drm_gem_handle_create_tail");
  uint32_t id = 1;  // idr_alloc(&file->object_idr, obj, 1, 0): lowest free id
  while (file.object_idr.count(id)) ++id;
  file.object_idr[id] = &obj;
  file.table_lock->unlock();
  handle = id;
  co_return 0;
}

sim::Task<drm_gem_object*> DrmCore::drm_gem_object_lookup(drm_file& file, uint32_t handle) {
  XFSIM_KFUNC(scheduler_);
  co_await file.table_lock->lock("drm_gem_object_lookup");
  drm_gem_object* obj = nullptr;
  auto it = file.object_idr.find(handle);
  if (it != file.object_idr.end()) {
    obj = it->second;
    if (kmem_.check(obj, "drm_gem_object_lookup")) obj->refcount.get(scheduler_, "drm_gem_object_lookup", obj->label);
  }
  file.table_lock->unlock();
  co_return obj;
}

void DrmCore::drm_gem_object_get(drm_gem_object& obj, const char* site) {
  XFSIM_KFUNC(scheduler_);
  if (!kmem_.check(&obj, site)) return;
  obj.refcount.get(scheduler_, site, obj.label);
}

sim::Task<> DrmCore::drm_gem_object_put(drm_gem_object& obj, const char* site) {
  XFSIM_KFUNC(scheduler_);
  if (!kmem_.check(&obj, site)) co_return;
  if (!obj.refcount.put(scheduler_, site, obj.label)) co_return;
  // drm_gem_object_free → driver free callback (which ends in
  // drm_gem_object_release + kfree, done by the driver model).
  std::erase(obj.dev->objects, &obj);
  co_await obj.dev->driver->gem_free_object(obj);
}

sim::Task<int> DrmCore::drm_gem_handle_delete(drm_file& file, uint32_t handle) {
  XFSIM_KFUNC(scheduler_);
  co_await file.table_lock->lock("drm_gem_handle_delete");
  auto it = file.object_idr.find(handle);
  if (it == file.object_idr.end()) {
    file.table_lock->unlock();
    co_return -EINVAL;
  }
  drm_gem_object* obj = it->second;
  file.object_idr.erase(it);
  file.table_lock->unlock();
  // drm_gem_object_release_handle
  if (!kmem_.check(obj, "drm_gem_object_release_handle")) co_return -EINVAL;
  co_await drm_gem_remove_prime_handles(*obj, file);
  // drm_gem_object_handle_put_unlocked: the last handle drops the object's
  // own reference to its dma-buf.
  if (--obj->handle_count == 0) co_await drm_gem_object_exported_dma_buf_free(*obj);
  co_await drm_gem_object_put(*obj, "drm_gem_object_release_handle");
  co_return 0;
}

void DrmCore::drm_vma_node_unmap(drm_gem_object& obj) {
  XFSIM_KFUNC(scheduler_);
  for (Vma* vma : vmas_) {
    if (vma->obj == &obj && !vma->unmapped) std::fill(vma->ptes.begin(), vma->ptes.end(), kNoPage);
  }
}

// A PTE installed after unplug outside drm_dev_enter/exit outlives the zap
// that unplug relies on. (A fault that began after unplug and maps anyway is
// missing-sigbus instead, judged when the fault returns.)
void DrmCore::vm_insert_page(Vma& vma, uint32_t index, uint32_t page) {
  XFSIM_KFUNC(scheduler_);
  XFSIM_ASSERT(index < vma.ptes.size(), "page {} of {} with {} pages", index, vma.label, vma.ptes.size());
  drm_device& dev = *vma.obj->dev;
  const bool fault_after_unplug = std::find(faults_after_unplug_.begin(), faults_after_unplug_.end(),
                                            scheduler_.current()) != faults_after_unplug_.end();
  if (dev.unplugged && !in_dev_enter(dev) && !fault_after_unplug) {
    scheduler_.report(kAccessAfterUnplug, "vm_insert_page",
                      fmt::format("page {} of {} mapped into {} after drm_dev_unplug, outside a "
                                  "drm_dev_enter/exit section: no zap will remove it",
                                  index, vma.obj->label, vma.label));
  }
  vma.ptes[index] = page;
}

sim::Task<int> DrmCore::mode_create_dumb(drm_file& file, uint32_t w, uint32_t h, uint32_t bpp, uint32_t& handle) {
  XFSIM_KFUNC_AS(scheduler_, "drm_mode_create_dumb_ioctl");
  co_await scheduler_.point("drm_mode_create_dumb_ioctl");
  if (ioctl_unplugged(file)) co_return -ENODEV;
  if (w == 0 || h == 0 || bpp == 0 || w > 8192 || h > 8192) co_return -EINVAL;
  co_return co_await file.dev->driver->dumb_create(file, w, h, bpp, handle);
}

sim::Task<int> DrmCore::gem_close(drm_file& file, uint32_t handle) {
  XFSIM_KFUNC_AS(scheduler_, "drm_gem_close_ioctl");
  co_await scheduler_.point("drm_gem_close_ioctl");
  if (ioctl_unplugged(file)) co_return -ENODEV;
  co_return co_await drm_gem_handle_delete(file, handle);
}

sim::Task<int> DrmCore::gem_mmap(drm_file& file, uint32_t handle, Vma*& out) {
  XFSIM_KFUNC_AS(scheduler_, "drm_gem_mmap");
  co_await scheduler_.point("drm_gem_mmap");
  // drm_gem_mmap: if (drm_dev_is_unplugged(dev)) return -ENODEV;
  if (ioctl_unplugged(file)) co_return -ENODEV;
  drm_gem_object* obj = co_await drm_gem_object_lookup(file, handle);
  if (obj == nullptr) co_return -EINVAL;
  auto* vma = kmem_.kzalloc<Vma>("vm_area_struct", fmt::format(FMT_COMPILE("vma{}"), vmas_.size()));
  vma->file = &file;
  vma->obj = obj;  // the lookup reference becomes the vma's (drm_gem_vm_open)
  vma->label = fmt::format(FMT_COMPILE("vma{}"), vmas_.size());
  vma->ptes.assign(obj->num_pages, kNoPage);
  vmas_.push_back(vma);
  ++file.refs;
  file.vmas.push_back(vma);
  const int ret = co_await file.dev->driver->gem_mmap(*obj, *vma);
  if (ret != 0) {
    co_await vma_close(*vma);
    co_return ret;
  }
  out = vma;
  co_return 0;
}

sim::Task<> DrmCore::vma_close(Vma& vma) {
  XFSIM_KFUNC_AS(scheduler_, "drm_gem_vm_close");
  if (vma.unmapped) co_return;
  vma.unmapped = true;
  std::fill(vma.ptes.begin(), vma.ptes.end(), kNoPage);
  std::erase(vmas_, &vma);
  if (vma.file != nullptr) std::erase(vma.file->vmas, &vma);
  if (vma.obj != nullptr) co_await drm_gem_object_put(*vma.obj, "drm_gem_vm_close");
  drm_file* file = vma.file;
  dma_buf* dmabuf = vma.dmabuf;  // a dma-buf mmap's vm_file
  kmem_.kfree(&vma, "vm_area_free");
  if (dmabuf != nullptr) co_await dma_buf_put(*dmabuf, "fput");
  if (file != nullptr) co_await file_put(*file);
}

sim::Task<int> DrmCore::munmap(Vma& vma) {
  XFSIM_KFUNC_AS(scheduler_, "__vm_munmap");
  co_await scheduler_.point("munmap");
  co_await vma_close(vma);
  co_return 0;
}

sim::Task<int> DrmCore::touch(Vma& vma, uint32_t index) {
  XFSIM_KFUNC_AS(scheduler_, "handle_mm_fault");
  co_await scheduler_.point("user_access");
  if (vma.unmapped || index >= vma.ptes.size()) co_return -2;  // SIGSEGV: a userspace bug
  if (vma.ptes[index] == kNoPage) {
    // handle_mm_fault → vma->vm_ops->fault
    drm_device& dev = *vma.obj->dev;
    const bool unplugged_before = dev.unplugged;
    int ret = -1;  // no .fault: VM_FAULT_SIGBUS
    if (dev.driver->has_fault_handler()) {
      const sim::TaskId self = scheduler_.current();
      if (unplugged_before) faults_after_unplug_.push_back(self);
      ret = co_await dev.driver->fault(vma, index);
      std::erase(faults_after_unplug_, self);
    }
    if (ret == 0 && unplugged_before) {
      scheduler_.report(kMissingSigbus, "fault",
                        fmt::format("{} faults on page {} of {} after unplug and the fault "
                                    "handler maps a page instead of returning SIGBUS",
                                    scheduler_.current_name(), index, vma.obj->label));
      co_return 0;
    }
    if (ret != 0) co_return -1;
    if (vma.ptes[index] == kNoPage) co_return -1;
  }
  const uint32_t frame = vma.ptes[index];
  if (memory_.backing_of(frame) == kNoPage) {
    const PageFrame& page = memory_.frame(frame);
    if (page.ballooned && !page.freed && page.mapped_foreign == kNoPage) {
      // A ballooned page has no memory of its own: with its grant mapping
      // gone, the access hits a hole in the guest's physical map. The
      // hypervisor aborts it (a stage-2 fault on Arm) and the process gets
      // SIGBUS from the abort: no freed memory is read, but the driver left a
      // PTE it should have zapped (fidelity review FP-5).
      scheduler_.report(kAccessToUnmappedGrant, "user_access",
                        fmt::format("{} touches page {} of {} through a stale PTE to {}, whose backend grant "
                                    "was unmapped; the hypervisor aborts the access (SIGBUS)",
                                    scheduler_.current_name(), index, vma.obj->label, page.label));
      co_return -1;
    }
    scheduler_.report(kAccessAfterFree, "user_access",
                      fmt::format("{} touches page {} of {} through a PTE to {} whose backing is "
                                  "gone{}",
                                  scheduler_.current_name(), index, vma.obj->label, page.label,
                                  page.ballooned ? " (the backend page it showed was freed)" : ""));
  }
  co_return 0;
}

}  // namespace xfsim::fakes
