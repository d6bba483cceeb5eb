#include "sim/assert.h"

#include <cstdio>
#include <cstdlib>

namespace xfsim::sim {

namespace {
thread_local AssertContext current_context;
}  // namespace

AssertContext set_assert_context(AssertContext context) {
  const AssertContext previous = current_context;
  current_context = context;
  return previous;
}

void assert_fail(const char* condition, const char* file, int line, const std::string& message) {
  std::string where;
  if (current_context.describe != nullptr) where = " (" + current_context.describe(current_context.owner) + ")";
  std::fprintf(stderr,
               "xfsim: internal error: assertion `%s` failed at %s:%d%s%s%s\n"
               "This is a bug in xfsim itself, not a finding about the driver.\n",
               condition, file, line, where.c_str(), message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace xfsim::sim
