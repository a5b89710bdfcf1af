// Autodiff: reverse-mode differentiation of a forward graph, and the
// evaluation graph.
// Expects: a verified forward graph with a scalar floating-point output named
//   `lossOutput`; dropout and state updates as the model wrote them.
// Guarantees: buildTrainingGraph returns the forward graph (same ids, same
//   outputs, same state updates) followed by the backward nodes, with one
//   extra output "grad:<full name>" per Parameter (zeros when the loss does
//   not depend on it), built with each op's gradient rule (compiler/ir/ops).
//   buildEvalGraph returns the graph with training = false: every dropout is
//   the identity and no state is updated.
#pragma once

#include "compiler/ir/Error.h"
#include "compiler/ir/Graph.h"

#include <string>
#include <string_view>

namespace bdl::passes {

// The name of the output holding the gradient of `parameter`.
std::string gradientOutputName(std::string_view parameter);

ir::Expected<ir::Graph> buildTrainingGraph(const ir::Graph& forward,
                                           std::string_view lossOutput = "loss");

ir::Graph buildEvalGraph(const ir::Graph& forward);

} // namespace bdl::passes
