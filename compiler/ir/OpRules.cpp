#include "compiler/ir/OpRules.h"

#include "compiler/ir/ops/Families.h"

namespace bdl::ir {

Tensor evaluateOp(const Node& node, std::span<const Tensor> in) {
  BDL_IR_CHECK(in.size() == node.operands.size(), "wrong number of kernel inputs");
  switch (opFamily(node.op)) {
  case OpFamily::Leaf:
    BDL_IR_CHECK(node.op == OpKind::Constant, "leaves other than constants have no kernel");
    return node.value;
  case OpFamily::Elementwise: return ops::runElementwise(node, in);
  case OpFamily::Linalg: return ops::runLinalg(node, in);
  case OpFamily::Shape: return ops::runShape(node, in);
  case OpFamily::Reduce: return ops::runReduce(node, in);
  case OpFamily::NN: return ops::runNN(node, in);
  case OpFamily::Loss: return ops::runLoss(node, in);
  case OpFamily::Effect: return in[1];
  }
  BDL_IR_CHECK(false, "unknown op family");
  return {};
}

OperandGrads gradientOf(GraphBuilder& b, ValueId self, ValueId g) {
  const Node node = b.graph().node(self); // a copy: the builder appends to the node list
  switch (opFamily(node.op)) {
  case OpFamily::Leaf:
  case OpFamily::Effect: return OperandGrads(node.operands.size());
  case OpFamily::Elementwise: return ops::gradElementwise(b, node, self, g);
  case OpFamily::Linalg: return ops::gradLinalg(b, node, self, g);
  case OpFamily::Shape: return ops::gradShape(b, node, self, g);
  case OpFamily::Reduce: return ops::gradReduce(b, node, self, g);
  case OpFamily::NN: return ops::gradNN(b, node, self, g);
  case OpFamily::Loss: return ops::gradLoss(b, node, self, g);
  }
  return OperandGrads(node.operands.size());
}

} // namespace bdl::ir
