#include "harness/userspace.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

namespace xfsim::harness {

namespace {
// Deadlines saturate: a bound near 2^63 ms waits "forever", never overflows.
uint64_t deadline_after(uint64_t now, int64_t bound_ms) {
  const uint64_t bound = bound_ms > 0 ? static_cast<uint64_t>(bound_ms) : 0;
  return bound > UINT64_MAX - now ? UINT64_MAX : now + bound;
}
int64_t ms_left(uint64_t deadline, uint64_t now) {
  return deadline > now ? static_cast<int64_t>(std::min<uint64_t>(deadline - now, INT64_MAX)) : 0;
}
}  // namespace

fakes::Vma* Process::latest_map(const std::string& buffer) const {
  for (auto it = maps.rbegin(); it != maps.rend(); ++it) {
    if (it->first == buffer) return it->second;
  }
  return nullptr;
}

void Userspace::spawn_actors(const std::vector<Actor>& actors) {
  std::map<std::string, Process*> by_name;
  for (const Actor& actor : actors) {
    Process* process = nullptr;
    const bool main_thread = actor.thread_of.empty();
    if (main_thread) {
      processes_.push_back(std::make_unique<Process>());
      process = processes_.back().get();
      process->name = actor.name;
      process->changed = std::make_unique<sim::WaitQueue>(scheduler_, "process");
    } else {
      process = by_name.at(actor.thread_of);
    }
    by_name[actor.name] = process;
    ++process->threads_running;
    scheduler_.spawn(actor.name, sim::TaskKind::kUser, actor_main(&actor, process, main_thread));
  }
}

bool Userspace::all_exited() const {
  for (const auto& process : processes_) {
    if (process->file != nullptr || !process->maps.empty() || process->threads_running > 0) return false;
  }
  return true;
}

void Userspace::hung_wait(const std::string& what, int64_t bound_ms) {
  sim::Violation v;
  v.kind = &kHungWait;
  v.site = "userspace";
  v.waited_for = what;
  v.detail = fmt::format("{} waited {} ms for {} and it never came", scheduler_.current_name(), bound_ms, what);
  v.notes.push_back(fmt::format("task {} waited since t={} ms (bound {} ms)", scheduler_.current_name(),
                                scheduler_.now_ms() - static_cast<uint64_t>(bound_ms), bound_ms));
  scheduler_.report(std::move(v));
}

sim::Task<> Userspace::actor_main(const Actor* actor, Process* process, bool main_thread) {
  for (const UserStep& step : actor->steps) {
    if (process->dead) break;
    co_await run_step(step, *process);
    if (process->dead && actor->die_on_sigbus) break;
    process->dead = false;  // recovered: the script carries on
  }
  --process->threads_running;
  if (main_thread) process->main_finished = true;
  process->changed->wake_all();
  if (main_thread) {
    // exit_group: wait for the other threads, then the kernel closes every
    // file and unmaps every mapping of the process.
    while (process->threads_running > 0) co_await process->changed->wait("do_exit");
    co_await process_exit(*process);
  }
}

sim::Task<> Userspace::process_exit(Process& process) {
  auto maps = std::move(process.maps);
  process.maps.clear();
  for (auto& [name, vma] : maps) co_await drm_.munmap(*vma);
  if (process.file) {
    fakes::drm_file* file = process.file;
    process.file = nullptr;
    co_await drm_.close(*file);
  }
}

sim::Task<> Userspace::run_step(const UserStep& step, Process& process) {
  auto log_result = [&](int ret) {
    if (ret != 0) scheduler_.logf("{}: {} -> {}", scheduler_.current_name(), step.op, ret);
  };
  if (step.kind == UserOp::kSleep) {
    sim::WaitQueue never(scheduler_, "nanosleep");
    // until_ms lines an action up with a scripted backend event at the same
    // virtual instant, where the scheduler decides the order.
    const int64_t ms = step.until_ms ? static_cast<int64_t>(*step.until_ms) - static_cast<int64_t>(scheduler_.now_ms())
                                     : static_cast<int64_t>(step.ms);
    if (ms > 0) co_await never.wait("nanosleep", ms);
    co_return;
  }
  if (step.kind == UserOp::kWaitDevice) {
    const int64_t bound = step.bound_ms.value_or(kDefaultDeviceWaitMs);
    const uint64_t deadline = deadline_after(scheduler_.now_ms(), bound);
    while (true) {
      fakes::drm_device* dev = drm_.registered_device();
      if (dev && dev->minor > process.last_minor) co_return;
      const int64_t left = ms_left(deadline, scheduler_.now_ms());
      if (left <= 0) {
        hung_wait("a display device to appear", bound);
        co_return;
      }
      co_await drm_.register_wait().wait("udev_monitor", left);
    }
  }
  if (step.kind == UserOp::kWaitOpen) {
    // Until the main thread has opened the card once (or will never do so).
    while (process.opens == 0 && !process.main_finished) co_await process.changed->wait("wait_open");
    co_return;
  }
  if (step.kind == UserOp::kOpen) {
    fakes::drm_device* dev = drm_.registered_device();
    if (dev == nullptr || process.file != nullptr) co_return log_result(-ENOENT);
    fakes::drm_file* file = co_await drm_.drm_open(*dev, process.name);
    if (file == nullptr) co_return log_result(-ENODEV);
    process.file = file;
    ++process.opens;
    process.last_minor = dev->minor;
    process.changed->wake_all();
    co_return;
  }
  if (step.kind == UserOp::kWaitUevent) {
    const int64_t bound = step.bound_ms.value_or(kDefaultUeventWaitMs);
    const uint64_t deadline = deadline_after(scheduler_.now_ms(), bound);
    while (true) {
      auto& events = drm_.uevents();
      for (; process.uevent_cursor < events.size(); ++process.uevent_cursor) {
        if (events[process.uevent_cursor].action == step.action) {
          ++process.uevent_cursor;
          co_return;
        }
      }
      const int64_t left = ms_left(deadline, scheduler_.now_ms());
      if (left <= 0) {
        hung_wait(fmt::format("a '{}' uevent", step.action), bound);
        co_return;
      }
      co_await drm_.uevent_wait().wait("udev_monitor", left);
    }
  }
  fakes::drm_file* file = process.file;
  if (file == nullptr) co_return log_result(-EBADF);
  // An ioctl holds its own reference to the file (fdget), so a close from
  // another thread mid-call only drops the fd.
  ++file->refs;
  int ret = 0;
  if (step.kind == UserOp::kCreateDumb) {
    uint32_t handle = 0;
    ret = co_await drm_.mode_create_dumb(*file, step.width, step.height, step.bpp, handle);
    if (ret == 0) process.handles[step.as] = handle;
  } else if (step.kind == UserOp::kGemClose) {
    uint32_t handle = step.handle.value_or(0);
    if (!step.buffer.empty()) {
      auto it = process.handles.find(step.buffer);
      handle = it == process.handles.end() ? 0 : it->second;
    }
    ret = co_await drm_.gem_close(*file, handle);
  } else if (step.kind == UserOp::kMmap) {
    auto it = process.handles.find(step.buffer);
    fakes::Vma* vma = nullptr;
    ret = it == process.handles.end() ? -ENOENT : co_await drm_.gem_mmap(*file, it->second, vma);
    if (ret == 0) process.maps.emplace_back(step.buffer, vma);
  } else if (step.kind == UserOp::kTouch) {
    if (fakes::Vma* vma = process.latest_map(step.buffer)) {
      ret = co_await drm_.touch(*vma, step.page);
      if (ret == -1) {
        scheduler_.logf("{}: SIGBUS touching {}", scheduler_.current_name(), step.buffer);
        process.dead = true;
      }
    }
  } else if (step.kind == UserOp::kMunmap) {
    if (fakes::Vma* vma = process.latest_map(step.buffer)) {
      std::erase_if(process.maps, [vma](const auto& entry) { return entry.second == vma; });
      ret = co_await drm_.munmap(*vma);
    }
  } else if (step.kind == UserOp::kAddFb) {
    auto it = process.handles.find(step.buffer);
    uint32_t fb_id = 0;
    ret = it == process.handles.end() ? -ENOENT
                                      : co_await drm_.addfb(*file, it->second, step.width ? step.width : 64,
                                                            step.height ? step.height : 64, fb_id);
    if (ret == 0) process.fbs[step.as] = fb_id;
  } else if (step.kind == UserOp::kRmFb) {
    auto it = process.fbs.find(step.fb);
    if (it != process.fbs.end()) {
      ret = co_await drm_.rmfb(*file, it->second);
      process.fbs.erase(it);
    }
  } else if (step.kind == UserOp::kCommit || step.kind == UserOp::kFlip || step.kind == UserOp::kDisable) {
    fakes::drm_atomic_request request;
    request.pipe = step.pipe;
    request.page_flip_event = step.kind != UserOp::kDisable;
    if (step.kind != UserOp::kDisable) {
      auto it = process.fbs.find(step.fb);
      request.fb_id = it == process.fbs.end() ? 0xffff : it->second;
    }
    if (step.kind == UserOp::kCommit) {
      if (step.mode) {
        request.mode = fakes::drm_display_mode{step.mode->first, step.mode->second};
      } else if (file->dev && drm_.kmem().live(file->dev) && step.pipe < file->dev->connectors.size()) {
        request.mode = file->dev->connectors[step.pipe].mode;  // the connector's own mode
      }
    }
    ret = co_await drm_.atomic_commit(*file, request);
    if (ret == 0 && request.page_flip_event) ++process.events_owed;
  } else if (step.kind == UserOp::kWaitFlip) {
    // Only an event of a commit that succeeded is owed to userspace.
    if (process.events_owed > 0) {
      const int64_t bound = step.bound_ms.value_or(kDefaultFlipWaitMs);
      const bool got = co_await drm_.read_event(*file, bound);
      if (!got)
        hung_wait("a page-flip event", bound);
      else
        --process.events_owed;
    }
  } else if (step.kind == UserOp::kClose) {
    process.file = nullptr;
    ret = 0;
    co_await drm_.close(*file);  // drops the fd's reference
  }
  log_result(ret);
  co_await drm_.file_put_public(*file);
}

}  // namespace xfsim::harness
