// Dispatch from an op to its family's rules: the reference kernel (used by
// the interpreter and constant folding) and the gradient rule (used by
// autodiff). The rules themselves live in compiler/ir/ops/<Family>.cpp.
#pragma once

#include "compiler/ir/Builder.h"

#include <optional>
#include <span>
#include <vector>

namespace bdl::ir {

// Runs the reference kernel of `node` on concrete inputs (one per operand,
// same dtypes and shapes as the operand types). Throws InternalError on
// inputs that break the node's type (a bug upstream, never a user error).
Tensor evaluateOp(const Node& node, std::span<const Tensor> inputs);

// One entry per operand: the gradient of the loss with respect to it, or
// nullopt when no gradient flows there (integer operands, comparisons...).
using OperandGrads = std::vector<std::optional<ValueId>>;

// Adds to `b` the nodes computing the operands' gradients of node `self`
// given `gradOut`, the gradient of its result. Throws InternalError on bugs.
OperandGrads gradientOf(GraphBuilder& b, ValueId self, ValueId gradOut);

} // namespace bdl::ir
