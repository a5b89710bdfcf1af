#include "compiler/passes/ConstantFold.h"

#include "compiler/ir/OpRules.h"
#include "compiler/ir/ops/Common.h"

namespace bdl::passes {

using namespace bdl::ir;

static bool foldable(const Graph& g, const Node& n, int64_t maxElements) {
  if (isLeaf(n.op) || n.op == OpKind::StateUpdate || n.op == OpKind::Dropout) return false;
  if (!n.type.isConcrete() || numElements(*n.type.shape()) > maxElements) return false;
  if (n.op == OpKind::NumElements) return g.node(n.operands[0]).type.isConcrete();
  for (ValueId o : n.operands)
    if (g.node(o).op != OpKind::Constant) return false;
  return true;
}

Graph foldConstants(const Graph& input, int64_t maxElements) {
  Graph g = input;
  for (Node& n : g.nodes) {
    if (!foldable(g, n, maxElements)) continue;
    std::vector<Tensor> values;
    for (ValueId o : n.operands) {
      const Node& src = g.node(o);
      // num_elements only reads its operand's shape.
      values.push_back(src.op == OpKind::Constant ? src.value
                                                  : Tensor(src.type.dtype, *src.type.shape()));
    }
    try {
      n.value = evaluateOp(n, values);
    } catch (const DataError&) {
      continue; // bad data (e.g. a label out of range): leave it for run time to report
    }
    n.op = OpKind::Constant;
    n.operands.clear();
    n.attrs = Attrs{};
  }
  return g;
}

} // namespace bdl::passes
