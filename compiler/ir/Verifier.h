// Checks the invariants of a graph: operands precede their users, arities,
// leaf names unique, every node's type equal to what its shape rule infers,
// outputs and state updates well formed. Run between passes in debug builds.
#pragma once

#include "compiler/ir/Graph.h"

#include <string>
#include <vector>

namespace bdl::ir {

// Every violated invariant, one message each ("%7 (matmul): ..."); empty when
// the graph is well formed.
std::vector<std::string> verifyGraph(const Graph& g);

} // namespace bdl::ir
