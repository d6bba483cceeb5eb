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

fakes::dma_buf* Process::latest_dmabuf(const std::string& fd_name) const {
  for (auto it = dmabufs.rbegin(); it != dmabufs.rend(); ++it) {
    if (it->first == fd_name) return it->second;
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
    if (main_thread) process_by_actor_[actor.name] = process;
    ++process->threads_running;
    scheduler_.spawn(actor.name, sim::TaskKind::kUser, actor_main(&actor, process, main_thread));
  }
}

bool Userspace::all_exited() const {
  for (const auto& process : processes_) {
    if (process->file != nullptr || !process->maps.empty() || process->threads_running > 0) return false;
    if (!process->dmabufs.empty() || !process->inbox.empty() || !process->imports.empty()) return false;
  }
  return true;
}

void Userspace::hung_wait(const std::string& what, int64_t bound_ms) {
  // A script goes on after a failed call. Once an injected fault made a call
  // fail, or the driver gave the device up (xenbus_dev_fatal), what a later
  // step waits for (the device, its uevents, a flip of a buffer never made,
  // an fd never sent) may rightly never come: that is no hang of the driver.
  if (failed_after_fault_ || (device_failed_ && device_failed_())) {
    scheduler_.logf("{}: gave up waiting for {} after an injected failure", scheduler_.current_name(), what);
    return;
  }
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
  auto imports = std::move(process.imports);
  process.imports.clear();
  for (auto& [name, import] : imports) co_await importer_release(*import);
  if (process.file) {
    fakes::drm_file* file = process.file;
    process.file = nullptr;
    co_await drm_.close(*file);
  }
  // Its dma-buf fds, and those still in flight to it (its socket goes).
  auto dmabufs = std::move(process.dmabufs);
  process.dmabufs.clear();
  for (auto& [name, dmabuf] : dmabufs) co_await drm_.dma_buf_put(*dmabuf, "filp_close");
  auto inbox = std::move(process.inbox);
  process.inbox.clear();
  for (fakes::dma_buf* dmabuf : inbox) co_await drm_.dma_buf_put(*dmabuf, "unix_destruct_scm");
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
    case UserOp::kDmabufClose:
    case UserOp::kDmabufPass:
    case UserOp::kDmabufRecv:
    case UserOp::kDmabufMmap:
    case UserOp::kDmabufVmap:
    case UserOp::kDmabufRead:
    case UserOp::kDmabufVunmap:
    case UserOp::kDmaHeapAlloc:
      return dmabuf_call(step, process);
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
    case UserOp::kPrimeExport:
      return prime_export(step, process, file);
    case UserOp::kPrimeImport:
      return prime_import(step, process, file);
    case UserOp::kSleep:
    case UserOp::kWaitDevice:
    case UserOp::kWaitOpen:
    case UserOp::kOpen:
    case UserOp::kWaitUevent:
    case UserOp::kDmabufClose:
    case UserOp::kDmabufPass:
    case UserOp::kDmabufRecv:
    case UserOp::kDmabufMmap:
    case UserOp::kDmabufVmap:
    case UserOp::kDmabufRead:
    case UserOp::kDmabufVunmap:
    case UserOp::kDmaHeapAlloc:
      break;
  }
  XFSIM_ASSERT(false, "op {} is not a call on a file", step.op);
}

void Userspace::log_result(const UserStep& step, int ret) {
  if (ret == 0) return;
  scheduler_.logf("{}: {} -> {}", scheduler_.current_name(), step.op, ret);
  if (!scheduler_.injected_faults().empty()) failed_after_fault_ = true;
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
  if (co_await sim::wait_event_timeout(drm_.register_wait(), appeared, "udev_monitor", bound) == 0)
    hung_wait("a display device to appear", bound);
}

sim::Task<> Userspace::wait_open(Process& process) {
  // Until the main thread has opened the card once (or will never do so).
  while (process.opens == 0 && !process.main_finished) co_await process.changed->wait("wait_open");
}

sim::Task<> Userspace::open(const UserStep& step, Process& process) {
  fakes::drm_device* dev = drm_.registered_device();
  if (dev == nullptr || process.file != nullptr) co_return log_result(step, -ENOENT);
  // The path names the minor; the device behind it may be gone by the time
  // drm_open looks it up again.
  const int minor = dev->minor;
  fakes::drm_file* file = co_await drm_.drm_open(minor, process.name);
  if (file == nullptr) co_return log_result(step, -ENODEV);
  if (process.file != nullptr) {
    // Another thread of the process opened the card while this open slept.
    // A process here has one fd for the card: it keeps the first and closes
    // this one again (before, this one was lost and reported as a leak;
    // found by fuzz --generate).
    co_await drm_.close(*file);
    co_return log_result(step, -EBUSY);
  }
  process.file = file;
  ++process.opens;
  process.last_minor = minor;
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
  if (co_await sim::wait_event_timeout(drm_.uevent_wait(), arrived, "udev_monitor", bound) == 0)
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

// ------------------------------------------------------------ PRIME

// DRM_IOCTL_PRIME_HANDLE_TO_FD: the buffer's handle becomes a dma-buf fd.
sim::Task<int> Userspace::prime_export(const UserStep& step, Process& process, fakes::drm_file& file) {
  auto it = process.handles.find(step.buffer);
  if (it == process.handles.end()) co_return -ENOENT;
  fakes::dma_buf* dmabuf = nullptr;
  const int ret = co_await drm_.prime_handle_to_fd(file, it->second, dmabuf);
  if (ret == 0) process.dmabufs.emplace_back(step.as, dmabuf);
  co_return ret;
}

// DRM_IOCTL_PRIME_FD_TO_HANDLE: a dma-buf fd (ours, another process's, or a
// foreign exporter's) becomes a handle on the process's file.
sim::Task<int> Userspace::prime_import(const UserStep& step, Process& process, fakes::drm_file& file) {
  fakes::dma_buf* dmabuf = process.latest_dmabuf(step.dmabuf);
  if (dmabuf == nullptr) co_return -EBADF;
  uint32_t handle = 0;
  const int ret = co_await drm_.prime_fd_to_handle(file, *dmabuf, handle);
  if (ret == 0) process.handles[step.as] = handle;
  co_return ret;
}

// The calls on dma-buf fds, which need no open card; the result is logged
// when it is not 0. Its cases are alike in shape: it only dispatches.
sim::Task<> Userspace::dmabuf_call(const UserStep& step, Process& process) {
  int ret = 0;
  switch (step.kind) {
    case UserOp::kDmabufClose:
      ret = co_await dmabuf_close(step, process);
      break;
    case UserOp::kDmabufPass:
      ret = co_await dmabuf_pass(step, process);
      break;
    case UserOp::kDmabufRecv:
      ret = co_await dmabuf_recv(step, process);
      break;
    case UserOp::kDmabufMmap:
      ret = co_await dmabuf_mmap(step, process);
      break;
    case UserOp::kDmabufVmap:
      ret = co_await dmabuf_vmap(step, process);
      break;
    case UserOp::kDmabufRead:
      ret = co_await dmabuf_read(step, process);
      break;
    case UserOp::kDmabufVunmap:
      ret = co_await dmabuf_vunmap(step, process);
      break;
    case UserOp::kDmaHeapAlloc:
      ret = co_await dma_heap_alloc(step, process);
      break;
    default:
      XFSIM_ASSERT(false, "op {} is not a call on a dma-buf", step.op);
  }
  log_result(step, ret);
}

sim::Task<int> Userspace::dmabuf_close(const UserStep& step, Process& process) {
  fakes::dma_buf* dmabuf = process.latest_dmabuf(step.dmabuf);
  if (dmabuf == nullptr) co_return -EBADF;
  auto it = std::find_if(process.dmabufs.rbegin(), process.dmabufs.rend(),
                         [dmabuf](const auto& entry) { return entry.second == dmabuf; });
  process.dmabufs.erase(std::next(it).base());
  co_await scheduler_.point("dmabuf_close");
  co_await drm_.dma_buf_put(*dmabuf, "filp_close");
  co_return 0;
}

// sendmsg(SCM_RIGHTS): the message holds its own reference to the file until
// the receiver installs it as an fd of its own; the sender keeps its fd.
sim::Task<int> Userspace::dmabuf_pass(const UserStep& step, Process& process) {
  fakes::dma_buf* dmabuf = process.latest_dmabuf(step.dmabuf);
  if (dmabuf == nullptr) co_return -EBADF;
  Process& receiver = *process_by_actor_.at(step.to);
  co_await scheduler_.point("unix_stream_sendmsg");
  drm_.get_dma_buf(*dmabuf, "unix_attach_fds");
  receiver.inbox.push_back(dmabuf);
  receiver.changed->wake_all();
  co_return 0;
}

// recvmsg: waits for an fd sent to the process (hung-wait past the bound).
sim::Task<int> Userspace::dmabuf_recv(const UserStep& step, Process& process) {
  const int64_t bound = step.bound_ms.value_or(kDefaultDeviceWaitMs);
  const auto arrived = [&process] { return !process.inbox.empty(); };
  if (co_await sim::wait_event_timeout(*process.changed, arrived, "unix_stream_recvmsg", bound) == 0) {
    // The fd is userspace's to send: an injected failure may have stopped
    // the sender before its own call failed in a way this process sees.
    if (scheduler_.injected_faults().empty()) hung_wait("a dma-buf fd from another process", bound);
    co_return -EAGAIN;
  }
  process.dmabufs.emplace_back(step.as, process.inbox.front());
  process.inbox.erase(process.inbox.begin());
  co_return 0;
}

// mmap(2) of the dma-buf fd: a mapping `touch` and `munmap` reach by name.
sim::Task<int> Userspace::dmabuf_mmap(const UserStep& step, Process& process) {
  fakes::dma_buf* dmabuf = process.latest_dmabuf(step.dmabuf);
  if (dmabuf == nullptr) co_return -EBADF;
  fakes::Vma* vma = nullptr;
  const int ret = co_await drm_.dma_buf_mmap(*dmabuf, vma);
  if (ret == 0) process.maps.emplace_back(step.as, vma);
  co_return ret;
}

// The fd handed to an importing device (as to a V4L2 or another GPU's
// driver): it takes its own reference (dma_buf_get), attaches, maps the
// attachment (the exporter's get_sg_table) and vmaps the buffer.
sim::Task<int> Userspace::dmabuf_vmap(const UserStep& step, Process& process) {
  fakes::dma_buf* dmabuf = process.latest_dmabuf(step.dmabuf);
  if (dmabuf == nullptr) co_return -EBADF;
  co_await scheduler_.point("importer_ioctl");
  drm_.get_dma_buf(*dmabuf, "dma_buf_get");
  auto import = std::make_unique<Process::Import>();
  import->attach = drm_.dma_buf_attach(*dmabuf, "importer");
  int ret = drm_.dma_buf_map_attachment(*import->attach);
  if (ret == 0) {
    ret = drm_.dma_buf_vmap(*dmabuf, import->map);
    if (ret != 0) drm_.dma_buf_unmap_attachment(*import->attach);
  }
  if (ret != 0) {
    co_await drm_.dma_buf_detach(*dmabuf, *import->attach);
    co_await drm_.dma_buf_put(*dmabuf, "dma_buf_put");
    co_return ret;
  }
  process.imports.emplace_back(step.as, std::move(import));
  co_return 0;
}

sim::Task<int> Userspace::dmabuf_read(const UserStep& step, Process& process) {
  for (auto it = process.imports.rbegin(); it != process.imports.rend(); ++it) {
    if (it->first == step.buffer) co_return co_await drm_.dma_buf_vmap_read(it->second->map, step.page);
  }
  co_return -ENOENT;
}

sim::Task<int> Userspace::dmabuf_vunmap(const UserStep& step, Process& process) {
  for (auto it = process.imports.rbegin(); it != process.imports.rend(); ++it) {
    if (it->first != step.buffer) continue;
    std::unique_ptr<Process::Import> import = std::move(it->second);
    process.imports.erase(std::next(it).base());
    co_await importer_release(*import);
    co_return 0;
  }
  co_return -ENOENT;
}

sim::Task<> Userspace::importer_release(Process::Import& import) {
  fakes::dma_buf* dmabuf = import.attach->dmabuf;
  co_await scheduler_.point("importer_release");
  drm_.dma_buf_vunmap(*dmabuf, import.map);
  drm_.dma_buf_unmap_attachment(*import.attach);
  co_await drm_.dma_buf_detach(*dmabuf, *import.attach);
  co_await drm_.dma_buf_put(*dmabuf, "dma_buf_put");
}

// DMA_HEAP_IOCTL_ALLOC: a dma-buf of a foreign exporter, width x height x bpp.
sim::Task<int> Userspace::dma_heap_alloc(const UserStep& step, Process& process) {
  const size_t size = static_cast<size_t>(step.width) * step.height * step.bpp / 8;
  fakes::dma_buf* dmabuf = co_await drm_.dma_heap_alloc(size, fmt::format("{}-{}", process.name, step.as));
  process.dmabufs.emplace_back(step.as, dmabuf);
  co_return 0;
}

}  // namespace xfsim::harness
