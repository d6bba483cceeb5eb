#include "fakes/page_frames.h"

#include <fmt/format.h>

#include "fakes/memory_errors.h"

namespace xfsim::fakes {

uint32_t Memory::alloc_page(int domain, std::string label) {
  std::vector<PageFrame>& frames = frames_.write();
  PageFrame frame;
  frame.domain = domain;
  frame.label = std::move(label);
  frames.push_back(std::move(frame));
  return static_cast<uint32_t>(frames.size() - 1);
}

uint32_t Memory::alloc_ballooned_page(std::string label) {
  const uint32_t page = alloc_page(kFrontendDomid, std::move(label));
  frames_.write()[page].ballooned = true;
  return page;
}

void Memory::get_page(uint32_t page) {
  PageFrame& f = frame(page);
  XFSIM_ASSERT(!f.freed && f.refs > 0, "get_page of freed page frame {}", f.label);
  ++f.refs;
}

void Memory::free_page(uint32_t page, const char* site) {
  XFSIM_KFUNC(scheduler_);
  std::vector<PageFrame>& frames = frames_.write();
  XFSIM_ASSERT(page < frames.size(), "free of page frame {} of {}", page, frames.size());
  PageFrame& frame = frames[page];
  if (!frame.freed && --frame.refs > 0) return;  // someone else (a deferred grant end) still holds it
  if (frame.freed) {
    scheduler_.report(kDoubleFree, site,
                      fmt::format("page {} freed again by {} in {}; first freed by {} at step {}", frame.label,
                                  scheduler_.current_name(), site, frame.free_task, frame.free_step),
                      site);
    return;
  }
  if (frame.grant_mapped_by_other > 0 && frame.domain == kBackendDomid) {
    scheduler_.report(kBackendPageFreedWhileReachable, site,
                      fmt::format("backend frees page {} in {} while the frontend still maps it "
                                  "({} mapping(s)); userspace can reach it through the frontend",
                                  frame.label, site, frame.grant_mapped_by_other),
                      site);
  }
  if (frame.grant_mapped_by_other > 0 && frame.domain == kFrontendDomid) {
    scheduler_.report(kFreeOfGrantedPage, site,
                      fmt::format("frontend page {} freed by {} in {} while the backend still maps it through a "
                                  "grant ({} mapping(s)); the allocator hands it out again under the backend's mapping",
                                  frame.label, scheduler_.current_name(), site, frame.grant_mapped_by_other),
                      site);
  }
  if (frame.ballooned && frame.mapped_foreign != kNoPage) {
    // free_xenballooned_pages: a ballooned page still showing a backend page
    // must have its grant mapping undone first, or the mapping is lost.
    scheduler_.report(kLeak, "free_xenballooned_pages",
                      fmt::format("{} returned to the balloon while still mapping a backend page", frame.label),
                      "ballooned page still mapping a backend page");
  }
  frame.freed = true;
  frame.free_step = scheduler_.step();
  frame.free_task = scheduler_.current_name();
}

uint32_t Memory::backing_of(uint32_t page) const {
  const std::vector<PageFrame>& frames = frames_.read();
  const PageFrame& frame = frames[page];
  if (frame.freed) return kNoPage;
  if (!frame.ballooned) return page;
  if (frame.mapped_foreign == kNoPage) return kNoPage;
  return frames[frame.mapped_foreign].freed ? kNoPage : frame.mapped_foreign;
}

}  // namespace xfsim::fakes
