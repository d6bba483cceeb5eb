// xen_drm_front_gem.c and the GEM parts of xen_drm_front.c: dumb buffers,
// the free callback, mmap and the fault handler.
#include <fmt/compile.h>
#include <fmt/format.h>

#include "driver_core/xen_drm_front.h"

namespace xfsim::driver {

// xen_drm_drv_dumb_create, in two versions: v3's, which publishes the handle
// first, and the one the review asked for.
sim::Task<int> XenDrmFront::dumb_create(drm_file& file, uint32_t width, uint32_t height, uint32_t bpp,
                                        uint32_t& handle) {
  if (variant_.publish_before_construct || variant_.unref_before_use) {
    return xen_drm_drv_dumb_create_v3(file, width, height, bpp, handle);
  }
  return xen_drm_drv_dumb_create_reviewed(file, width, height, bpp, handle);
}

// v3: a drm_gem_dumb_create-style helper publishes first (the handle, then
// the creation reference dropped), then looks the object up again.
sim::Task<int> XenDrmFront::xen_drm_drv_dumb_create_v3(drm_file& file, uint32_t width, uint32_t height, uint32_t bpp,
                                                       uint32_t& handle) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_drv_dumb_create");
  const char* site = "xen_drm_drv_dumb_create";
  drm_device& dev = *file.dev;
  const uint32_t pitch = (width * bpp + 7) / 8;
  const uint32_t size = pitch * height;
  xen_drm_front_drm_info* drm_info = drm_info_of(dev);
  if (drm_info == nullptr) co_return -ENODEV;
  const bool guarded = !variant_.no_enter_in_ioctls;
  if (guarded && !enter(dev)) co_return -ENODEV;

  // xen_drm_front_gem_create: the object and its pages.
  auto* obj = m_.kmem.kzalloc<xen_gem_object>("xen_gem_object", "gem");
  m_.drm.register_object(dev, obj, size);
  obj->be_alloc = front_info_->be_alloc;
  for (uint32_t i = 0; i < obj->num_pages; ++i) {
    obj->pages.push_back(obj->be_alloc
                             ? m_.memory.alloc_ballooned_page(fmt::format(FMT_COMPILE("{}.{}"), obj->label, i))
                             : m_.memory.alloc_page(kFrontendDomid, fmt::format(FMT_COMPILE("{}.{}"), obj->label, i)));
  }
  const uint64_t cookie = xen_drm_front_dbuf_to_cookie(*obj);
  int ret = co_await m_.drm.drm_gem_handle_create(file, *obj, handle);
  co_await m_.drm.drm_gem_object_put(*obj, site);
  drm_gem_object* found = obj;
  if (variant_.unref_before_use) {
    found = co_await m_.drm.drm_gem_object_lookup(file, handle);
    if (found == nullptr) {
      if (guarded) exit(dev);
      co_return -ENOENT;
    }
    co_await m_.drm.drm_gem_object_put(*found, site);  // the bug: dropped before use
  }
  auto& xen_obj = static_cast<xen_gem_object&>(*found);
  if (!m_.kmem.check(&xen_obj, site)) {
    if (guarded) exit(dev);
    co_return -EIO;
  }
  ret = co_await xen_drm_front_dbuf_create(cookie, width, height, bpp, size, xen_obj);
  m_.kmem.check(&xen_obj, site);  // the object is used after DBUF_CREATE too
  if (guarded) exit(dev);
  if (ret != 0) m_.scheduler.logf("[drm:xen_drm_drv_dumb_create] *ERROR* Failed to create dumb buffer: {}", ret);
  co_return ret;
}

// The handle is what publishes the object to userspace (another thread of
// the same file can use or close it at once), so it is created last, once
// the object is fully built and the backend knows the buffer; the creation
// reference is dropped after that.
sim::Task<int> XenDrmFront::xen_drm_drv_dumb_create_reviewed(drm_file& file, uint32_t width, uint32_t height,
                                                             uint32_t bpp, uint32_t& handle) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_drv_dumb_create");
  const char* site = "xen_drm_drv_dumb_create";
  drm_device& dev = *file.dev;
  const uint32_t pitch = (width * bpp + 7) / 8;
  const uint32_t size = pitch * height;
  xen_drm_front_drm_info* drm_info = drm_info_of(dev);
  if (drm_info == nullptr) co_return -ENODEV;
  const bool guarded = !variant_.no_enter_in_ioctls;
  if (guarded && !enter(dev)) co_return -ENODEV;

  // xen_drm_front_gem_create: the object and its pages (goto fail: nothing to undo).
  if (const int err = m_.scheduler.should_fail(kFaultGemObjectAlloc)) {
    if (guarded) exit(dev);
    m_.scheduler.logf("[drm:xen_drm_drv_dumb_create] *ERROR* Failed to create dumb buffer: {}", err);
    co_return err;
  }
  auto* obj = m_.kmem.kzalloc<xen_gem_object>("xen_gem_object", "gem");
  m_.drm.register_object(dev, obj, size);
  obj->be_alloc = front_info_->be_alloc;
  for (uint32_t i = 0; i < obj->num_pages; ++i) {
    obj->pages.push_back(obj->be_alloc
                             ? m_.memory.alloc_ballooned_page(fmt::format(FMT_COMPILE("{}.{}"), obj->label, i))
                             : m_.memory.alloc_page(kFrontendDomid, fmt::format(FMT_COMPILE("{}.{}"), obj->label, i)));
  }
  const uint64_t cookie = xen_drm_front_dbuf_to_cookie(*obj);
  int ret = co_await xen_drm_front_dbuf_create(cookie, width, height, bpp, size, *obj);
  if (ret == 0) {  // fail_backend otherwise: drop the creation reference
    ret = m_.scheduler.should_fail(kFaultGemHandleCreate);
    if (ret == 0) ret = co_await m_.drm.drm_gem_handle_create(file, *obj, handle);
    if (ret != 0) co_await xen_drm_front_dbuf_destroy(cookie);  // fail_handle
  }
  if (guarded) exit(dev);
  // Drop the creation reference last: the handle owns the object now.
  co_await m_.drm.drm_gem_object_put(*obj, site);
  if (ret != 0) m_.scheduler.logf("[drm:xen_drm_drv_dumb_create] *ERROR* Failed to create dumb buffer: {}", ret);
  co_return ret;
}

// xen_drm_front_gem_object_free: tell the backend inside drm_dev_enter/exit;
// once unplugged, only local cleanup, under the teardown mutex (fini may be
// releasing every buffer at the same time).
sim::Task<> XenDrmFront::gem_free_object(drm_gem_object& base) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_drv_free_object_unlocked");
  const char* site = "xen_drm_front_gem_object_free";
  auto& obj = static_cast<xen_gem_object&>(base);
  drm_device& dev = *obj.dev;
  const uint64_t cookie = xen_drm_front_dbuf_to_cookie(obj);
  xen_drm_front_drm_info* drm_info = static_cast<xen_drm_front_drm_info*>(dev.dev_private);
  if (enter(dev)) {
    co_await xen_drm_front_dbuf_destroy(cookie);
    exit(dev);
  } else if (variant_.gem_free_uses_front_info) {
    // upstream: dbuf_free(&drm_info->front_info->dbuf_list, cookie)
    if (m_.kmem.check(drm_info, site) && m_.kmem.check(drm_info->front_info, site)) {
      co_await dbuf_free(cookie, site);
    }
  } else if (m_.kmem.check(drm_info, site)) {
    if (!variant_.no_teardown_mutex) co_await drm_info->teardown_lock->lock(site);
    if (!drm_info->storage_released) co_await dbuf_free(cookie, site);
    if (!variant_.no_teardown_mutex) drm_info->teardown_lock->unlock();
  }
  // xen_drm_front_gem_free_object_unlocked: an imported object's pages are
  // the exporter's; it drops its attachment and dma-buf reference instead.
  if (obj.import_attach != nullptr)
    co_await m_.drm.drm_prime_gem_destroy(obj);
  else
    co_await xen_drm_front_gem_free_pages(obj);
  m_.kmem.kfree(&obj, "drm_gem_object_release");
}

sim::Task<> XenDrmFront::xen_drm_front_gem_free_pages(xen_gem_object& obj) {
  XFSIM_KFUNC(m_.scheduler);
  co_await m_.scheduler.point("xen_drm_front_gem_free_pages");
  // drm_gem_put_pages, or free_xenballooned_pages for be-alloc.
  for (uint32_t page : obj.pages) m_.memory.free_page(page, "xen_drm_front_gem_free_pages");
}

sim::Task<int> XenDrmFront::gem_mmap(drm_gem_object& base, Vma& vma) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_front_gem_mmap");
  auto& obj = static_cast<xen_gem_object&>(base);
  if (variant_.mmap_inserts_all_pages) {
    // upstream: vm_map_pages inserts every page now; there is no .fault.
    co_await m_.scheduler.point("vm_map_pages");
    if (!m_.kmem.check(&obj, "vm_map_pages")) co_return -EINVAL;
    for (uint32_t i = 0; i < obj.pages.size(); ++i) m_.drm.vm_insert_page(vma, i, obj.pages[i]);
  }
  co_return 0;
}

// vm_ops->fault, in two versions: v3's, which maps whatever happens, and the
// one the review asked for.
sim::Task<int> XenDrmFront::fault(Vma& vma, uint32_t page_index) {
  if (variant_.no_sigbus_fault_handler) return xen_drm_front_gem_fault_v3(vma, page_index);
  return xen_drm_front_gem_fault_reviewed(vma, page_index);
}

// v3: the page goes in, unplugged or not.
sim::Task<int> XenDrmFront::xen_drm_front_gem_fault_v3(Vma& vma, uint32_t page_index) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_front_gem_fault");
  auto& obj = static_cast<xen_gem_object&>(*vma.obj);
  co_await m_.scheduler.point("xen_drm_front_gem_fault");
  m_.drm.vm_insert_page(vma, page_index, obj.pages[page_index]);
  co_return 0;
}

// Pages go in one at a time, inside drm_dev_enter/exit; after unplug the
// answer is SIGBUS.
sim::Task<int> XenDrmFront::xen_drm_front_gem_fault_reviewed(Vma& vma, uint32_t page_index) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_front_gem_fault");
  auto& obj = static_cast<xen_gem_object&>(*vma.obj);
  drm_device& dev = *obj.dev;
  if (!enter(dev)) co_return -1;  // VM_FAULT_SIGBUS
  co_await m_.scheduler.point("xen_drm_front_gem_fault");
  if (m_.kmem.check(&obj, "xen_drm_front_gem_fault")) m_.drm.vm_insert_page(vma, page_index, obj.pages[page_index]);
  exit(dev);
  co_return 0;
}

// ------------------------------------------------------------ PRIME

// xen_drm_front_gem_import_sg_table: a GEM object over the exporter's pages,
// made known to the backend with DBUF_CREATE (width, height and bpp 0).
// v5.10 has no drm_dev_enter here (the ioctl's unplugged check is at entry
// only), as in dumb_create; correct guards it as the reviewed dumb_create.
sim::Task<int> XenDrmFront::gem_prime_import_sg_table(drm_device& dev, dma_buf_attachment& attach,
                                                      const std::vector<uint32_t>& sgt, drm_gem_object*& out) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_front_gem_import_sg_table");
  xen_drm_front_drm_info* drm_info = drm_info_of(dev);
  if (drm_info == nullptr) co_return -ENODEV;
  const bool guarded = !variant_.no_enter_in_ioctls;
  if (guarded && !enter(dev)) co_return -ENODEV;
  const size_t size = attach.dmabuf->size;
  // gem_create_obj, gem_alloc_pages_array, drm_prime_sg_to_page_addr_arrays
  auto* obj = m_.kmem.kzalloc<xen_gem_object>("xen_gem_object", "gem");
  m_.drm.register_object(dev, obj, size);
  obj->pages = sgt;
  // xen_drm_front_dbuf_create takes be_alloc from front_info->cfg, not from
  // the object: with a be-alloc backend it asks for backend pages and maps
  // them over the importer's own.
  obj->be_alloc = front_info_ != nullptr && m_.kmem.live(front_info_) && front_info_->be_alloc;
  const uint64_t cookie = xen_drm_front_dbuf_to_cookie(*obj);
  const int ret = co_await xen_drm_front_dbuf_create(cookie, 0, 0, 0, static_cast<uint32_t>(size), *obj);
  if (guarded) exit(dev);
  if (ret != 0) {
    // v5.10 returns ERR_PTR(ret) and never puts the object: it leaks, and
    // stays on the device's object list. correct releases it
    // (drm_gem_object_release + kfree; the pages are the exporter's).
    if (!variant_.import_sg_table_leaks) {
      std::erase(dev.objects, static_cast<drm_gem_object*>(obj));
      m_.kmem.kfree(obj, "drm_gem_object_release");
    }
    co_return ret;
  }
  m_.scheduler.logf("[drm] Imported buffer of size {} with nents {}", size, sgt.size());
  out = obj;
  co_return 0;
}

// xen_drm_front_gem_get_sg_table: drm_prime_pages_to_sg of the object's pages.
int XenDrmFront::gem_prime_get_sg_table(drm_gem_object& base, std::vector<uint32_t>& sgt) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_front_gem_get_sg_table");
  auto& obj = static_cast<xen_gem_object&>(base);
  if (obj.pages.empty()) return -ENOMEM;
  sgt = obj.pages;
  return 0;
}

// xen_drm_front_gem_prime_vmap: vmap of the pages as they are (ballooned
// pages of a be-alloc buffer show the backend's while its grants are mapped).
bool XenDrmFront::gem_prime_vmap(drm_gem_object& base, std::vector<uint32_t>& pages) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_front_gem_prime_vmap");
  auto& obj = static_cast<xen_gem_object&>(base);
  if (obj.pages.empty()) return false;
  pages = obj.pages;
  return true;
}

void XenDrmFront::gem_prime_vunmap(drm_gem_object& obj) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_front_gem_prime_vunmap");
  (void)obj;  // vunmap(vaddr): nothing of the object changes
}

// xen_drm_front_gem_prime_mmap: drm_gem_mmap_obj (the vma's GEM reference),
// then gem_mmap_obj as for the card's own mmap.
sim::Task<int> XenDrmFront::gem_prime_mmap(drm_gem_object& base, Vma& vma) {
  XFSIM_KFUNC_AS(m_.scheduler, "xen_drm_front_gem_prime_mmap");
  m_.drm.drm_gem_mmap_obj(base, vma);
  co_return co_await gem_mmap(base, vma);
}

}  // namespace xfsim::driver
