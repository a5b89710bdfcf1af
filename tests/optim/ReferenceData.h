// Loads tests/optim/reference.json (written by gen_reference.py with
// PyTorch 1.13) and turns its entries into runtime/optim inputs, so the tests
// compare against torch without importing it.
#pragma once

#include "runtime/optim/OptimizerFactory.h"
#include "runtime/optim/Schedule.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace bdl::optim::testing {

const nlohmann::json& reference(); // parsed once; throws with the path if missing

std::vector<float> floats(const nlohmann::json& array);
std::vector<NamedArg> namedArgs(const nlohmann::json& args);
std::string describe(const nlohmann::json& optimizerCase); // "adam(lr=0.01, amsgrad=true) n=37"
Schedule scheduleFromJson(const nlohmann::json& spec);

// Max relative error with an absolute floor, as used by every reference
// comparison: |a - b| / max(|b|, floor).
double relativeError(float actual, double expected, double floor = 1e-3);

} // namespace bdl::optim::testing
