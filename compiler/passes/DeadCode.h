// DeadCode: removes nodes that no output and no state update depends on.
// Expects: a verified graph. Guarantees: a verified graph with the same
// outputs, state updates and leaves (inputs, parameters and states are the
// graph's interface and are kept even when unused), in the same order.
#pragma once

#include "compiler/ir/Graph.h"

namespace bdl::passes {

ir::Graph eliminateDeadCode(const ir::Graph& g);

} // namespace bdl::passes
