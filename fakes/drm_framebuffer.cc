// drm_framebuffer.c: ADDFB2 and RMFB, framebuffer references and removal
// (planes still scanning a framebuffer out are disabled first), and
// drm_gem_fb_destroy (drm_gem_framebuffer_helper.c).
#include "fakes/drm.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include "sim/assert.h"

namespace xfsim::fakes {

sim::Task<int> DrmCore::addfb(drm_file& file, uint32_t handle, uint32_t w, uint32_t h, uint32_t& fb_id) {
  XFSIM_KFUNC_AS(scheduler_, "drm_mode_addfb2");
  co_await scheduler_.point("drm_mode_addfb2");
  if (ioctl_unplugged(file)) co_return -ENODEV;
  drm_gem_object* obj = co_await drm_gem_object_lookup(file, handle);
  if (obj == nullptr) co_return -ENOENT;
  auto* fb = kmem_.kzalloc<drm_framebuffer>("drm_framebuffer", fmt::format(FMT_COMPILE("fb{}"), next_fb_id_));
  fb->dev = file.dev;
  fb->id = next_fb_id_++;
  fb->owner = &file;
  fb->obj = obj;  // the lookup reference is the fb's
  fb->width = w;
  fb->height = h;
  fb->label = fmt::format(FMT_COMPILE("fb{}"), fb->id);
  const int ret = co_await file.dev->driver->fb_create(file, *fb);
  if (ret != 0) {
    co_await drm_gem_fb_destroy(*fb);
    co_return ret;
  }
  file.fbs[fb->id] = fb;
  fb_id = fb->id;
  co_return 0;
}

sim::Task<> DrmCore::drm_gem_fb_destroy(drm_framebuffer& fb) {
  XFSIM_KFUNC(scheduler_);
  if (!kmem_.check(&fb, "drm_gem_fb_destroy")) co_return;
  co_await drm_gem_object_put(*fb.obj, "drm_gem_fb_destroy");
  kmem_.kfree(&fb, "drm_gem_fb_destroy");
}

sim::Task<> DrmCore::fb_put(drm_framebuffer& fb, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "drm_framebuffer_put");
  if (!kmem_.check(&fb, site)) co_return;
  if (fb.refcount.put(scheduler_, site, fb.label)) co_await fb.dev->driver->fb_destroy(fb);
}

sim::Task<> DrmCore::fb_remove(drm_framebuffer& fb, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "drm_framebuffer_remove");
  if (!kmem_.check(&fb, site)) co_return;
  drm_device& dev = *fb.dev;
  if (kmem_.live(&dev)) {
    for (uint32_t pipe = 0; pipe < dev.pipes.size(); ++pipe) {
      if (dev.pipes[pipe].fb != &fb) continue;
      if (dev.pipes[pipe].enabled) co_await dev.driver->display_disable(dev, pipe);
      dev.pipes[pipe] = drm_pipe_state{};
      co_await fb_put(fb, site);  // the plane's reference
    }
  }
  co_await fb_put(fb, site);
}

sim::Task<int> DrmCore::rmfb(drm_file& file, uint32_t fb_id) {
  XFSIM_KFUNC_AS(scheduler_, "drm_mode_rmfb");
  co_await scheduler_.point("drm_mode_rmfb");
  if (ioctl_unplugged(file)) co_return -ENODEV;
  auto it = file.fbs.find(fb_id);
  if (it == file.fbs.end()) co_return -ENOENT;
  drm_framebuffer* fb = it->second;
  file.fbs.erase(it);
  co_await fb_remove(*fb, "drm_mode_rmfb");
  co_return 0;
}

}  // namespace xfsim::fakes
