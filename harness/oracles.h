// The catalogue of violation kinds (`xfsim oracles`).
#pragma once

#include <string>
#include <vector>

namespace xfsim::harness {

struct OracleKind {
  const char* kind;
  const char* meaning;
};
const std::vector<OracleKind>& oracle_kinds();
bool is_oracle_kind(const std::string& kind);

}  // namespace xfsim::harness
