// An opaque source location carried by every IR node, so that errors found
// after lowering (shape rules, verifier) can point back at the .bdl source.
// The IR never interprets it; file ids index Graph::files.
#pragma once

#include <cstdint>

namespace bdl::ir {

struct Location {
  uint32_t fileId = 0; // index into Graph::files; meaningful only if line > 0
  uint32_t line = 0;   // 1-based; 0 means "unknown"
  uint32_t col = 0;    // 1-based
  bool known() const { return line > 0; }
  bool operator==(const Location&) const = default;
};

} // namespace bdl::ir
