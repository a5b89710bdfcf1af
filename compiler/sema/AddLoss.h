// AddLoss: a model's forward graph plus a loss on its one output, for the
// training graph of a bare model (the embedding API's gradients(), `bdlc
// dump --stage=grad`). Train jobs write their loss in BDL instead.
// Expects: a forward graph with exactly one output.
// Guarantees: a new input "labels" (i64, the output's leading dimensions)
//   for cross_entropy, or "target" (the output's type) for mse, and an output
//   "loss"; "output" uses the model's own output as the loss (a scalar).
#pragma once

#include "compiler/ir/Error.h"
#include "compiler/ir/Graph.h"

#include <string>

namespace bdl::sema {

ir::Expected<ir::Graph> addLoss(ir::Graph forward, const std::string& loss);

} // namespace bdl::sema
