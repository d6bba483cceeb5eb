// XFSIM_ASSERT: the project's always-on assertion for the harness's own
// invariants. Unlike assert(), it does not depend on NDEBUG, so it holds in
// the -c opt build the tools ship in. A failure is a bug in xfsim itself (not
// in the driver under test, whose broken rules are reported violations): it
// prints the condition, file:line, an optional message and, while a
// scheduler runs, the current step, virtual time and task; then it aborts.
//
//   XFSIM_ASSERT(depth < kMaxDepth);
//   XFSIM_ASSERT(ref >= 1 && ref <= grants_.size(), "grant ref {} of {}", ref, grants_.size());
#pragma once

#include <string>

#include <fmt/format.h>

namespace xfsim::sim {

// Who is running, for the message: a scheduler registers itself while it runs.
using AssertContextFn = std::string (*)(const void* owner);
struct AssertContext {
  const void* owner = nullptr;
  AssertContextFn describe = nullptr;
};
// Installs `context` for this thread and returns the one it replaces.
AssertContext set_assert_context(AssertContext context);

[[noreturn]] void assert_fail(const char* condition, const char* file, int line, const std::string& message);

namespace detail {
inline std::string assert_message() { return {}; }
template <typename... Args>
std::string assert_message(fmt::format_string<Args...> format, Args&&... args) {
  return fmt::format(format, std::forward<Args>(args)...);
}
}  // namespace detail

}  // namespace xfsim::sim

#define XFSIM_ASSERT(condition, ...)                                                                                \
  do {                                                                                                              \
    if (__builtin_expect(!(condition), 0)) {                                                                        \
      ::xfsim::sim::assert_fail(#condition, __FILE__, __LINE__, ::xfsim::sim::detail::assert_message(__VA_ARGS__)); \
    }                                                                                                               \
  } while (0)
