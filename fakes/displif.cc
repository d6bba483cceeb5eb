#include "fakes/displif.h"

#include <fmt/format.h>

namespace xfsim::fakes {

// A switch, as every enum's name table (sim/scheduler.cc says why).
const char* displif_op_name(DisplifOp op) {
  switch (op) {
    case DisplifOp::DBUF_CREATE:
      return "DBUF_CREATE";
    case DisplifOp::DBUF_DESTROY:
      return "DBUF_DESTROY";
    case DisplifOp::FB_ATTACH:
      return "FB_ATTACH";
    case DisplifOp::FB_DETACH:
      return "FB_DETACH";
    case DisplifOp::SET_CONFIG:
      return "SET_CONFIG";
    case DisplifOp::PG_FLIP:
      return "PG_FLIP";
  }
  return "?";
}

bool displif_op_from_name(const std::string& name, DisplifOp& op) {
  for (auto candidate : {DisplifOp::DBUF_CREATE, DisplifOp::DBUF_DESTROY, DisplifOp::FB_ATTACH, DisplifOp::FB_DETACH,
                         DisplifOp::SET_CONFIG, DisplifOp::PG_FLIP}) {
    if (name == displif_op_name(candidate)) {
      op = candidate;
      return true;
    }
  }
  return false;
}

bool DisplifRing::Page::push_request(sim::Scheduler& scheduler, const DisplifRequest& request, const char* site) {
  if (full()) {
    scheduler.report(kRingOverflow, site,
                     fmt::format("{}: request ring full ({} unanswered); {} would overwrite an "
                                 "unanswered request",
                                 site, req_prod_pvt - rsp_cons, displif_op_name(request.operation)),
                     site);
    return false;
  }
  requests[req_prod_pvt++ % kRingSlots] = request;
  return true;
}

}  // namespace xfsim::fakes
