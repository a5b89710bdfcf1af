// CommonSubexpressions: merges nodes that compute the same thing (same op,
// operands, attributes and type; constants with equal values), keeping the
// first. Expects: a verified graph. Guarantees: a verified graph with the
// same outputs and state updates in which no two pure nodes are equal;
// leaves with names and state updates are never merged.
#pragma once

#include "compiler/ir/Graph.h"

namespace bdl::passes {

ir::Graph eliminateCommonSubexpressions(const ir::Graph& g);

} // namespace bdl::passes
