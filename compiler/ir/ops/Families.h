// Internal: the per-family entry points behind OpRules.h and
// GraphBuilder::addOp. Each family file (Elementwise, Linalg, Shape, Reduce,
// NN, Loss) defines, for its ops, the shape rule, reference kernel and gradient.
#pragma once

#include "compiler/ir/Builder.h"
#include "compiler/ir/OpRules.h"

namespace bdl::ir::ops {

#define BDL_IR_DECLARE_FAMILY(Family)                                                   \
  Expected<TensorType> infer##Family(OpKind op, std::span<const TensorType> in,         \
                                     const Attrs& attrs);                               \
  Tensor run##Family(const Node& node, std::span<const Tensor> in);                     \
  OperandGrads grad##Family(GraphBuilder& b, const Node& node, ValueId self, ValueId g);

BDL_IR_DECLARE_FAMILY(Elementwise)
BDL_IR_DECLARE_FAMILY(Linalg)
BDL_IR_DECLARE_FAMILY(Shape)
BDL_IR_DECLARE_FAMILY(Reduce)
BDL_IR_DECLARE_FAMILY(NN)
BDL_IR_DECLARE_FAMILY(Loss)
#undef BDL_IR_DECLARE_FAMILY

} // namespace bdl::ir::ops
