// Userspace actors: a compositor, its other threads, a hostile client. Each
// actor is a user-context task running its scenario steps as system calls on
// the DRM core. Threads of one process share its file and its names.
// `hung-wait` is reported here: a wait userspace depends on (the display
// coming back, a page-flip event, a uevent) that passes its bound.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fakes/drm.h"
#include "harness/scenario.h"
#include "sim/scheduler.h"
#include "sim/wait_queue.h"

namespace xfsim::harness {

inline constexpr sim::ViolationKind kHungWait{
    "hung-wait", "userspace waits for an event (device, page flip, uevent) beyond the driver's timeout plus slack",
    sim::ReportTitle::kHungTask};

// Bounds userspace waits with: the driver's own timeouts plus slack.
inline constexpr int64_t kDefaultFlipWaitMs = 3100 + 500;  // FRAME_DONE_TO_MS + slack
inline constexpr int64_t kDefaultUeventWaitMs = 3100 + 500;
inline constexpr int64_t kDefaultDeviceWaitMs = 10000;

struct Process {
  std::string name;
  fakes::drm_file* file = nullptr;
  int last_minor = -1;
  std::map<std::string, uint32_t> handles;
  // Every live mapping, oldest first; a buffer mapped twice has two.
  std::vector<std::pair<std::string, fakes::Vma*>> maps;
  fakes::Vma* latest_map(const std::string& buffer) const;
  std::map<std::string, uint32_t> fbs;
  size_t uevent_cursor = 0;
  bool dead = false;  // killed by SIGBUS
  uint32_t threads_running = 0;
  uint32_t opens = 0;                       // how often the process opened the card
  uint32_t events_owed = 0;                 // page-flip events of commits that succeeded, not yet read
  bool main_finished = false;               // its main thread ran its last step
  std::unique_ptr<sim::WaitQueue> changed;  // threads waiting for the fd or for each other
  // dma-buf fds, oldest first (a name used twice names the newest); fds sent
  // to the process (SCM_RIGHTS) not yet received; an importer's vmaps of a
  // dma-buf (a kernel device the process drives: attached, mapped, vmapped).
  std::vector<std::pair<std::string, fakes::dma_buf*>> dmabufs;
  fakes::dma_buf* latest_dmabuf(const std::string& fd_name) const;
  std::vector<fakes::dma_buf*> inbox;
  struct Import {
    fakes::dma_buf_attachment* attach = nullptr;
    fakes::DmaBufVmap map;
  };
  std::vector<std::pair<std::string, std::unique_ptr<Import>>> imports;
};

class Userspace {
 public:
  Userspace(sim::Scheduler& scheduler, fakes::DrmCore& drm) : scheduler_(scheduler), drm_(drm) {}
  // Whether the driver has reported the device failed (xenbus_dev_fatal;
  // xenbus_dev_error alone is not giving up): a wait for the device or its uevents then ends unanswered
  // without a hung-wait, since the driver said why (an injected fault).
  void set_device_failed_check(std::function<bool()> failed) { device_failed_ = std::move(failed); }
  void spawn_actors(const std::vector<Actor>& actors);
  // Processes that have exited (all their files and mappings gone).
  bool all_exited() const;

 private:
  sim::Task<> actor_main(const Actor* actor, Process* process, bool main_thread);
  sim::Task<> run_step(const UserStep& step, Process& process);
  // The steps that need no open file.
  sim::Task<> nanosleep(const UserStep& step);
  sim::Task<> wait_device(const UserStep& step, Process& process);
  sim::Task<> wait_open(Process& process);
  sim::Task<> open(const UserStep& step, Process& process);
  sim::Task<> wait_uevent(const UserStep& step, Process& process);
  // The others: a call on the process's file (which it holds for the call),
  // its result logged when it is not 0.
  sim::Task<> file_call(const UserStep& step, Process& process);
  sim::Task<int> file_op(const UserStep& step, Process& process, fakes::drm_file& file);
  void log_result(const UserStep& step, int ret);
  sim::Task<int> create_dumb(const UserStep& step, Process& process, fakes::drm_file& file);
  sim::Task<int> gem_close(const UserStep& step, Process& process, fakes::drm_file& file);
  sim::Task<int> mmap(const UserStep& step, Process& process, fakes::drm_file& file);
  sim::Task<int> touch(const UserStep& step, Process& process);
  sim::Task<int> munmap(const UserStep& step, Process& process);
  sim::Task<int> add_fb(const UserStep& step, Process& process, fakes::drm_file& file);
  sim::Task<int> rm_fb(const UserStep& step, Process& process, fakes::drm_file& file);
  sim::Task<int> atomic_commit(const UserStep& step, Process& process, fakes::drm_file& file);
  sim::Task<int> wait_flip(const UserStep& step, Process& process, fakes::drm_file& file);
  sim::Task<int> close(Process& process, fakes::drm_file& file);
  sim::Task<> process_exit(Process& process);
  // PRIME and dma-buf fds: export and import on the process's file, the rest
  // on its dma-buf fds.
  sim::Task<int> prime_export(const UserStep& step, Process& process, fakes::drm_file& file);
  sim::Task<int> prime_import(const UserStep& step, Process& process, fakes::drm_file& file);
  sim::Task<> dmabuf_call(const UserStep& step, Process& process);
  sim::Task<int> dmabuf_close(const UserStep& step, Process& process);
  sim::Task<int> dmabuf_pass(const UserStep& step, Process& process);
  sim::Task<int> dmabuf_recv(const UserStep& step, Process& process);
  sim::Task<int> dmabuf_mmap(const UserStep& step, Process& process);
  sim::Task<int> dmabuf_vmap(const UserStep& step, Process& process);
  sim::Task<int> dmabuf_read(const UserStep& step, Process& process);
  sim::Task<int> dmabuf_vunmap(const UserStep& step, Process& process);
  sim::Task<int> dma_heap_alloc(const UserStep& step, Process& process);
  sim::Task<> importer_release(Process::Import& import);
  void hung_wait(const std::string& what, int64_t bound_ms);

  sim::Scheduler& scheduler_;
  fakes::DrmCore& drm_;
  std::function<bool()> device_failed_;
  bool failed_after_fault_ = false;  // a call failed once a fault had been injected
  std::vector<std::unique_ptr<Process>> processes_;
  std::map<std::string, Process*> process_by_actor_;  // dmabuf_pass's receivers
};

}  // namespace xfsim::harness
