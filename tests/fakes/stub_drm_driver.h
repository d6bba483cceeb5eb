// A DrmDriver for unit tests of the DRM core fakes: every display hook is a
// no-op that succeeds, dumb create is -ENOSYS, there is no .fault. A test
// derives from it and writes only the hooks it is about (release, GEM free,
// mmap, the PRIME hooks).
#pragma once

#include <cerrno>
#include <cstdint>

#include "fakes/drm.h"

namespace xfsim::testing {

struct StubDrmDriver : fakes::DrmDriver {
  using drm_device = fakes::drm_device;
  sim::Task<int> dumb_create(fakes::drm_file&, uint32_t, uint32_t, uint32_t, uint32_t&) override { co_return -ENOSYS; }
  sim::Task<int> gem_mmap(fakes::drm_gem_object&, fakes::Vma&) override { co_return 0; }
  bool has_fault_handler() const override { return false; }
  sim::Task<int> fault(fakes::Vma&, uint32_t) override { co_return -1; }
  sim::Task<int> fb_create(fakes::drm_file&, fakes::drm_framebuffer&) override { co_return 0; }
  sim::Task<> fb_destroy(fakes::drm_framebuffer&) override { co_return; }
  bool pipe_mode_valid_set() const override { return true; }
  fakes::ModeStatus pipe_mode_valid(drm_device&, uint32_t, const fakes::drm_display_mode&) override {
    return fakes::ModeStatus::MODE_OK;
  }
  sim::Task<int> display_check(drm_device&, uint32_t, const fakes::drm_pipe_state&) override { co_return 0; }
  sim::Task<> display_enable(drm_device&, uint32_t, const fakes::drm_pipe_state&) override { co_return; }
  sim::Task<> display_disable(drm_device&, uint32_t) override { co_return; }
  sim::Task<> display_update(drm_device&, uint32_t, const fakes::drm_pipe_state&, const fakes::drm_pipe_state&,
                             fakes::drm_pending_vblank_event*) override {
    co_return;
  }
  sim::Task<fakes::ConnectorStatus> connector_detect(drm_device&, uint32_t) override {
    co_return fakes::ConnectorStatus::connected;
  }
};

}  // namespace xfsim::testing
