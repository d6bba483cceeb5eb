#include "harness/oracles.h"

namespace xfsim::harness {

const std::vector<OracleKind>& oracle_kinds() {
  static const std::vector<OracleKind> kinds = {
      {"use-after-free", "a freed kernel object (or one whose refcount hit zero) is accessed"},
      {"double-free", "a kernel object, page, grant or event channel is freed twice"},
      {"refcount-underflow", "a reference is put more often than it was got"},
      {"null-deref", "a NULL pointer is dereferenced (e.g. front_info->drm_info after fini)"},
      {"leak", "after remove and exit, frontend objects, grants, event channels or watches remain"},
      {"illegal-xenbus-transition", "the frontend makes a state change the xenbus protocol does not allow"},
      {"grant-end-while-mapped", "the frontend ends a grant the backend still maps"},
      {"backend-page-freed-while-reachable", "the backend frees a page the frontend (so userspace) still maps"},
      {"ring-overflow", "a request is pushed into a full displif ring"},
      {"access-after-free", "userspace touches a page through a PTE whose backing storage is gone"},
      {"missing-sigbus", "a page fault after unplug is answered with a page instead of SIGBUS"},
      {"access-after-unplug",
       "the driver reaches the backend or backing storage after unplug outside drm_dev_enter/exit"},
      {"invalid-mode-accepted", "an atomic commit with a mode the connector does not offer succeeds"},
      {"spurious-check-failure", "an atomic check fails for a valid commit (the backend's state leaks into uapi)"},
      {"lock-order-inversion", "two lock classes are taken in both orders (lockdep)"},
      {"sleep-in-atomic", "a sleeping primitive is used with a spinlock held or from an IRQ handler"},
      {"deadlock", "every task that must finish is blocked and nothing can wake it"},
      {"hung-wait", "userspace waits for an event (device, page flip, uevent) beyond the driver's timeout plus slack"},
      {"lock-held-at-exit", "a task ends while holding a spinlock"},
      {"bad-unlock-balance", "a lock is released by a task that does not hold it (lockdep)"},
      {"warning", "a WARN_ON of the kernel fires (e.g. drm_dev_exit without drm_dev_enter)"},
  };
  return kinds;
}

bool is_oracle_kind(const std::string& kind) {
  for (const auto& k : oracle_kinds()) {
    if (kind == k.kind) return true;
  }
  return false;
}

}  // namespace xfsim::harness
