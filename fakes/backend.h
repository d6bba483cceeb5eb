// The display backend (after xen-troops' displ_be), in its own domain: it
// walks its xenbus states, maps the frontend's rings and buffers, answers
// every displif request (configurable latency, status, or no answer at all),
// sends page-flip events, and with be-alloc allocates and frees the buffer
// pages. Scripted behaviours: clean disconnect, death that leaves XenStore
// saying Connected, restart, late answers, an event for an unknown fb.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fakes/displif.h"
#include "fakes/events.h"
#include "fakes/grant_table.h"
#include "fakes/page_frames.h"
#include "fakes/xenstore.h"
#include "sim/scheduler.h"
#include "sim/wait_queue.h"

namespace xfsim::fakes {

struct BackendAnswer {
  int32_t status = 0;
  uint64_t latency_ms = 1;
  bool drop = false;  // never answer
};

struct BackendAction {
  enum class Kind { kDisconnect, kDie, kRestart, kUnknownFbEvent, kHang };
  Kind kind = Kind::kDisconnect;
  uint64_t at_ms = 0;
  // For kDisconnect: come back (InitWait) once the frontend re-initialises.
  bool reconnect = true;
  // Fire at_ms after a xenbus state is first reached, not at_ms from the start.
  std::optional<StateTrigger> when;
};

struct BackendConfig {
  std::map<DisplifOp, BackendAnswer> answers;  // missing: status 0, 1 ms
  uint64_t flip_event_latency_ms = 16;
  std::vector<BackendAction> script;
};

class Backend {
 public:
  Backend(sim::Scheduler& scheduler, XenStore& store, GrantTable& gnttab, EventChannels& evtchn, Memory& memory,
          SharedPages& shared, BackendConfig config, std::string frontend_path, std::string backend_path);
  // Spawns the backend's main loop (a daemon task); arm_script its actions.
  void start();
  void arm_script();
  void perform(const BackendAction& action);

 private:
  struct Channel {
    DisplifRing* ring = nullptr;
    DisplifEventPage* event_page = nullptr;
    grant_ref_t req_gref = 0, evt_gref = 0;
    evtchn_port_t req_port = 0, evt_port = 0;
    uint16_t next_event_id = 0;
  };
  struct Buffer {
    std::vector<grant_ref_t> frontend_grefs;  // mapped by the backend (!be_alloc)
    std::vector<uint32_t> own_pages;          // be_alloc: allocated by the backend
    std::vector<grant_ref_t> own_grefs;       // be_alloc: granted to the frontend
    grant_ref_t directory_gref = 0;
  };

  sim::Task<> run();
  // One round of the backend's xenbus states: InitWait until the frontend is
  // Initialised, connect, serve, then close and wait for the frontend to
  // reset. False: the task ends (death, a failed connect, the frontend gone).
  sim::Task<bool> round();
  // Until the frontend's state is one `reached` accepts (or the backend dies
  // or is restarted).
  sim::Task<> wait_frontend(bool (*reached)(XenbusState), const char* site);
  // After serving: Closing then Closed (a scripted disconnect) or back to
  // InitWait (the frontend is going away); the frontend's mappings released.
  sim::Task<> close_frontend();
  bool restart();           // a new instance from nothing: true (go on)
  bool domain_destroyed();  // the domain's mappings go with it: false (the end)
  sim::Task<bool> connect();
  sim::Task<> serve();
  sim::Task<> handle(uint32_t connector, const DisplifRequest& request);
  // What a request does to the backend's state, and its status.
  int32_t execute(const DisplifRequest& request);
  int32_t dbuf_create(const DisplifRequest& request);
  int32_t dbuf_destroy(const DisplifRequest& request);
  int32_t fb_attach(const DisplifRequest& request);
  // The answer the script asks for (status, latency, or none), then the
  // page-flip event of a successful flip.
  void schedule_answer(uint32_t connector, const DisplifRequest& request, int32_t status);
  void respond(uint32_t connector, const DisplifRequest& request, int32_t status);
  void send_flip_event(uint32_t connector, uint64_t fb_cookie);
  // Rings, event channels and the frontend's grants (on Closing, death).
  void release_mappings(const char* site);
  // The above, plus the pages lent with be-alloc (once the frontend reset).
  // When the backend instance is gone (its domain died, or the process was
  // restarted), the pages it lent stay alive while the frontend maps them
  // (Xen / gntalloc keep them until unmapped): they are dropped, not freed.
  void release_all(const char* site, bool instance_gone = false);
  void destroy_buffer(uint64_t cookie, const char* site);
  sim::Task<> set_state(XenbusState state);
  sim::Task<XenbusState> frontend_state();

  sim::Scheduler& scheduler_;
  XenStore& store_;
  GrantTable& gnttab_;
  EventChannels& evtchn_;
  Memory& memory_;
  SharedPages& shared_;
  BackendConfig config_;
  std::string frontend_path_, backend_path_;
  std::string frontend_state_path_, backend_state_path_;  // built once: read on every wake-up
  sim::WaitQueue wake_;
  const sim::DomainId domain_;  // the machine displ_be runs on
  bool kicked_ = false;
  bool alive_ = true;
  bool task_running_ = false;  // the backend's task is between start and end
  bool hung_ = false;
  bool connected_ = false;
  bool disconnect_requested_ = false;
  bool reconnect_after_disconnect_ = true;
  bool restart_requested_ = false;
  bool be_alloc_ = false;
  std::vector<Channel> channels_;
  std::map<uint64_t, Buffer> buffers_;  // by dbuf cookie (ordered: deterministic teardown)
  std::set<uint64_t> fbs_;
  uint32_t generation_ = 0;
  uint32_t instances_ = 0;
};

}  // namespace xfsim::fakes
