// The property the front end must hold for every byte string, shared by the
// libFuzzer target (fuzz_frontend) and the plain replay test (fuzz_replay).
// Expects nothing of the input; returns what went wrong, or nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bdl::fuzz {

// What the front end did with one input, for the replay driver's counts.
enum class Outcome { Rejected, Parsed };

struct CheckResult {
  Outcome outcome = Outcome::Rejected;
  std::optional<std::string> failure; // set when a property is broken
};

// Parses `input` and renders its diagnostics. A rejected input must carry at
// least one error. A module that parses must format to text that parses
// again, formats to the same text (idempotence), keeps every comment in
// order and dumps, without ranges, the same AST. Exceptions escape: an
// internal error is a finding too.
CheckResult checkFrontend(std::string_view input);

} // namespace bdl::fuzz
