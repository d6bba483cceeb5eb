// drm_prime.c (v5.10): GEM objects shared as dma-bufs. Export takes a GEM
// reference and a drm_device reference (drm_gem_dmabuf_export,
// drm_prime.c:250), so a dma-buf keeps both alive after unplug and remove,
// with no drm_file left; its release (drm_gem_dmabuf_release) drops the GEM
// reference first, then the device's. Import of our own dma-buf gives back
// the same object; a foreign one is attached and handed to the driver's
// gem_prime_import_sg_table. Each file caches dma-buf <-> handle pairs
// (drm_prime_file_private), each entry holding a dma-buf reference.
#include <algorithm>

#include <fmt/format.h>

#include "fakes/drm.h"
#include "sim/assert.h"

namespace xfsim::fakes {

sim::Task<int> DrmCore::prime_handle_to_fd(drm_file& file, uint32_t handle, dma_buf*& out) {
  XFSIM_KFUNC_AS(scheduler_, "drm_prime_handle_to_fd_ioctl");
  co_await scheduler_.point("drm_prime_handle_to_fd_ioctl");
  if (ioctl_unplugged(file)) co_return -ENODEV;
  co_return co_await drm_gem_prime_handle_to_fd(*file.dev, file, handle, out);
}

sim::Task<int> DrmCore::prime_fd_to_handle(drm_file& file, dma_buf& dmabuf, uint32_t& handle) {
  XFSIM_KFUNC_AS(scheduler_, "drm_prime_fd_to_handle_ioctl");
  co_await scheduler_.point("drm_prime_fd_to_handle_ioctl");
  if (ioctl_unplugged(file)) co_return -ENODEV;
  co_return co_await drm_gem_prime_fd_to_handle(*file.dev, file, dmabuf, handle);
}

dma_buf* DrmCore::drm_gem_prime_export(drm_gem_object& obj) {
  XFSIM_KFUNC(scheduler_);
  // dma_buf_export: the new dma-buf file, its one reference the caller's.
  auto* dmabuf = kmem_.kzalloc<dma_buf>("dma_buf", fmt::format("dmabuf{}-{}", next_dmabuf_label_, obj.label));
  dmabuf->label = fmt::format("dmabuf{}-{}", next_dmabuf_label_++, obj.label);
  dmabuf->ops = DmaBufOps::drm_gem_prime_dmabuf_ops;
  dmabuf->size = obj.size;
  dmabuf->priv = &obj;
  // drm_gem_dmabuf_export
  drm_dev_get(*obj.dev, "drm_gem_dmabuf_export");
  drm_gem_object_get(obj, "drm_gem_dmabuf_export");
  return dmabuf;
}

sim::Task<> DrmCore::drm_gem_dmabuf_release(dma_buf& dmabuf) {
  XFSIM_KFUNC(scheduler_);
  drm_gem_object& obj = *dmabuf.priv;
  drm_device& dev = *obj.dev;  // read before the put that may free obj
  // drop the reference on the export fd holds
  co_await drm_gem_object_put(obj, "drm_gem_dmabuf_release");
  co_await drm_dev_put(dev, "drm_gem_dmabuf_release");
}

// export_and_register_object: called with dev->object_name_lock held.
sim::Task<dma_buf*> DrmCore::export_and_register_object(drm_device& dev, drm_gem_object& obj) {
  XFSIM_KFUNC(scheduler_);
  (void)dev;
  // prevent races with concurrent gem_close.
  if (obj.handle_count == 0) co_return nullptr;
  dma_buf* dmabuf = drm_gem_prime_export(obj);
  // The object's own reference: dropped when its last handle goes, so the
  // export cache needs no cleanup of its own.
  obj.dma_buf = dmabuf;
  get_dma_buf(*dmabuf, "export_and_register_object");
  co_return dmabuf;
}

void DrmCore::drm_prime_add_buf_handle(drm_file& file, dma_buf& dmabuf, uint32_t handle) {
  XFSIM_KFUNC(scheduler_);
  get_dma_buf(dmabuf, "drm_prime_add_buf_handle");
  file.prime.push_back(drm_prime_member{&dmabuf, handle});
}

sim::Task<int> DrmCore::drm_gem_prime_handle_to_fd(drm_device& dev, drm_file& file, uint32_t handle, dma_buf*& out) {
  XFSIM_KFUNC(scheduler_);
  co_await file.prime_lock->lock("drm_gem_prime_handle_to_fd");
  drm_gem_object* obj = co_await drm_gem_object_lookup(file, handle);
  if (obj == nullptr) {
    file.prime_lock->unlock();
    co_return -ENOENT;
  }
  dma_buf* dmabuf = nullptr;
  // re-export the original imported object, or a handle already exported
  // (drm_prime_lookup_buf_by_handle)
  for (const drm_prime_member& member : file.prime) {
    if (member.handle == handle) dmabuf = member.dmabuf;
  }
  int ret = 0;
  if (dmabuf != nullptr) {
    get_dma_buf(*dmabuf, "drm_gem_prime_handle_to_fd");
  } else {
    co_await dev.object_name_lock->lock("drm_gem_prime_handle_to_fd");
    if (obj->import_attach != nullptr) {
      dmabuf = obj->import_attach->dmabuf;
      get_dma_buf(*dmabuf, "drm_gem_prime_handle_to_fd");
    } else if (obj->dma_buf != nullptr) {
      dmabuf = obj->dma_buf;
      get_dma_buf(*dmabuf, "drm_gem_prime_handle_to_fd");
    } else {
      dmabuf = co_await export_and_register_object(dev, *obj);
      if (dmabuf == nullptr) ret = -ENOENT;  // the last handle went meanwhile
    }
    // out_have_obj: cache the handle for re-export (a reference of its own).
    if (dmabuf != nullptr) drm_prime_add_buf_handle(file, *dmabuf, handle);
    dev.object_name_lock->unlock();
  }
  // dma_buf_fd: the reference taken above is the fd's.
  if (ret == 0) out = dmabuf;
  co_await drm_gem_object_put(*obj, "drm_gem_prime_handle_to_fd");
  file.prime_lock->unlock();
  co_return ret;
}

sim::Task<drm_gem_object*> DrmCore::drm_gem_prime_import(drm_device& dev, dma_buf& dmabuf, int& err) {
  XFSIM_KFUNC(scheduler_);
  if (dmabuf.ops == DmaBufOps::drm_gem_prime_dmabuf_ops) {
    drm_gem_object* obj = dmabuf.priv;
    if (obj->dev == &dev) {
      // Importing dmabuf exported from our own gem increases refcount on
      // gem itself instead of f_count of dmabuf.
      drm_gem_object_get(*obj, "drm_gem_prime_import");
      co_return obj;
    }
  }
  dma_buf_attachment* attach = dma_buf_attach(dmabuf, dev.label);
  get_dma_buf(dmabuf, "drm_gem_prime_import");
  err = dma_buf_map_attachment(*attach);
  drm_gem_object* obj = nullptr;
  if (err == 0) {
    err = co_await dev.driver->gem_prime_import_sg_table(dev, *attach, attach->sgt, obj);
    if (err == 0 && obj == nullptr) err = -ENOMEM;
    if (err != 0) dma_buf_unmap_attachment(*attach);
  }
  if (err != 0) {
    // fail_detach
    co_await dma_buf_detach(dmabuf, *attach);
    co_await dma_buf_put(dmabuf, "drm_gem_prime_import");
    co_return nullptr;
  }
  obj->import_attach = attach;
  co_return obj;
}

sim::Task<int> DrmCore::drm_gem_prime_fd_to_handle(drm_device& dev, drm_file& file, dma_buf& dmabuf, uint32_t& handle) {
  XFSIM_KFUNC(scheduler_);
  get_dma_buf(dmabuf, "dma_buf_get");  // dma_buf_get(prime_fd)
  co_await file.prime_lock->lock("drm_gem_prime_fd_to_handle");
  // drm_prime_lookup_buf_handle: already imported (or exported) by this file.
  for (const drm_prime_member& member : file.prime) {
    if (member.dmabuf == &dmabuf) {
      handle = member.handle;
      file.prime_lock->unlock();
      co_await dma_buf_put(dmabuf, "drm_gem_prime_fd_to_handle");
      co_return 0;
    }
  }
  co_await dev.object_name_lock->lock("drm_gem_prime_fd_to_handle");
  int err = 0;
  drm_gem_object* obj = co_await drm_gem_prime_import(dev, dmabuf, err);
  if (obj == nullptr) {
    dev.object_name_lock->unlock();
    file.prime_lock->unlock();
    co_await dma_buf_put(dmabuf, "drm_gem_prime_fd_to_handle");
    co_return err;
  }
  if (obj->dma_buf != nullptr) {
    if (obj->dma_buf != &dmabuf) {
      scheduler_.report(kWarning, "drm_gem_prime_fd_to_handle",
                        fmt::format("WARN_ON(obj->dma_buf != dma_buf) for {}", obj->label));
    }
  } else {
    obj->dma_buf = &dmabuf;
    get_dma_buf(dmabuf, "drm_gem_prime_fd_to_handle");
  }
  // drm_gem_handle_create_tail (which drops object_name_lock), then the
  // import's reference goes: the handle holds the object now.
  dev.object_name_lock->unlock();
  int ret = co_await drm_gem_handle_create(file, *obj, handle);
  co_await drm_gem_object_put(*obj, "drm_gem_prime_fd_to_handle");
  if (ret == 0) drm_prime_add_buf_handle(file, dmabuf, handle);
  file.prime_lock->unlock();
  co_await dma_buf_put(dmabuf, "drm_gem_prime_fd_to_handle");
  co_return ret;
}

void DrmCore::drm_gem_mmap_obj(drm_gem_object& obj, Vma& vma) {
  XFSIM_KFUNC(scheduler_);
  // Take a ref for this mapping of the object, so that the fault handler
  // can dereference the mmap offset's pointer to the object.
  drm_gem_object_get(obj, "drm_gem_mmap_obj");
  vma.obj = &obj;
  vma.ptes.assign(obj.num_pages, kNoPage);
  vmas_.push_back(&vma);
}

sim::Task<> DrmCore::drm_prime_gem_destroy(drm_gem_object& obj) {
  XFSIM_KFUNC(scheduler_);
  dma_buf_attachment* attach = obj.import_attach;
  XFSIM_ASSERT(attach != nullptr, "drm_prime_gem_destroy of {}, which was not imported", obj.label);
  if (!kmem_.check(attach, "drm_prime_gem_destroy")) co_return;
  dma_buf& dmabuf = *attach->dmabuf;
  dma_buf_unmap_attachment(*attach);
  co_await dma_buf_detach(dmabuf, *attach);
  // remove the reference
  co_await dma_buf_put(dmabuf, "drm_prime_gem_destroy");
}

sim::Task<> DrmCore::drm_gem_remove_prime_handles(drm_gem_object& obj, drm_file& file) {
  XFSIM_KFUNC(scheduler_);
  // obj->dma_buf can't disappear as long as we still hold a handle
  // reference in obj->handle_count.
  co_await file.prime_lock->lock("drm_gem_remove_prime_handles");
  dma_buf* dropped = nullptr;
  if (obj.dma_buf != nullptr) {
    // drm_prime_remove_buf_handle_locked
    auto it = std::find_if(file.prime.begin(), file.prime.end(),
                           [&obj](const drm_prime_member& member) { return member.dmabuf == obj.dma_buf; });
    if (it != file.prime.end()) {
      dropped = it->dmabuf;
      file.prime.erase(it);
    }
  }
  file.prime_lock->unlock();
  // The cache's reference; never the last (the object's own is still held).
  if (dropped != nullptr) co_await dma_buf_put(*dropped, "drm_prime_remove_buf_handle_locked");
}

sim::Task<> DrmCore::drm_gem_object_exported_dma_buf_free(drm_gem_object& obj) {
  XFSIM_KFUNC(scheduler_);
  // Unbreak the reference cycle if we have an exported dma_buf.
  dma_buf* dmabuf = obj.dma_buf;
  if (dmabuf == nullptr) co_return;
  obj.dma_buf = nullptr;
  co_await dma_buf_put(*dmabuf, "drm_gem_object_exported_dma_buf_free");
}

void DrmCore::drm_prime_destroy_file_private(drm_file& file) {
  XFSIM_KFUNC(scheduler_);
  // by now drm_gem_release should've made sure the list is empty
  if (!file.prime.empty()) {
    scheduler_.report(kWarning, "drm_prime_destroy_file_private",
                      fmt::format("WARN_ON(!RB_EMPTY_ROOT(&prime_fpriv->dmabufs)): {} dma-buf(s) still cached by {}",
                                  file.prime.size(), file.label));
  }
}

}  // namespace xfsim::fakes
