// drm_atomic_uapi.c, drm_atomic.c and drm_atomic_helper.c: the atomic ioctl
// (its check: mode_valid, the driver's check) and drm_atomic_helper_commit as
// xen-front uses it (mode_config_funcs.atomic_commit, the default
// commit_tail). Commits on a CRTC are sequenced by struct drm_crtc_commit:
// setup_commit refuses a nonblocking commit whose predecessor has not
// flipped (-EBUSY) and stalls on the one before it; swap_state waits for the
// predecessor's hw_done; the commit tail waits (10 s each) for its hw_done and
// flip_done. A blocking commit runs its tail in the ioctl under the modeset
// locks; a nonblocking one (a page flip) in commit_work on system_unbound_wq,
// holding no lock. Every commit on an active CRTC carries an event, whose
// sending (the driver's frame-done path) is the commit's flip_done.
//
// Oracles: invalid-mode-accepted, spurious-check-failure (the driver's check
// judged against the connector's mode); warning (WARN_ON(new_crtc_state->event)
// at hw_done: the driver left the event unconsumed).
#include "fakes/drm.h"

#include <fmt/format.h>

#include "sim/assert.h"

namespace xfsim::fakes {

namespace {
// The 10 s of wait_for_dependencies and stall_checks (10*HZ).
constexpr int64_t kCommitWaitMs = 10000;
}  // namespace

sim::Task<int> DrmCore::atomic_commit(drm_file& file, const drm_atomic_request& request) {
  XFSIM_KFUNC_AS(scheduler_, "drm_mode_atomic_ioctl");
  co_await scheduler_.point("drm_mode_atomic_ioctl");
  if (ioctl_unplugged(file)) co_return -ENODEV;
  drm_device& dev = *file.dev;
  if (request.pipe >= dev.pipes.size()) co_return -EINVAL;
  drm_atomic_state* state = drm_atomic_state_alloc(dev, request.pipe);
  // drm_atomic_get_crtc_state / _plane_state: drm_modeset_lock(&crtc->mutex).
  drm_crtc& crtc = dev.crtcs[request.pipe];
  co_await crtc.mutex->lock("drm_modeset_lock");
  const drm_pipe_state old = dev.pipes[request.pipe];
  state->old_state = old;
  drm_pipe_state& next = state->new_state;
  next.commit = nullptr;
  next.fb = nullptr;
  int ret = 0;
  if (request.fb_id != 0) {
    // drm_atomic_plane_set_property(FB_ID): a lookup by id among every fb of
    // the device, then drm_atomic_set_fb_for_plane takes the state's own
    // reference and the lookup's is dropped.
    drm_framebuffer* fb = drm_framebuffer_lookup(dev, request.fb_id, "drm_atomic_plane_set_property");
    if (fb == nullptr) {
      ret = -ENOENT;
    } else {
      fb->refcount.get(scheduler_, "drm_atomic_set_fb_for_plane", fb->label);
      next.fb = fb;
      co_await fb_put(*fb, "drm_atomic_plane_set_property");
    }
  }
  next.enabled = next.fb != nullptr;
  next.mode = request.mode ? *request.mode : old.mode;
  if (ret == 0 && next.enabled && !old.enabled && !request.mode) ret = -EINVAL;
  // drm_atomic_crtc_check: an event asked of a CRTC that stays off.
  if (ret == 0 && request.page_flip_event && !old.enabled && !next.enabled) ret = -EINVAL;
  // Ground truth the oracles judge the driver's check against.
  const bool mode_from_connector = !next.enabled || next.mode == dev.connectors[request.pipe].mode;
  if (ret == 0 && next.enabled && request.mode) {
    // drm_atomic_helper_check_modeset → crtc mode_valid (the pipe's, if set).
    if (dev.driver->pipe_mode_valid_set() &&
        dev.driver->pipe_mode_valid(dev, request.pipe, next.mode) != ModeStatus::MODE_OK) {
      ret = -EINVAL;
    }
  }
  if (ret == 0) {
    ret = co_await dev.driver->display_check(dev, request.pipe, next);
    if (ret != 0 && mode_from_connector) {
      scheduler_.report(kSpuriousCheckFailure, "drm_atomic_check_only",
                        fmt::format("atomic check of a valid commit on pipe {} failed with {}; "
                                    "userspace sees -EINVAL for a backend problem",
                                    request.pipe, ret));
    }
  }
  if (ret == 0 && !mode_from_connector) {
    scheduler_.report(kInvalidModeAccepted, "drm_atomic_check_only",
                      fmt::format("mode {}x{} accepted on pipe {} whose connector only has {}x{}", next.mode.hdisplay,
                                  next.mode.vdisplay, request.pipe, dev.connectors[request.pipe].mode.hdisplay,
                                  dev.connectors[request.pipe].mode.vdisplay));
  }
  drm_pending_vblank_event* event = nullptr;
  if (ret == 0 && request.page_flip_event) {
    // prepare_signaling: the event userspace asked for is the CRTC state's.
    event = take_event_for(file);
    event->user_data = request.user_data;
    state->event = event;
  }
  if (ret == 0) ret = co_await drm_atomic_helper_commit(*state, request.nonblock);
  if (ret != 0 && event != nullptr) {
    // complete_signaling → drm_event_cancel_free: never delivered.
    std::erase(file.undelivered, event);
    kmem_.kfree(event, "drm_event_cancel_free");
    state->event = nullptr;
  }
  // drm_modeset_drop_locks: the ioctl's locks go; a nonblocking commit's tail
  // runs without them.
  crtc.mutex->unlock();
  co_await drm_atomic_state_put(*state, "drm_mode_atomic_ioctl");
  co_return ret;
}

drm_atomic_state* DrmCore::drm_atomic_state_alloc(drm_device& dev, uint32_t pipe) {
  XFSIM_KFUNC(scheduler_);
  auto* state = kmem_.kzalloc<drm_atomic_state>("drm_atomic_state", fmt::format("state-pipe{}", pipe));
  state->dev = &dev;
  state->pipe = pipe;
  state->label = fmt::format("state-pipe{}", pipe);
  return state;
}

// __drm_atomic_state_free → drm_atomic_state_default_clear: the plane state
// the state still holds (the old one once swapped, else the new one) drops
// its fb reference; a commit's own event not yet handed over is freed.
sim::Task<> DrmCore::drm_atomic_state_put(drm_atomic_state& state, const char* site) {
  XFSIM_KFUNC(scheduler_);
  if (!kmem_.check(&state, site)) co_return;
  if (!state.ref.put(scheduler_, site, state.label)) co_return;
  drm_pipe_state& held = state.swapped ? state.old_state : state.new_state;
  drm_framebuffer* fb = held.fb;
  held.fb = nullptr;
  if (!state.swapped && state.new_state.commit != nullptr && state.new_state.commit->event != nullptr) {
    kmem_.kfree(state.new_state.commit->event, "drm_atomic_helper_crtc_destroy_state");
    state.new_state.commit->event = nullptr;
  }
  kmem_.kfree(&state, "__drm_atomic_state_free");
  if (fb != nullptr) co_await fb_put(*fb, "drm_atomic_state_default_clear");
}

sim::Task<int> DrmCore::drm_atomic_helper_commit(drm_atomic_state& state, bool nonblock) {
  XFSIM_KFUNC(scheduler_);
  const int ret = co_await drm_atomic_helper_setup_commit(state, nonblock);
  if (ret != 0) co_return ret;
  // drm_atomic_helper_prepare_planes: the simple pipe's prepare_fb only
  // waits for fences, which nothing here has.
  co_await drm_atomic_helper_swap_state(state);
  state.ref.get(scheduler_, "drm_atomic_helper_commit", state.label);  // drm_atomic_state_get
  if (nonblock) {
    drm_atomic_state* s = &state;
    state.commit_work = std::make_unique<sim::Work>(scheduler_, "kworker/u/commit_work", [this, s]() -> sim::Task<> {
      XFSIM_KFUNC_AS(scheduler_, "commit_work");
      co_await commit_tail(*s);
    });
    state.commit_work->queue();  // queue_work(system_unbound_wq, &state->commit_work)
  } else {
    co_await commit_tail(state);
  }
  co_return 0;
}

sim::Task<int> DrmCore::stall_checks(drm_device& dev, uint32_t pipe, bool nonblock) {
  XFSIM_KFUNC(scheduler_);
  drm_crtc& crtc = dev.crtcs[pipe];
  drm_crtc_commit* stall_commit = nullptr;
  if (!crtc.commit_list.empty()) {
    // Userspace is not allowed to get ahead of the previous commit with
    // nonblocking ones.
    if (!crtc.commit_list[0]->flip_done->try_wait_for_completion() && nonblock) {
      scheduler_.logf("[drm:stall_checks] [CRTC:{}:crtc-{}] busy with a previous commit", pipe, pipe);
      co_return -EBUSY;
    }
    if (crtc.commit_list.size() > 1) stall_commit = crtc.commit_list[1];
  }
  if (stall_commit == nullptr) co_return 0;
  // Stalling on the 2nd previous commit: triple buffering never stalls.
  if (!co_await stall_commit->cleanup_done->wait_for_completion_timeout("stall_checks", kCommitWaitMs))
    scheduler_.logf("[drm:stall_checks] *ERROR* [CRTC:{}:crtc-{}] cleanup_done timed out", pipe, pipe);
  co_return 0;
}

sim::Task<int> DrmCore::drm_atomic_helper_setup_commit(drm_atomic_state& state, bool nonblock) {
  XFSIM_KFUNC(scheduler_);
  drm_device& dev = *state.dev;
  drm_crtc& crtc = dev.crtcs[state.pipe];
  commits_.push_back(std::make_unique<drm_crtc_commit>());
  drm_crtc_commit* commit = commits_.back().get();
  commit->pipe = state.pipe;
  commit->seq = ++crtc.commits;
  commit->flip_done = std::make_unique<sim::Completion>(scheduler_, "commit->flip_done");
  commit->hw_done = std::make_unique<sim::Completion>(scheduler_, "commit->hw_done");
  commit->cleanup_done = std::make_unique<sim::Completion>(scheduler_, "commit->cleanup_done");
  state.new_state.commit = commit;
  const int ret = co_await stall_checks(dev, state.pipe, nonblock);
  if (ret != 0) co_return ret;
  if (!state.old_state.enabled && !state.new_state.enabled) {
    // Drivers only send events when the CRTC is or was active.
    commit->flip_done->complete_all();
  } else {
    if (state.event == nullptr) {
      commit->event = kmem_.kzalloc<drm_pending_vblank_event>(
          "drm_pending_vblank_event", fmt::format("commit-event-crtc{}-{}", state.pipe, commit->seq));
      state.event = commit->event;
    }
    state.event->completion = commit;  // release_crtc_commit when sent
  }
  state.commit = commit;
  // The plane: userspace is not allowed to get ahead of the previous commit
  // with nonblocking ones (the plane's last commit, flipped or not, is still
  // its state's even once off the CRTC's list).
  drm_crtc_commit* plane_commit = state.old_state.commit;
  if (nonblock && plane_commit != nullptr && !plane_commit->flip_done->try_wait_for_completion()) {
    scheduler_.logf("[drm:drm_atomic_helper_setup_commit] [PLANE:{}] busy with a previous commit", state.pipe);
    co_return -EBUSY;
  }
  co_return 0;
}

// drm_atomic_helper_swap_state(state, stall=true): after the predecessor's
// hw_done (the driver's hooks read crtc->state), the new state is the CRTC's
// and the commit goes on its list.
sim::Task<> DrmCore::drm_atomic_helper_swap_state(drm_atomic_state& state) {
  XFSIM_KFUNC(scheduler_);
  drm_device& dev = *state.dev;
  if (state.old_state.commit != nullptr)
    co_await state.old_state.commit->hw_done->wait_for_completion("drm_atomic_helper_swap_state");
  dev.pipes[state.pipe] = state.new_state;
  drm_crtc_commit* commit = state.new_state.commit;
  dev.crtcs[state.pipe].commit_list.insert(dev.crtcs[state.pipe].commit_list.begin(), commit);
  commit->event = nullptr;  // the event now travels with the CRTC state
  state.swapped = true;
}

sim::Task<> DrmCore::commit_tail(drm_atomic_state& state) {
  XFSIM_KFUNC(scheduler_);
  co_await drm_atomic_helper_wait_for_dependencies(state);
  co_await drm_atomic_helper_commit_tail(state);
  // drm_atomic_helper_commit_cleanup_done.
  drm_crtc_commit* commit = state.commit;
  commit->cleanup_done->complete_all();
  std::erase(state.dev->crtcs[state.pipe].commit_list, commit);
  co_await drm_atomic_state_put(state, "commit_tail");
}

sim::Task<> DrmCore::drm_atomic_helper_wait_for_dependencies(drm_atomic_state& state) {
  XFSIM_KFUNC(scheduler_);
  drm_crtc_commit* commit = state.old_state.commit;
  if (commit == nullptr) co_return;
  if (!co_await commit->hw_done->wait_for_completion_timeout("drm_atomic_helper_wait_for_dependencies", kCommitWaitMs))
    scheduler_.logf("[drm] *ERROR* [CRTC:{}:crtc-{}] hw_done timed out", state.pipe, state.pipe);
  // No support for overwriting flips: stall for the previous one to execute.
  if (!co_await commit->flip_done->wait_for_completion_timeout("drm_atomic_helper_wait_for_dependencies",
                                                               kCommitWaitMs))
    scheduler_.logf("[drm] *ERROR* [CRTC:{}:crtc-{}] flip_done timed out", state.pipe, state.pipe);
}

// drm_atomic_helper_commit_tail: modeset disables (the simple pipe's
// disable), planes (its update, for a plane on or leaving the CRTC: the
// simple pipe has no atomic_disable), modeset enables, hw_done. No
// vblank support (display_check clears no_vblank, no drm_vblank_init): no fake
// vblank and no wait for vblanks; the simple pipe has no cleanup_fb.
sim::Task<> DrmCore::drm_atomic_helper_commit_tail(drm_atomic_state& state) {
  XFSIM_KFUNC(scheduler_);
  drm_device& dev = *state.dev;
  const uint32_t pipe = state.pipe;
  const drm_pipe_state& old = state.old_state;
  const drm_pipe_state& next = state.new_state;
  if (old.enabled && !next.enabled) co_await dev.driver->display_disable(dev, pipe);
  if (old.fb != nullptr || next.fb != nullptr) {
    drm_pending_vblank_event* event = state.event;
    state.event = nullptr;  // display_update takes crtc->state->event
    co_await dev.driver->display_update(dev, pipe, old, next, event);
  }
  if (!old.enabled && next.enabled) co_await dev.driver->display_enable(dev, pipe, next);
  // drm_atomic_helper_commit_hw_done.
  drm_crtc_commit* commit = state.commit;
  state.old_state.commit = commit;  // cleanup_done reads the commit from the old state
  if (state.event != nullptr) {
    scheduler_.report(kWarning, "drm_atomic_helper_commit_hw_done",
                      fmt::format("WARN_ON(new_crtc_state->event): the event of commit {} on pipe {} was not consumed",
                                  commit->seq, pipe));
  }
  commit->hw_done->complete_all();
}

sim::Task<> DrmCore::drm_modeset_lock_all_ctx(drm_device& dev) {
  XFSIM_KFUNC(scheduler_);
  for (drm_crtc& crtc : dev.crtcs) co_await crtc.mutex->lock("drm_modeset_lock_all_ctx");
}

void DrmCore::drm_modeset_drop_locks_all(drm_device& dev) {
  for (auto it = dev.crtcs.rbegin(); it != dev.crtcs.rend(); ++it) it->mutex->unlock();
}

}  // namespace xfsim::fakes
