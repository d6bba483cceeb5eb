// Machine memory as the hypervisor sees it: the page frames of both domains.
// A frontend page is ordinary memory, or a ballooned page
// (alloc_xenballooned_pages, drivers/xen/balloon.c) with no memory of its
// own that shows a backend page while a grant mapping is installed in it.
// A page is reference-counted as struct page is: alloc_page gives the first
// reference, get_page takes another, free_page (put_page) drops one and the
// frame is freed with the last; gnttab_end_foreign_access given a page takes
// over one reference and drops it when the grant is finally released.
//   double-free                        a page frame freed twice
//   backend-page-freed-while-reachable the backend frees a page the frontend
//                                      still maps (and userspace may reach)
//   free-of-granted-page               the frontend frees one of its pages
//                                      while the backend still maps it
//   leak                               a ballooned page goes back to the
//                                      balloon still showing a backend page
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
// The frontend's twin of the above (fidelity review FN-4): the last reference
// to a frontend page is dropped while the backend still maps it through a
// grant, e.g. drm_gem_put_pages after xen_front_pgdir_shbuf_free ended the
// grant with page 0 and gnttab_end_foreign_access could only defer it. The
// page goes back to the allocator and is reused while the other domain still
// reads and writes it: a use-after-free across domains.
inline constexpr sim::ViolationKind kFreeOfGrantedPage{
    "free-of-granted-page",
    "the frontend frees a page the backend still maps through a grant: the backend then reads and writes reused memory",
    sim::ReportTitle::kKasan, /*memory_error=*/true};
inline constexpr const sim::ViolationKind* kPageFramesOracles[] = {&kBackendPageFreedWhileReachable,
                                                                   &kFreeOfGrantedPage};

inline constexpr int kFrontendDomid = 1;
inline constexpr int kBackendDomid = 0;
inline constexpr uint32_t kNoPage = 0xffffffffu;

// A page frame of either domain. A frontend "ballooned" page has no memory of
// its own: it shows a backend page while a grant mapping is installed in it.
struct PageFrame {
  int domain = kFrontendDomid;
  bool ballooned = false;
  bool freed = false;
  uint32_t refs = 1;                   // struct page's refcount: get_page / put_page
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
  // get_page: one more reference (a grant end that will put it).
  void get_page(uint32_t page);
  // put_page / free_page / free_xenballooned_pages: drops a reference; the
  // last one frees the frame.
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
