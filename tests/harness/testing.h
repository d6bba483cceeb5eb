// What the harness's unit tests share (tests/harness/*_test.cc).
#pragma once

#include "driver_core/variant.h"

namespace xfsim::testing {

// The driver variant of that name (it must exist).
inline const driver::Variant& variant(const char* name) { return *driver::find_variant(name); }

}  // namespace xfsim::testing
