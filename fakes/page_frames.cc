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

void Memory::free_page(uint32_t page, const char* site) {
  XFSIM_KFUNC(scheduler_);
  std::vector<PageFrame>& frames = frames_.write();
  XFSIM_ASSERT(page < frames.size(), "free of page frame {} of {}", page, frames.size());
  PageFrame& frame = frames[page];
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
