// ConstantFold: evaluates at compile time every op whose operands are all
// constants, and every num_elements whose operand has a concrete type.
// Expects: a verified graph. Guarantees: same node ids, outputs and types;
//   folded nodes become Constant nodes (their old operands may become dead:
//   run DeadCode after). Dropout, state updates and results larger than
//   `maxElements` are left alone.
#pragma once

#include "compiler/ir/Graph.h"

namespace bdl::passes {

ir::Graph foldConstants(const ir::Graph& g, int64_t maxElements = 1 << 16);

} // namespace bdl::passes
