// drivers/dma-buf/dma-buf.c as PRIME meets it: a dma-buf is a file whose
// references are fds (in any process: they pass over a socket), the exporter's
// caches, importers' attachments and mmaps; the last fput releases it through
// its exporter's ops. Two exporters: DRM's (drm_gem_prime_dmabuf_ops, ops in
// drm_prime.c) and the system dma-heap (drivers/dma-buf/heaps/system_heap.c),
// standing for any foreign exporter, whose pages are its own. Kernel reads
// through an importer's vmap are checked as userspace touches are:
// access-after-free, access-to-unmapped-grant.
#include <fmt/format.h>

#include "fakes/drm.h"
#include "sim/assert.h"

namespace xfsim::fakes {

void DrmCore::get_dma_buf(dma_buf& dmabuf, const char* site) {
  XFSIM_KFUNC(scheduler_);
  if (!kmem_.check(&dmabuf, site)) return;
  ++dmabuf.f_count;  // get_file
}

sim::Task<> DrmCore::dma_buf_put(dma_buf& dmabuf, const char* site) {
  XFSIM_KFUNC(scheduler_);
  if (!kmem_.check(&dmabuf, site)) co_return;
  XFSIM_ASSERT(dmabuf.f_count > 0, "fput of {} with no reference left", dmabuf.label);
  if (--dmabuf.f_count > 0) co_return;
  // __fput → dma_buf_file_release → dma_buf_release
  XFSIM_ASSERT(dmabuf.vmapping_counter == 0 && dmabuf.attachments == 0, "{} released while mapped or attached",
               dmabuf.label);
  if (dmabuf.ops == DmaBufOps::drm_gem_prime_dmabuf_ops) {
    co_await drm_gem_dmabuf_release(dmabuf);
  } else {
    for (uint32_t page : dmabuf.pages) memory_.free_page(page, "system_heap_dma_buf_release");
  }
  kmem_.kfree(&dmabuf, "dma_buf_release");
}

dma_buf_attachment* DrmCore::dma_buf_attach(dma_buf& dmabuf, const std::string& importer) {
  XFSIM_KFUNC(scheduler_);
  auto* attach = kmem_.kzalloc<dma_buf_attachment>("dma_buf_attachment", fmt::format("{}@{}", dmabuf.label, importer));
  attach->dmabuf = &dmabuf;
  attach->label = fmt::format("{}@{}", dmabuf.label, importer);
  ++dmabuf.attachments;
  return attach;
}

sim::Task<> DrmCore::dma_buf_detach(dma_buf& dmabuf, dma_buf_attachment& attach) {
  XFSIM_KFUNC(scheduler_);
  co_await scheduler_.point("dma_buf_detach");
  XFSIM_ASSERT(!attach.mapped, "{} detached while mapped", attach.label);
  --dmabuf.attachments;
  kmem_.kfree(&attach, "dma_buf_detach");
}

// ops->map_dma_buf: drm_gem_map_dma_buf asks the driver for its pages
// (gem_prime_get_sg_table); the heap hands out its own.
int DrmCore::dma_buf_map_attachment(dma_buf_attachment& attach) {
  XFSIM_KFUNC(scheduler_);
  dma_buf& dmabuf = *attach.dmabuf;
  int ret = 0;
  if (dmabuf.ops == DmaBufOps::drm_gem_prime_dmabuf_ops) {
    drm_gem_object& obj = *dmabuf.priv;
    if (!kmem_.check(&obj, "drm_gem_map_dma_buf")) return -EINVAL;
    ret = obj.dev->driver->gem_prime_get_sg_table(obj, attach.sgt);
  } else {
    attach.sgt = dmabuf.pages;
  }
  attach.mapped = ret == 0;
  return ret;
}

void DrmCore::dma_buf_unmap_attachment(dma_buf_attachment& attach) {
  XFSIM_KFUNC(scheduler_);
  attach.sgt.clear();
  attach.mapped = false;
}

// ops->vmap: drm_gem_dmabuf_vmap → drm_gem_vmap → gem_prime_vmap.
int DrmCore::dma_buf_vmap(dma_buf& dmabuf, DmaBufVmap& map) {
  XFSIM_KFUNC(scheduler_);
  if (!kmem_.check(&dmabuf, "dma_buf_vmap")) return -EINVAL;
  bool mapped = true;
  if (dmabuf.ops == DmaBufOps::drm_gem_prime_dmabuf_ops) {
    drm_gem_object& obj = *dmabuf.priv;
    if (!kmem_.check(&obj, "drm_gem_dmabuf_vmap")) return -EINVAL;
    mapped = obj.dev->driver->gem_prime_vmap(obj, map.pages);
  } else {
    map.pages = dmabuf.pages;
  }
  if (!mapped) return -ENOMEM;
  map.dmabuf = &dmabuf;
  ++dmabuf.vmapping_counter;
  return 0;
}

void DrmCore::dma_buf_vunmap(dma_buf& dmabuf, DmaBufVmap& map) {
  XFSIM_KFUNC(scheduler_);
  if (!kmem_.check(&dmabuf, "dma_buf_vunmap")) return;
  XFSIM_ASSERT(dmabuf.vmapping_counter > 0, "vunmap of {} never vmapped", dmabuf.label);
  if (dmabuf.ops == DmaBufOps::drm_gem_prime_dmabuf_ops && kmem_.check(dmabuf.priv, "drm_gem_dmabuf_vunmap")) {
    dmabuf.priv->dev->driver->gem_prime_vunmap(*dmabuf.priv);
  }
  --dmabuf.vmapping_counter;
  map.pages.clear();
  map.dmabuf = nullptr;
}

sim::Task<int> DrmCore::dma_buf_mmap(dma_buf& dmabuf, Vma*& out) {
  XFSIM_KFUNC_AS(scheduler_, "dma_buf_mmap_internal");
  co_await scheduler_.point("dma_buf_mmap_internal");
  if (!kmem_.check(&dmabuf, "dma_buf_mmap_internal")) co_return -EBADF;
  if (dmabuf.ops != DmaBufOps::drm_gem_prime_dmabuf_ops) co_return -ENODEV;  // the heap's mmap is not modelled
  drm_gem_object& obj = *dmabuf.priv;
  auto* vma = kmem_.kzalloc<Vma>("vm_area_struct", fmt::format("vma{}", vmas_.size()));
  vma->label = fmt::format("vma{}-{}", vmas_.size(), dmabuf.label);
  vma->dmabuf = &dmabuf;
  get_dma_buf(dmabuf, "mmap_region");  // vma->vm_file
  // ops->mmap = drm_gem_dmabuf_mmap → the driver's gem_prime_mmap.
  const int ret = co_await obj.dev->driver->gem_prime_mmap(obj, *vma);
  if (ret != 0) {
    co_await vma_close(*vma);
    co_return ret;
  }
  out = vma;
  co_return 0;
}

sim::Task<int> DrmCore::dma_buf_vmap_read(DmaBufVmap& map, uint32_t index) {
  XFSIM_KFUNC(scheduler_);  // an importer's load through its vaddr, no kernel function
  co_await scheduler_.point("dma_buf_vmap_read");
  if (map.dmabuf == nullptr || index >= map.pages.size()) co_return -EINVAL;
  const uint32_t frame = map.pages[index];
  if (memory_.backing_of(frame) != kNoPage) co_return 0;
  const PageFrame& page = memory_.frame(frame);
  if (page.ballooned && !page.freed && page.mapped_foreign == kNoPage) {
    scheduler_.report(kAccessToUnmappedGrant, "dma_buf_vmap_read",
                      fmt::format("{} reads page {} of {} through its vmap of {}, whose backend grant was unmapped",
                                  scheduler_.current_name(), index, map.dmabuf->label, page.label));
    co_return -EFAULT;
  }
  scheduler_.report(kAccessAfterFree, "dma_buf_vmap_read",
                    fmt::format("{} reads page {} of {} through its vmap of {}, whose backing is gone",
                                scheduler_.current_name(), index, map.dmabuf->label, page.label));
  co_return 0;
}

sim::Task<dma_buf*> DrmCore::dma_heap_alloc(size_t size, const std::string& label) {
  XFSIM_KFUNC_AS(scheduler_, "system_heap_allocate");
  co_await scheduler_.point("dma_heap_ioctl_allocate");
  auto* dmabuf = kmem_.kzalloc<dma_buf>("dma_buf", fmt::format("heap-{}", label));
  dmabuf->label = fmt::format("heap-{}", label);
  dmabuf->ops = DmaBufOps::system_heap_buf_ops;
  dmabuf->size = size;
  const uint32_t num_pages = static_cast<uint32_t>((size + 4095) / 4096);
  for (uint32_t i = 0; i < num_pages; ++i) {
    dmabuf->pages.push_back(memory_.alloc_page(kFrontendDomid, fmt::format("{}.{}", dmabuf->label, i)));
  }
  co_return dmabuf;
}

}  // namespace xfsim::fakes
