// drm_probe_helper.c: the output poll (drm_kms_helper_poll_init / _fini and
// output_poll_execute) and drm_kms_helper_hotplug_event; with them the
// connector's link-status property (drm_connector.c), set together with a
// hotplug event when a link goes bad.
#include "fakes/drm.h"

namespace xfsim::fakes {

namespace {
constexpr uint64_t kOutputPollPeriodMs = 10000;  // DRM_OUTPUT_POLL_PERIOD
}  // namespace

void DrmCore::hotplug_event(drm_device& dev) {
  XFSIM_KFUNC_AS(scheduler_, "drm_kms_helper_hotplug_event");
  uevents_.push_back(Uevent{"change", dev.minor});
  uevent_wait_.wake_all();
}

void DrmCore::set_link_status(drm_device& dev, uint32_t pipe, LinkStatus status) {
  dev.connectors[pipe].link_status = status;
}

void DrmCore::poll_init(drm_device& dev) {
  dev.poll_enabled = true;
  drm_device* device = &dev;
  dev.output_poll_work = std::make_unique<sim::DelayedWork>(
      scheduler_, "kworker/output_poll", [this, device] { return poll_work(*device); }, /*keepalive=*/false);
  dev.output_poll_work->schedule(kOutputPollPeriodMs);
}

sim::Task<> DrmCore::poll_fini(drm_device& dev) {
  XFSIM_KFUNC_AS(scheduler_, "drm_kms_helper_poll_fini");
  if (!dev.poll_enabled) co_return;
  dev.poll_enabled = false;
  co_await dev.output_poll_work->cancel_sync("drm_kms_helper_poll_fini");
}

// output_poll_execute: detect every connector, send a uevent on any change.
sim::Task<> DrmCore::poll_work(drm_device& dev) {
  XFSIM_KFUNC_AS(scheduler_, "output_poll_execute");
  if (!kmem_.check(&dev, "output_poll_execute") || !dev.poll_enabled) co_return;
  bool changed = false;
  for (uint32_t pipe = 0; pipe < dev.connectors.size(); ++pipe) {
    const ConnectorStatus before = dev.connectors[pipe].status;
    const ConnectorStatus now = co_await dev.driver->connector_detect(dev, pipe);
    if (!kmem_.live(&dev)) co_return;
    dev.connectors[pipe].status = now;
    changed |= now != before;
  }
  if (changed) hotplug_event(dev);
  if (dev.poll_enabled) dev.output_poll_work->schedule(kOutputPollPeriodMs);
}

}  // namespace xfsim::fakes
