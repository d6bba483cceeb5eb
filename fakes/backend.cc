#include "fakes/backend.h"

#include <cerrno>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "sim/assert.h"

namespace xfsim::fakes {

namespace {
bool frontend_left(XenbusState state) {
  return state == XenbusState::Initialising || state == XenbusState::Closing || state == XenbusState::Closed ||
         state == XenbusState::Unknown;
}

struct MisbehaviourEntry {
  Misbehaviour kind;
  const char* name;
  const sim::FaultSite* site;
};
constexpr MisbehaviourEntry kMisbehaviours[] = {
    {Misbehaviour::kFailCleanly, "fail_cleanly", &kHostileFailCleanly},
    {Misbehaviour::kNeverAnswer, "never_answer", &kHostileNeverAnswer},
    {Misbehaviour::kAnswerTwice, "answer_twice", &kHostileAnswerTwice},
    {Misbehaviour::kWrongId, "wrong_id", &kHostileWrongId},
    {Misbehaviour::kAnswerEarly, "answer_early", &kHostileAnswerEarly},
    {Misbehaviour::kAnswerLate, "answer_late", &kHostileAnswerLate},
};
}  // namespace

std::optional<Misbehaviour> misbehaviour_named(const std::string& name) {
  for (const MisbehaviourEntry& entry : kMisbehaviours) {
    if (name == entry.name) return entry.kind;
  }
  return std::nullopt;
}

const char* misbehaviour_name(Misbehaviour m) {
  for (const MisbehaviourEntry& entry : kMisbehaviours) {
    if (m == entry.kind) return entry.name;
  }
  return "none";
}

Backend::Backend(sim::Scheduler& scheduler, XenStore& store, GrantTable& gnttab, EventChannels& evtchn, Memory& memory,
                 SharedPages& shared, BackendConfig config, std::string frontend_path, std::string backend_path)
    : scheduler_(scheduler),
      store_(store),
      gnttab_(gnttab),
      evtchn_(evtchn),
      memory_(memory),
      shared_(shared),
      config_(std::move(config)),
      frontend_path_(std::move(frontend_path)),
      backend_path_(std::move(backend_path)),
      frontend_state_path_(frontend_path_ + "/state"),
      backend_state_path_(backend_path_ + "/state"),
      wake_(scheduler, "displ_be"),
      early_work_(scheduler, "displ_be_early_work"),
      domain_(scheduler.add_domain("Domain-0")) {  // kBackendDomid: displ_be runs in dom0
  // Runs in the writer's step, on this machine's behalf.
  store_.register_remote_watch(frontend_state_path_, sim::MachineCallback(scheduler_, sim::machine_resource(domain_),
                                                                          [this] { wake_.wake_all(); }));
}

void Backend::arm_script() {
  for (const BackendAction& action : config_.script) {
    // The action writes this machine's state: whichever step fires the timer
    // (any-instant makes that a step of its own) has it in its footprint.
    const sim::MachineCallback act(scheduler_, sim::machine_resource(domain_), [this, action] { perform(action); });
    if (!action.when) {
      scheduler_.add_timer(action.at_ms, [act] { act(); });
      continue;
    }
    // Armed when the state is reached (in the writer's step), fired at_ms later.
    store_.when_state(action.when->frontend ? frontend_state_path_ : backend_state_path_, action.when->state,
                      sim::MachineCallback(
                          act, [this, act, at_ms = action.at_ms] { scheduler_.add_timer(at_ms, [act] { act(); }); }));
  }
}

void Backend::perform(const BackendAction& action) {
  switch (action.kind) {
    case BackendAction::Kind::kDisconnect:
      disconnect_requested_ = true;
      reconnect_after_disconnect_ = action.reconnect;
      break;
    case BackendAction::Kind::kDie:
      alive_ = false;
      break;
    case BackendAction::Kind::kHang:
      hung_ = true;
      break;
    case BackendAction::Kind::kRestart:
      // A new instance: it starts from nothing. If the old task still
      // runs (its death not yet noticed) it becomes the new instance.
      restart_requested_ = true;
      alive_ = true;
      hung_ = false;
      if (!task_running_) start();
      break;
    case BackendAction::Kind::kUnknownFbEvent:
      if (connected_ && !channels_.empty()) send_flip_event(0, 0xdeadbeef);
      break;
  }
  wake_.wake_all();
}

sim::Task<> Backend::set_state(XenbusState state) {
  co_await store_.write(backend_state_path_, std::to_string(static_cast<int>(state)));
}

sim::Task<XenbusState> Backend::frontend_state() {
  auto value = co_await store_.read(frontend_state_path_);
  if (!value || value->empty()) co_return XenbusState::Unknown;
  co_return xenbus_state_from_string(*value);
}

void Backend::start() {
  task_running_ = true;  // from now: a second restart must not start another
  scheduler_.spawn(
      instances_++ == 0 ? std::string("displ_be") : fmt::format(FMT_COMPILE("displ_be-{}"), instances_ - 1),
      sim::TaskKind::kUser, run(), /*daemon=*/true, domain_);  // displ_be is a user process of its domain
}

sim::Task<> Backend::run() {
  XFSIM_KFUNC_AS(scheduler_, "displback_thread");
  struct Running {
    bool& flag;
    explicit Running(bool& f) : flag(f) { flag = true; }
    ~Running() { flag = false; }
  } running(task_running_);
  // A restarted instance starts from nothing: whatever the old one mapped is
  // gone with it.
  release_all("displ_be_restart", /*instance_gone=*/true);
  restart_requested_ = false;
  bool again = true;
  while (again) again = co_await round();
}

sim::Task<bool> Backend::round() {
  co_await set_state(XenbusState::InitWait);
  // Wait for the frontend to publish its rings and go Initialised.
  co_await wait_frontend([](XenbusState front) { return front == XenbusState::Initialised; }, "displ_be_wait_frontend");
  if (!alive_) co_return false;
  if (restart_requested_) co_return restart();
  if (!co_await connect()) {
    co_await set_state(XenbusState::Closing);
    release_all("displ_be_connect_failed");
    co_return false;
  }
  co_await set_state(XenbusState::Connected);
  connected_ = true;
  co_await serve();
  connected_ = false;
  // Death: the domain's mappings go with it; XenStore still says Connected.
  if (!alive_) co_return domain_destroyed();
  if (restart_requested_) co_return restart();
  co_await close_frontend();
  // The frontend must free everything before it says Initialising; only
  // then may the backend free the pages it lent (be-alloc).
  co_await wait_frontend(
      [](XenbusState front) { return front == XenbusState::Initialising || front == XenbusState::Closed; },
      "displ_be_wait_frontend_reset");
  if (!alive_) co_return domain_destroyed();
  if (restart_requested_) {
    disconnect_requested_ = false;
    co_return restart();
  }
  release_all("displ_be_reset");
  if (disconnect_requested_) {
    disconnect_requested_ = false;
    if (!reconnect_after_disconnect_) co_return false;
  }
  if (co_await frontend_state() == XenbusState::Closed) {
    co_await set_state(XenbusState::Closed);
    co_return false;
  }
  co_return true;
}

sim::Task<> Backend::wait_frontend(bool (*reached)(XenbusState), const char* site) {
  while (alive_ && !restart_requested_) {
    // In a local first: GCC 12 loses the function pointer when the co_await
    // is written in the call's argument (a run resumed a null frame).
    const XenbusState front = co_await frontend_state();
    if (reached(front)) co_return;
    co_await wake_.wait(site);
  }
}

sim::Task<> Backend::close_frontend() {
  if (disconnect_requested_) {
    co_await set_state(XenbusState::Closing);
    release_mappings("displ_be_close");
    co_await set_state(XenbusState::Closed);
  } else {
    // The frontend is going away (remove, or it re-initialises): unmap its
    // rings and buffers now, and say so, as displ_be does.
    release_mappings("displ_be_frontend_closing");
    co_await set_state(XenbusState::InitWait);
  }
}

bool Backend::restart() {
  restart_requested_ = false;
  release_all("displ_be_restart", /*instance_gone=*/true);
  return true;
}

bool Backend::domain_destroyed() {
  release_all("domain_destroy", /*instance_gone=*/true);
  return false;
}

sim::Task<bool> Backend::connect() {
  XFSIM_KFUNC_AS(scheduler_, "displback_connect_frontend");
  channels_.clear();
  auto be_alloc = co_await store_.read(frontend_path_ + "/be-alloc");
  be_alloc_ = be_alloc && *be_alloc != "0";
  for (uint32_t i = 0;; ++i) {
    const std::string base = fmt::format(FMT_COMPILE("{}/{}"), frontend_path_, i);
    auto resolution = co_await store_.read(base + "/resolution");
    if (!resolution) break;
    auto req_ref = co_await store_.read(base + "/req-ring-ref");
    auto req_port = co_await store_.read(base + "/req-event-channel");
    auto evt_ref = co_await store_.read(base + "/evt-ring-ref");
    auto evt_port = co_await store_.read(base + "/evt-event-channel");
    if (!req_ref || !req_port || !evt_ref || !evt_port) co_return false;
    Channel channel;
    channel.req_gref = static_cast<grant_ref_t>(std::stoul(*req_ref));
    channel.evt_gref = static_cast<grant_ref_t>(std::stoul(*evt_ref));
    channel.req_port = static_cast<evtchn_port_t>(std::stoul(*req_port));
    channel.evt_port = static_cast<evtchn_port_t>(std::stoul(*evt_port));
    const uint32_t ring_page = gnttab_.map(channel.req_gref, kBackendDomid, "displ_be_map_ring");
    const uint32_t evt_page = gnttab_.map(channel.evt_gref, kBackendDomid, "displ_be_map_ring");
    if (ring_page == kNoPage || evt_page == kNoPage || !shared_.read().rings.count(ring_page) ||
        !shared_.read().event_pages.count(evt_page)) {
      if (ring_page != kNoPage) gnttab_.unmap(channel.req_gref, kBackendDomid, "displ_be_connect");
      if (evt_page != kNoPage) gnttab_.unmap(channel.evt_gref, kBackendDomid, "displ_be_connect");
      co_return false;
    }
    const SharedPageFrames& frames = shared_.write();
    channel.ring = frames.rings.at(ring_page);
    channel.event_page = frames.event_pages.at(evt_page);
    // Runs in the notifier's step, on this machine's behalf.
    evtchn_.backend_bind(channel.req_port, sim::MachineCallback(scheduler_, sim::machine_resource(domain_), [this] {
                           kicked_ = true;
                           wake_.wake_all();
                         }));
    channels_.push_back(channel);
  }
  scanout_.assign(channels_.size(), 0);
  co_return !channels_.empty();
}

sim::Task<> Backend::serve() {
  XFSIM_KFUNC_AS(scheduler_, "displback_serve");
  while (alive_ && !restart_requested_ && !disconnect_requested_) {
    const XenbusState front = co_await frontend_state();
    if (frontend_left(front)) co_return;
    kicked_ = false;
    bool any = false;
    for (uint32_t c = 0; c < channels_.size(); ++c) {
      while (alive_ && channels_[c].ring && channels_[c].ring->page.write().has_unconsumed_requests()) {
        const DisplifRequest request = channels_[c].ring->page.write().take_request();
        any = true;
        co_await handle(c, request);
      }
    }
    if (!any && !kicked_) co_await wake_.wait("displ_be_serve");
  }
}

sim::Task<> Backend::handle(uint32_t connector, const DisplifRequest& request) {
  XFSIM_KFUNC_AS(scheduler_, "displback_handle_request");
  co_await scheduler_.point("displ_be_handle_request");
  if (hung_) co_return;  // a hung backend takes requests and never answers
  int32_t fail_status = 0;
  const Misbehaviour misbehave = choose_misbehaviour(request, fail_status);
  if (misbehave != Misbehaviour::kNone) {
    scheduler_.logf("displ_be: {} on {} (id {})", misbehaviour_name(misbehave), displif_op_name(request.operation),
                    request.id);
  }
  if (misbehave == Misbehaviour::kFailCleanly) {
    // Refused before anything is done: no grant mapped, no object recorded.
    schedule_answer(connector, request, fail_status, misbehave);
    co_return;
  }
  if (misbehave != Misbehaviour::kAnswerEarly) {
    schedule_answer(connector, request, execute(connector, request), misbehave);
    co_return;
  }
  // OK first, the work after: the frontend may run on the answer (map a
  // directory not yet filled) before the backend has done anything.
  // It gets round to the work a little later (the frontend, which takes no
  // virtual time, has acted on the answer by then).
  const uint32_t generation = generation_;
  respond(connector, request, 0, request.id);
  co_await early_work_.wait("displ_be_answered_early", kEarlyWorkMs);
  if (!alive_ || hung_ || generation != generation_) co_return;
  const int32_t status = execute(connector, request);
  if (request.operation == DisplifOp::PG_FLIP && status == 0) schedule_flip_event(connector, request.fb_cookie);
}

Misbehaviour Backend::choose_misbehaviour(const DisplifRequest& request, int32_t& status) {
  auto it = config_.answers.find(request.operation);
  if (it != config_.answers.end() && it->second.misbehave != Misbehaviour::kNone) {
    status = it->second.status != 0 ? it->second.status : kHostileFailCleanly.error;
    return it->second.misbehave;
  }
  for (const MisbehaviourEntry& entry : kMisbehaviours) {
    if (const int error = scheduler_.should_fail(*entry.site)) {
      status = error;
      return entry.kind;
    }
  }
  return Misbehaviour::kNone;
}

void Backend::protocol_violation(const sim::ViolationKind& kind, const DisplifRequest& request,
                                 const std::string& what) {
  const char* op = displif_op_name(request.operation);
  scheduler_.report(kind, fmt::format("displ_be:{}", op),
                    fmt::format("the frontend's {} (id {}): {}", op, request.id, what), op);
}

// One function per request that needs more than a line; this switch only
// dispatches.
int32_t Backend::execute(uint32_t connector, const DisplifRequest& request) {
  switch (request.operation) {
    case DisplifOp::DBUF_CREATE:
      return dbuf_create(request);
    case DisplifOp::DBUF_DESTROY:
      return dbuf_destroy(request);
    case DisplifOp::FB_ATTACH:
      return fb_attach(request);
    case DisplifOp::FB_DETACH:
      return fb_detach(request);
    case DisplifOp::SET_CONFIG:
    case DisplifOp::PG_FLIP:
      return show(connector, request);
  }
  XFSIM_ASSERT(false, "unknown displif operation {}", static_cast<int>(request.operation));
}

int32_t Backend::dbuf_create(const DisplifRequest& request) {
  if (request.dbuf_cookie == 0) {
    protocol_violation(kDisplifInvalidCookie, request, "dbuf_cookie 0");
    return -EINVAL;
  }
  if (buffers_.count(request.dbuf_cookie)) {
    protocol_violation(kDisplifDuplicateCookie, request,
                       fmt::format("dbuf cookie {:#x} already names a display buffer", request.dbuf_cookie));
    return -EINVAL;
  }
  const uint32_t dir_page = gnttab_.map(request.gref_directory, kBackendDomid, "displ_be_dbuf_create");
  const SharedPageFrames& frames = shared_.write();
  if (dir_page == kNoPage || !frames.directories.count(dir_page)) return -EINVAL;
  int32_t status = 0;
  Buffer buffer;
  buffer.directory_gref = request.gref_directory;
  std::vector<uint32_t>& grefs = frames.directories.at(dir_page)->page.write();
  const uint32_t pages = (request.buffer_sz + 4095) / 4096;
  if (request.flags & XENDISPL_DBUF_FLG_REQ_ALLOC) {
    grefs.clear();
    for (uint32_t i = 0; i < pages; ++i) {
      const uint32_t page =
          memory_.alloc_page(kBackendDomid, fmt::format(FMT_COMPILE("be-{:x}.{}"), request.dbuf_cookie, i));
      buffer.own_pages.push_back(page);
      const grant_ref_t gref = gnttab_.grant_foreign_access(kBackendDomid, kFrontendDomid, page, false);
      buffer.own_grefs.push_back(gref);
      grefs.push_back(gref);
    }
  } else {
    for (grant_ref_t gref : grefs) {
      if (gnttab_.map(gref, kBackendDomid, "displ_be_dbuf_create") == kNoPage)
        status = -EINVAL;
      else
        buffer.frontend_grefs.push_back(gref);
    }
  }
  gnttab_.unmap(request.gref_directory, kBackendDomid, "displ_be_dbuf_create");
  buffers_[request.dbuf_cookie] = std::move(buffer);
  return status;
}

int32_t Backend::dbuf_destroy(const DisplifRequest& request) {
  if (!buffers_.count(request.dbuf_cookie)) {
    // displif.h names no error for it: displ_be refuses it, and says so.
    scheduler_.logf("displ_be: DBUF_DESTROY of unknown dbuf cookie {:#x}", request.dbuf_cookie);
    return -EINVAL;
  }
  destroy_buffer(request.dbuf_cookie, "displ_be_dbuf_destroy");
  return 0;
}

int32_t Backend::fb_attach(const DisplifRequest& request) {
  if (request.dbuf_cookie == 0 || request.fb_cookie == 0) {
    protocol_violation(kDisplifInvalidCookie, request,
                       fmt::format("dbuf cookie {:#x}, fb cookie {:#x}", request.dbuf_cookie, request.fb_cookie));
    return -EINVAL;
  }
  if (!buffers_.count(request.dbuf_cookie)) {
    protocol_violation(kDisplifUnknownObject, request,
                       fmt::format("attaches fb {:#x} to dbuf {:#x}, which was never created (or is destroyed)",
                                   request.fb_cookie, request.dbuf_cookie));
    return -EINVAL;
  }
  if (fbs_.count(request.fb_cookie)) {
    protocol_violation(kDisplifDuplicateCookie, request,
                       fmt::format("fb cookie {:#x} is already attached", request.fb_cookie));
    return -EINVAL;
  }
  fbs_[request.fb_cookie] = request.dbuf_cookie;
  return 0;
}

int32_t Backend::fb_detach(const DisplifRequest& request) {
  if (!fbs_.erase(request.fb_cookie)) {
    scheduler_.logf("displ_be: FB_DETACH of unknown fb cookie {:#x}", request.fb_cookie);
    return -EINVAL;
  }
  return 0;
}

int32_t Backend::show(uint32_t connector, const DisplifRequest& request) {
  const bool reset = request.operation == DisplifOp::SET_CONFIG && request.fb_cookie == 0;
  if (!reset && !fbs_.count(request.fb_cookie)) {
    protocol_violation(
        kDisplifUnknownObject, request,
        fmt::format("shows fb {:#x} on connector {}, which is not attached", request.fb_cookie, connector));
    return -EINVAL;
  }
  if (connector < scanout_.size()) scanout_[connector] = request.fb_cookie;
  return 0;
}

void Backend::schedule_answer(uint32_t connector, const DisplifRequest& request, int32_t status,
                              Misbehaviour misbehave) {
  auto it = config_.answers.find(request.operation);
  const BackendAnswer answer = it == config_.answers.end() ? BackendAnswer{} : it->second;
  if (answer.drop || misbehave == Misbehaviour::kNeverAnswer) return;
  if (status == 0 && misbehave != Misbehaviour::kFailCleanly) status = answer.status;
  const uint64_t latency = answer.latency_ms + (misbehave == Misbehaviour::kAnswerLate ? kLateAnswerMs : 0);
  // A wrong id: one the frontend is not waiting for (ids are a u16 counter).
  const uint16_t id = misbehave == Misbehaviour::kWrongId ? static_cast<uint16_t>(request.id ^ 0x8000) : request.id;
  const int answers = misbehave == Misbehaviour::kAnswerTwice ? 2 : 1;
  const uint32_t generation = generation_;
  scheduler_.add_timer(latency, [this, connector, request, status, generation, id, answers] {
    if (!alive_ || hung_ || generation != generation_ || connector >= channels_.size()) return;
    for (int i = 0; i < answers; ++i) respond(connector, request, status, id);
    if (request.operation == DisplifOp::PG_FLIP && status == 0) schedule_flip_event(connector, request.fb_cookie);
  });
}

void Backend::schedule_flip_event(uint32_t connector, uint64_t cookie) {
  const uint32_t generation = generation_;
  scheduler_.add_timer(config_.flip_event_latency_ms, [this, connector, cookie, generation] {
    if (alive_ && !hung_ && generation == generation_ && connector < channels_.size()) {
      send_flip_event(connector, cookie);
    }
  });
}

void Backend::respond(uint32_t connector, const DisplifRequest& request, int32_t status, uint16_t id) {
  Channel& channel = channels_[connector];
  // A ring the frontend already took back (grant ended) is not written.
  if (channel.ring == nullptr || !gnttab_.active(channel.req_gref)) return;
  channel.ring->page.write().push_response(DisplifResponse{id, request.operation, status});
  evtchn_.notify_frontend(channel.req_port);
}

void Backend::send_flip_event(uint32_t connector, uint64_t fb_cookie) {
  Channel& channel = channels_[connector];
  if (channel.event_page == nullptr || !gnttab_.active(channel.evt_gref)) return;
  if (channel.event_page->page.write().push(DisplifEvent{channel.next_event_id, XENDISPL_EVT_PG_FLIP, fb_cookie})) {
    ++channel.next_event_id;
  }
  evtchn_.notify_frontend(channel.evt_port);
}

void Backend::destroy_buffer(uint64_t cookie, const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "displback_dbuf_destroy");
  Buffer& buffer = buffers_[cookie];
  for (grant_ref_t gref : buffer.frontend_grefs) gnttab_.unmap(gref, kBackendDomid, site);
  // The pages it lent go back to the backend's allocator: the frontend must
  // have unmapped them already.
  for (size_t i = 0; i < buffer.own_pages.size(); ++i) {
    memory_.free_page(buffer.own_pages[i], site);
    gnttab_.end_foreign_access(buffer.own_grefs[i], site);
  }
  buffers_.erase(cookie);
}

void Backend::release_mappings(const char* site) {
  XFSIM_KFUNC_AS(scheduler_, "displback_release_mappings");
  for (auto& [cookie, buffer] : buffers_) {
    for (grant_ref_t gref : buffer.frontend_grefs) gnttab_.unmap(gref, kBackendDomid, site);
    buffer.frontend_grefs.clear();
  }
  for (Channel& channel : channels_) {
    evtchn_.backend_unbind(channel.req_port);
    if (channel.ring) gnttab_.unmap(channel.req_gref, kBackendDomid, site);
    if (channel.event_page) gnttab_.unmap(channel.evt_gref, kBackendDomid, site);
    channel.ring = nullptr;
    channel.event_page = nullptr;
  }
  channels_.clear();
  fbs_.clear();
  scanout_.clear();
  ++generation_;
}

size_t Backend::frontend_grants_mapped() const {
  size_t mapped = 0;
  for (const auto& [cookie, buffer] : buffers_) mapped += buffer.frontend_grefs.size();
  for (const Channel& channel : channels_) mapped += (channel.ring != nullptr) + (channel.event_page != nullptr);
  return mapped;
}

void Backend::release_all(const char* site, bool instance_gone) {
  XFSIM_KFUNC_AS(scheduler_, "displback_release_all");
  release_mappings(site);
  while (!buffers_.empty()) {
    const uint64_t cookie = buffers_.begin()->first;
    if (instance_gone) {
      buffers_.erase(cookie);
    } else {
      destroy_buffer(cookie, site);
    }
  }
}

}  // namespace xfsim::fakes
