// drm_drv.c: the drm_device's life (alloc, register, unplug, the last
// reference) and the drm_dev_enter/exit sections that unplug waits for; the
// ioctls' unplugged check (drm_ioctl.c); the registered card udev sees.
#include "fakes/drm.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "sim/assert.h"

namespace xfsim::fakes {

DrmDriver& driver_of(drm_device& dev) { return *dev.driver; }

DrmCore::DrmCore(sim::Scheduler& scheduler, Kmem& kmem, Memory& memory)
    : scheduler_(scheduler),
      kmem_(kmem),
      memory_(memory),
      uevent_wait_(scheduler, "udev"),
      register_wait_(scheduler, "udev-add") {}

drm_device* DrmCore::drm_dev_alloc(DrmDriver& driver, uint32_t connectors, const std::string& label) {
  XFSIM_KFUNC(scheduler_);
  auto* dev = kmem_.kzalloc<drm_device>("drm_device", label);
  dev->core = this;
  dev->driver = &driver;
  dev->label = label;
  dev->connectors.resize(connectors);
  dev->pipes.resize(connectors);
  dev->srcu_wait = std::make_unique<sim::WaitQueue>(scheduler_, "drm_unplug_srcu");
  dev->event_lock = std::make_unique<sim::SpinLock>(scheduler_, "dev->event_lock");
  // crtc->mutex: a ww_mutex of crtc_ww_class in the kernel, one lock class per
  // CRTC here (named after it), always taken in index order.
  static constexpr const char* kCrtcMutex[] = {"crtc-0->mutex", "crtc-1->mutex", "crtc-2->mutex", "crtc-3->mutex"};
  XFSIM_ASSERT(connectors <= std::size(kCrtcMutex), "{} connectors, at most {} CRTCs", connectors,
               std::size(kCrtcMutex));
  dev->crtcs.resize(connectors);
  for (uint32_t pipe = 0; pipe < connectors; ++pipe)
    dev->crtcs[pipe].mutex = std::make_unique<sim::Mutex>(scheduler_, kCrtcMutex[pipe]);
  dev->object_name_lock = std::make_unique<sim::Mutex>(scheduler_, "dev->object_name_lock");
  devices_.push_back(dev);
  return dev;
}

sim::Task<int> DrmCore::drm_dev_register(drm_device& dev) {
  XFSIM_KFUNC(scheduler_);
  co_await scheduler_.point("drm_dev_register");
  if (!kmem_.check(&dev, "drm_dev_register")) co_return -ENODEV;
  dev.registered = true;
  dev.minor = next_minor_++;
  uevents_.push_back(Uevent{"add", dev.minor});
  uevent_wait_.wake_all();
  register_wait_.wake_all();
  co_return 0;
}

sim::Task<> DrmCore::drm_dev_unplug(drm_device& dev) {
  XFSIM_KFUNC(scheduler_);
  // Readers that got in before this store finish; new ones are turned away.
  dev.unplugged = true;
  co_await scheduler_.point("drm_dev_unplug");
  sim::might_sleep(scheduler_, "synchronize_srcu");
  while (dev.srcu_readers > 0) co_await dev.srcu_wait->wait("synchronize_srcu");
  // drm_dev_unregister
  if (dev.registered) {
    dev.registered = false;
    uevents_.push_back(Uevent{"remove", dev.minor});
    uevent_wait_.wake_all();
  }
  // b9d4efa8f9a2 (v5.14): "Clear all CPU mappings pointing to this device".
  if (config_.drm_dev_unplug_unmaps) unmap_mapping_range(dev);
}

void DrmCore::unmap_mapping_range(drm_device& dev) {
  XFSIM_KFUNC(scheduler_);
  for (Vma* vma : vmas_) {
    if (vma->unmapped || vma->file == nullptr || vma->file->dev != &dev) continue;
    std::fill(vma->ptes.begin(), vma->ptes.end(), kNoPage);
  }
}

bool DrmCore::drm_dev_enter(drm_device& dev) {
  if (!kmem_.check(&dev, "drm_dev_enter")) return false;
  if (dev.unplugged) return false;
  const sim::TaskId task = scheduler_.current();
  if (dev.srcu_readers_by_task.size() <= task) dev.srcu_readers_by_task.resize(task + 1, 0);
  ++dev.srcu_readers_by_task[task];
  ++dev.srcu_readers;
  return true;
}

void DrmCore::drm_dev_exit(drm_device& dev) {
  const sim::TaskId task = scheduler_.current();
  if (task >= dev.srcu_readers_by_task.size() || dev.srcu_readers_by_task[task] == 0) {
    scheduler_.report(kWarning, "drm_dev_exit",
                      fmt::format("{} calls drm_dev_exit on {} without a matching drm_dev_enter "
                                  "(srcu_read_unlock imbalance)",
                                  scheduler_.current_name(), dev.label));
    return;
  }
  --dev.srcu_readers_by_task[task];
  --dev.srcu_readers;
  if (dev.srcu_readers == 0) dev.srcu_wait->wake_all();
}

bool DrmCore::in_dev_enter(const drm_device& dev) const {
  const sim::TaskId task = scheduler_.current();
  return task < dev.srcu_readers_by_task.size() && dev.srcu_readers_by_task[task] > 0;
}

void DrmCore::check_backend_access(drm_device& dev, const char* site) {
  if (dev.unplugged && !in_dev_enter(dev)) {
    scheduler_.report(kAccessAfterUnplug, site,
                      fmt::format("{} reaches the backend for {} after drm_dev_unplug, outside a "
                                  "drm_dev_enter/exit section",
                                  site, dev.label),
                      site);
  }
}

void DrmCore::drm_dev_get(drm_device& dev, const char* site) {
  XFSIM_KFUNC(scheduler_);
  kmem_.check(&dev, site);
  dev.ref.get(scheduler_, site, dev.label);
}

sim::Task<> DrmCore::drm_dev_put(drm_device& dev, const char* site) {
  XFSIM_KFUNC(scheduler_);
  if (!kmem_.check(&dev, site)) co_return;
  if (!dev.ref.put(scheduler_, site, dev.label)) co_return;
  // drm_dev_release: the driver's release callback, then the core frees.
  co_await dev.driver->release(dev);
  co_await poll_fini(dev);
  kmem_.kfree(&dev, "drm_dev_release");
}

bool DrmCore::ioctl_unplugged(drm_file& file) {
  // drm_ioctl: if (drm_dev_is_unplugged(dev)) return -ENODEV;
  return !kmem_.check(file.dev, "drm_ioctl") || file.dev->unplugged;
}

drm_device* DrmCore::registered_device() const {
  for (auto it = devices_.rbegin(); it != devices_.rend(); ++it) {
    if (kmem_.live(*it) && (*it)->registered) return *it;
  }
  return nullptr;
}

}  // namespace xfsim::fakes
