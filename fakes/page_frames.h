// Machine memory as the hypervisor sees it: the page frames of both domains.
// A frontend page is ordinary memory, or a ballooned page
// (alloc_xenballooned_pages, drivers/xen/balloon.c) with no memory of its
// own that shows a backend page while a grant mapping is installed in it.
//   double-free                        a page frame freed twice
//   backend-page-freed-while-reachable the backend frees a page the frontend
//                                      still maps (and userspace may reach)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/assert.h"
#include "sim/scheduler.h"
#include "sim/shared.h"

namespace xfsim::fakes {

inline constexpr sim::ViolationKind kBackendPageFreedWhileReachable{
    "backend-page-freed-while-reachable", "the backend frees a page the frontend (so userspace) still maps",
    sim::ReportTitle::kKasan, /*memory_error=*/true};
inline constexpr const sim::ViolationKind* kPageFramesOracles[] = {&kBackendPageFreedWhileReachable};

inline constexpr int kFrontendDomid = 1;
inline constexpr int kBackendDomid = 0;
inline constexpr uint32_t kNoPage = 0xffffffffu;

// A page frame of either domain. A frontend "ballooned" page has no memory of
// its own: it shows a backend page while a grant mapping is installed in it.
struct PageFrame {
  int domain = kFrontendDomid;
  bool ballooned = false;
  bool freed = false;
  uint32_t mapped_foreign = kNoPage;   // ballooned: the backend page shown, if any
  uint32_t grant_mapped_by_other = 0;  // how many foreign mappings of this page exist
  uint64_t free_step = 0;
  std::string free_task;
  std::string label;
};

class Memory {
 public:
  explicit Memory(sim::Scheduler& scheduler) : scheduler_(scheduler), frames_(scheduler) {}
  uint32_t alloc_page(int domain, std::string label);
  uint32_t alloc_ballooned_page(std::string label);  // alloc_xenballooned_pages
  void free_page(uint32_t page, const char* site);
  // The frame, to change or to look at: a write either way.
  PageFrame& frame(uint32_t page) {
    std::vector<PageFrame>& frames = frames_.write();
    XFSIM_ASSERT(page < frames.size(), "page frame {} of {}", page, frames.size());
    return frames[page];
  }
  // The page whose memory an access to `page` really reaches; kNoPage if none.
  uint32_t backing_of(uint32_t page) const;

 private:
  sim::Scheduler& scheduler_;
  sim::Shared<std::vector<PageFrame>> frames_;  // machine memory: both domains reach it
};

}  // namespace xfsim::fakes
