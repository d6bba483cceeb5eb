// The display backend (after xen-troops' displ_be), in its own domain: it
// walks its xenbus states, maps the frontend's rings and buffers, answers
// every displif request (configurable latency, status, or no answer at all),
// sends page-flip events, and with be-alloc allocates and frees the buffer
// pages. Scripted behaviours: clean disconnect, death that leaves XenStore
// saying Connected, restart, late answers, an event for an unknown fb.
//
// It keeps the protocol state the frontend built (dbufs, framebuffers, what
// each connector scans out, the grants it maps) and judges the frontend's
// requests against displif.h (oracles below). It can also be hostile
// (docs/fakes.md, "The hostile backend"): fail an operation cleanly, answer
// twice, with a wrong id, never, early (before its side effects) or late
// (after the frontend's timeout). Each misbehaviour is a FaultSite
// (FaultSite::hostile): a scenario scripts it per occurrence ("faults") or for
// every request of an operation (answers.OP.misbehave), and a strategy with
// a fault bound explores it when the run asks for a hostile backend.
#pragma once

#include <cerrno>

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
#include "sim/fault.h"
#include "sim/scheduler.h"
#include "sim/violation.h"
#include "sim/wait_queue.h"

namespace xfsim::fakes {

// Protocol violations by the frontend, as displif.h states them (the backend
// is the one that sees them): "An attempt to create multiple display buffers
// with the same dbuf_cookie is an error" (and frame buffers with the same
// fb_cookie); "Display buffers's cookie of value 0 is treated as invalid";
// FB_ATTACH attaches "to previously created display buffer"; SET_CONFIG's
// and PG_FLIP's fb_cookie identify a framebuffer. Where displif.h says
// nothing (DBUF_DESTROY or FB_DETACH of an unknown cookie, DBUF_DESTROY of a
// buffer still attached or scanned out) displ_be answers or notes it in its
// log, and no verdict is given.
inline constexpr sim::ViolationKind kDisplifDuplicateCookie{
    "displif-duplicate-cookie", "the frontend creates a dbuf or attaches an fb with a cookie the backend still holds"};
inline constexpr sim::ViolationKind kDisplifInvalidCookie{"displif-invalid-cookie",
                                                          "the frontend sends a dbuf or fb cookie of 0 (invalid)"};
inline constexpr sim::ViolationKind kDisplifUnknownObject{
    "displif-unknown-object", "FB_ATTACH to a dbuf, or SET_CONFIG / PG_FLIP of an fb, the backend does not have"};
inline constexpr const sim::ViolationKind* kBackendOracles[] = {&kDisplifDuplicateCookie, &kDisplifInvalidCookie,
                                                                &kDisplifUnknownObject};

// The hostile backend's misbehaviours, per request. kNone: as displ_be.
enum class Misbehaviour : uint8_t {
  kNone,
  kFailCleanly,  // an error answer, and no side effect at all
  kNeverAnswer,  // the request is done, no answer is written
  kAnswerTwice,  // the same answer twice
  kWrongId,      // the answer carries an id the frontend did not send
  kAnswerEarly,  // OK answered first, the request done only afterwards
  kAnswerLate,   // answered after the frontend's 3000 ms timeout
};
std::optional<Misbehaviour> misbehaviour_named(const std::string& name);
const char* misbehaviour_name(Misbehaviour m);

// The frontend waits XEN_DRM_FRONT_WAIT_BACK_MS (3000) for an answer: a late
// one comes after it.
inline constexpr uint64_t kLateAnswerMs = 3000 + 500;
// An early answer's work is done this long after the answer.
inline constexpr int64_t kEarlyWorkMs = 1;

// One site per misbehaviour, asked in this order for every request (the first
// that fires wins). The error is the status of a clean failure; the others
// carry no error (the site's own is never returned to anyone).
inline constexpr sim::FaultSite kHostileFailCleanly{
    "displ_be:fail_cleanly", "displ_be fails a request with -EINVAL and keeps no side effect", -EINVAL, true};
inline constexpr sim::FaultSite kHostileNeverAnswer{"displ_be:never_answer",
                                                    "displ_be does a request and never answers it", -ETIMEDOUT, true};
inline constexpr sim::FaultSite kHostileAnswerTwice{"displ_be:answer_twice", "displ_be answers a request twice", -EIO,
                                                    true};
inline constexpr sim::FaultSite kHostileWrongId{"displ_be:wrong_id",
                                                "displ_be answers a request with an id it was not sent", -EIO, true};
inline constexpr sim::FaultSite kHostileAnswerEarly{
    "displ_be:answer_early", "displ_be answers OK before doing the request (directory not yet filled)", -EIO, true};
inline constexpr sim::FaultSite kHostileAnswerLate{
    "displ_be:answer_late", "displ_be answers after the frontend's 3000 ms timeout", -ETIMEDOUT, true};
inline constexpr const sim::FaultSite* kBackendFaultSites[] = {&kHostileFailCleanly, &kHostileNeverAnswer,
                                                               &kHostileAnswerTwice, &kHostileWrongId,
                                                               &kHostileAnswerEarly, &kHostileAnswerLate};

struct BackendAnswer {
  int32_t status = 0;
  uint64_t latency_ms = 1;
  bool drop = false;  // never answer
  // Every request of this operation (scripted; the sites choose per request).
  Misbehaviour misbehave = Misbehaviour::kNone;
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

  // Protocol state, as the backend knows it (tests, and the oracles above).
  bool has_dbuf(uint64_t cookie) const { return buffers_.count(cookie) != 0; }
  bool has_fb(uint64_t cookie) const { return fbs_.count(cookie) != 0; }
  size_t dbuf_count() const { return buffers_.size(); }
  size_t fb_count() const { return fbs_.size(); }
  // The fb a connector scans out (0: none, or reset).
  uint64_t scanout(uint32_t connector) const { return connector < scanout_.size() ? scanout_[connector] : 0; }
  // Grants of the frontend's the backend maps now (rings and buffer pages).
  size_t frontend_grants_mapped() const;

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
  int32_t execute(uint32_t connector, const DisplifRequest& request);
  int32_t dbuf_create(const DisplifRequest& request);
  int32_t dbuf_destroy(const DisplifRequest& request);
  int32_t fb_attach(const DisplifRequest& request);
  int32_t fb_detach(const DisplifRequest& request);
  int32_t show(uint32_t connector, const DisplifRequest& request);  // SET_CONFIG, PG_FLIP
  // What the scenario scripts for this operation, else what the sites say
  // (scripted faults, or a strategy's choice); `status` the failure's.
  Misbehaviour choose_misbehaviour(const DisplifRequest& request, int32_t& status);
  void protocol_violation(const sim::ViolationKind& kind, const DisplifRequest& request, const std::string& what);
  // The answer the script asks for (status, latency, or none), then the
  // page-flip event of a successful flip.
  void schedule_answer(uint32_t connector, const DisplifRequest& request, int32_t status, Misbehaviour misbehave);
  void respond(uint32_t connector, const DisplifRequest& request, int32_t status, uint16_t id);
  void schedule_flip_event(uint32_t connector, uint64_t cookie);
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
  sim::WaitQueue early_work_;   // never woken: answer_early's delay before the work
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
  std::map<uint64_t, uint64_t> fbs_;    // fb cookie -> the dbuf it is attached to
  std::vector<uint64_t> scanout_;       // per connector: the fb shown (0: none)
  uint32_t generation_ = 0;
  uint32_t instances_ = 0;
};

}  // namespace xfsim::fakes
