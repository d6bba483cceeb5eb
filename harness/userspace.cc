#include "harness/userspace.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "sim/assert.h"
#include "sim/wait.h"

namespace xfsim::harness {

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

// One function per op; the switches only dispatch. Waits and open need no
// file; every other op is a call on the process's file (file_op lists them
// all, so -Wswitch names an op added without a function).
sim::Task<> Userspace::run_step(const UserStep& step, Process& process) {
  switch (step.kind) {
    case UserOp::kSleep:
      return nanosleep(step);
    case UserOp::kWaitDevice:
      return wait_device(step, process);
    case UserOp::kWaitOpen:
      return wait_open(process);
    case UserOp::kOpen:
      return open(step, process);
    case UserOp::kWaitUevent:
      return wait_uevent(step, process);
    default:
      return file_call(step, process);
  }
}

// Its cases are alike in shape: it only dispatches.
sim::Task<int> Userspace::file_op(const UserStep& step, Process& process, fakes::drm_file& file) {
  switch (step.kind) {
    case UserOp::kCreateDumb:
      return create_dumb(step, process, file);
    case UserOp::kGemClose:
      return gem_close(step, process, file);
    case UserOp::kMmap:
      return mmap(step, process, file);
    case UserOp::kTouch:
      return touch(step, process);
    case UserOp::kMunmap:
      return munmap(step, process);
    case UserOp::kAddFb:
      return add_fb(step, process, file);
    case UserOp::kRmFb:
      return rm_fb(step, process, file);
    case UserOp::kCommit:
    case UserOp::kFlip:
    case UserOp::kDisable:
      return atomic_commit(step, process, file);
    case UserOp::kWaitFlip:
      return wait_flip(step, process, file);
    case UserOp::kClose:
      return close(process, file);
    case UserOp::kSleep:
    case UserOp::kWaitDevice:
    case UserOp::kWaitOpen:
    case UserOp::kOpen:
    case UserOp::kWaitUevent:
      break;
  }
  XFSIM_ASSERT(false, "op {} is not a call on a file", step.op);
}

void Userspace::log_result(const UserStep& step, int ret) {
  if (ret != 0) scheduler_.logf("{}: {} -> {}", scheduler_.current_name(), step.op, ret);
}

sim::Task<> Userspace::nanosleep(const UserStep& step) {
  sim::WaitQueue never(scheduler_, "nanosleep");
  // until_ms lines an action up with a scripted backend event at the same
  // virtual instant, where the scheduler decides the order.
  const int64_t ms = step.until_ms ? static_cast<int64_t>(*step.until_ms) - static_cast<int64_t>(scheduler_.now_ms())
                                   : static_cast<int64_t>(step.ms);
  if (ms > 0) co_await never.wait("nanosleep", ms);
}

sim::Task<> Userspace::wait_device(const UserStep& step, Process& process) {
  const int64_t bound = step.bound_ms.value_or(kDefaultDeviceWaitMs);
  const auto appeared = [&] {
    fakes::drm_device* dev = drm_.registered_device();
    return dev && dev->minor > process.last_minor;
  };
  if (co_await sim::wait_event_timeout(drm_.register_wait(), appeared, "udev_monitor", bound) == 0 &&
      !(device_failed_ && device_failed_()))
    hung_wait("a display device to appear", bound);
}

sim::Task<> Userspace::wait_open(Process& process) {
  // Until the main thread has opened the card once (or will never do so).
  while (process.opens == 0 && !process.main_finished) co_await process.changed->wait("wait_open");
}

sim::Task<> Userspace::open(const UserStep& step, Process& process) {
  fakes::drm_device* dev = drm_.registered_device();
  if (dev == nullptr || process.file != nullptr) co_return log_result(step, -ENOENT);
  fakes::drm_file* file = co_await drm_.drm_open(*dev, process.name);
  if (file == nullptr) co_return log_result(step, -ENODEV);
  process.file = file;
  ++process.opens;
  process.last_minor = dev->minor;
  process.changed->wake_all();
}

sim::Task<> Userspace::wait_uevent(const UserStep& step, Process& process) {
  const int64_t bound = step.bound_ms.value_or(kDefaultUeventWaitMs);
  const auto arrived = [&] {
    auto& events = drm_.uevents();
    for (; process.uevent_cursor < events.size(); ++process.uevent_cursor) {
      if (events[process.uevent_cursor].action == step.action) {
        ++process.uevent_cursor;
        return true;
      }
    }
    return false;
  };
  if (co_await sim::wait_event_timeout(drm_.uevent_wait(), arrived, "udev_monitor", bound) == 0 &&
      !(device_failed_ && device_failed_()))
    hung_wait(fmt::format("a '{}' uevent", step.action), bound);
}

sim::Task<> Userspace::file_call(const UserStep& step, Process& process) {
  fakes::drm_file* file = process.file;
  if (file == nullptr) co_return log_result(step, -EBADF);
  // An ioctl holds its own reference to the file (fdget), so a close from
  // another thread mid-call only drops the fd.
  ++file->refs;
  const int ret = co_await file_op(step, process, *file);
  log_result(step, ret);
  co_await drm_.file_put_public(*file);
}

sim::Task<int> Userspace::create_dumb(const UserStep& step, Process& process, fakes::drm_file& file) {
  uint32_t handle = 0;
  const int ret = co_await drm_.mode_create_dumb(file, step.width, step.height, step.bpp, handle);
  if (ret == 0) process.handles[step.as] = handle;
  co_return ret;
}

sim::Task<int> Userspace::gem_close(const UserStep& step, Process& process, fakes::drm_file& file) {
  uint32_t handle = step.handle.value_or(0);
  if (!step.buffer.empty()) {
    auto it = process.handles.find(step.buffer);
    handle = it == process.handles.end() ? 0 : it->second;
  }
  co_return co_await drm_.gem_close(file, handle);
}

sim::Task<int> Userspace::mmap(const UserStep& step, Process& process, fakes::drm_file& file) {
  auto it = process.handles.find(step.buffer);
  fakes::Vma* vma = nullptr;
  const int ret = it == process.handles.end() ? -ENOENT : co_await drm_.gem_mmap(file, it->second, vma);
  if (ret == 0) process.maps.emplace_back(step.buffer, vma);
  co_return ret;
}

sim::Task<int> Userspace::touch(const UserStep& step, Process& process) {
  fakes::Vma* vma = process.latest_map(step.buffer);
  if (vma == nullptr) co_return 0;
  const int ret = co_await drm_.touch(*vma, step.page);
  if (ret == -1) {
    scheduler_.logf("{}: SIGBUS touching {}", scheduler_.current_name(), step.buffer);
    process.dead = true;
  }
  co_return ret;
}

sim::Task<int> Userspace::munmap(const UserStep& step, Process& process) {
  fakes::Vma* vma = process.latest_map(step.buffer);
  if (vma == nullptr) co_return 0;
  std::erase_if(process.maps, [vma](const auto& entry) { return entry.second == vma; });
  co_return co_await drm_.munmap(*vma);
}

sim::Task<int> Userspace::add_fb(const UserStep& step, Process& process, fakes::drm_file& file) {
  auto it = process.handles.find(step.buffer);
  uint32_t fb_id = 0;
  const int ret = it == process.handles.end() ? -ENOENT
                                              : co_await drm_.addfb(file, it->second, step.width ? step.width : 64,
                                                                    step.height ? step.height : 64, fb_id);
  if (ret == 0) process.fbs[step.as] = fb_id;
  co_return ret;
}

sim::Task<int> Userspace::rm_fb(const UserStep& step, Process& process, fakes::drm_file& file) {
  auto it = process.fbs.find(step.fb);
  if (it == process.fbs.end()) co_return 0;
  const int ret = co_await drm_.rmfb(file, it->second);
  process.fbs.erase(it);
  co_return ret;
}

// commit, flip and disable: one atomic commit each.
sim::Task<int> Userspace::atomic_commit(const UserStep& step, Process& process, fakes::drm_file& file) {
  fakes::drm_atomic_request request;
  request.pipe = step.pipe;
  request.page_flip_event = step.kind != UserOp::kDisable;
  // A page flip is a nonblocking commit (DRM_MODE_ATOMIC_NONBLOCK), as a
  // compositor's; a modeset and a disable block.
  request.nonblock = step.kind == UserOp::kFlip;
  if (step.kind != UserOp::kDisable) {
    auto it = process.fbs.find(step.fb);
    request.fb_id = step.fb_id ? *step.fb_id : it == process.fbs.end() ? 0xffff : it->second;
  }
  if (step.kind == UserOp::kCommit) {
    if (step.mode) {
      request.mode = fakes::drm_display_mode{step.mode->first, step.mode->second};
    } else if (file.dev && drm_.kmem().live(file.dev) && step.pipe < file.dev->connectors.size()) {
      request.mode = file.dev->connectors[step.pipe].mode;  // the connector's own mode
    }
  }
  const int ret = co_await drm_.atomic_commit(file, request);
  if (ret == 0 && request.page_flip_event) ++process.events_owed;
  co_return ret;
}

sim::Task<int> Userspace::wait_flip(const UserStep& step, Process& process, fakes::drm_file& file) {
  // Only an event of a commit that succeeded is owed to userspace.
  if (process.events_owed == 0) co_return 0;
  const int64_t bound = step.bound_ms.value_or(kDefaultFlipWaitMs);
  if (co_await drm_.read_event(file, bound))
    --process.events_owed;
  else
    hung_wait("a page-flip event", bound);
  co_return 0;
}

sim::Task<int> Userspace::close(Process& process, fakes::drm_file& file) {
  process.file = nullptr;
  co_await drm_.close(file);  // drops the fd's reference
  co_return 0;
}

}  // namespace xfsim::harness
