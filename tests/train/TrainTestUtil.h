// Helpers shared by the runtime/train unit tests.
#pragma once

#include "runtime/train/TrainError.h"

#include <functional>
#include <string>

namespace bdl::train::test {

// The message of the TrainError `f` throws, or "(no TrainError)".
inline std::string messageOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const TrainError& e) {
    return e.what();
  }
  return "(no TrainError)";
}

} // namespace bdl::train::test
