#include "compiler/passes/Autodiff.h"

#include "compiler/ir/Builder.h"
#include "compiler/ir/OpRules.h"
#include "compiler/ir/ops/Common.h"

#include <optional>

namespace bdl::passes {

using namespace bdl::ir;

std::string gradientOutputName(std::string_view parameter) {
  return "grad:" + std::string(parameter);
}

// Gradient rules build every operand's gradient; drops the backward nodes
// (ids >= forwardSize) that no output uses, e.g. gradients of inputs. Forward
// nodes keep their ids.
static Graph pruneBackward(Graph g, size_t forwardSize) {
  std::vector<bool> live(g.size(), false);
  for (size_t id = 0; id < forwardSize; ++id) live[id] = true;
  for (const GraphOutput& o : g.outputs) live[o.value] = true;
  for (ValueId id = static_cast<ValueId>(g.size()); id-- > forwardSize;)
    if (live[id])
      for (ValueId o : g.nodes[id].operands) live[o] = true;
  std::vector<ValueId> remap(g.size(), 0);
  Graph out;
  out.files = g.files;
  for (ValueId id = 0; id < g.size(); ++id) {
    if (!live[id]) continue;
    Node n = std::move(g.nodes[id]);
    for (ValueId& o : n.operands) o = remap[o];
    out.nodes.push_back(std::move(n));
    remap[id] = static_cast<ValueId>(out.nodes.size() - 1);
  }
  for (const GraphOutput& o : g.outputs) out.outputs.push_back({o.name, remap[o.value]});
  return out;
}

Expected<Graph> buildTrainingGraph(const Graph& forward, std::string_view lossOutput) {
  auto loss = forward.findOutput(lossOutput);
  if (!loss) return makeError("the graph has no output named '" + std::string(lossOutput) + "'");
  const TensorType& lossType = forward.type(*loss);
  if (lossType.rank() != 0 || !isFloating(lossType.dtype))
    return makeError("the loss must be a floating-point scalar, got " + lossType.toString());

  // Only values that depend on a parameter need gradients.
  std::vector<bool> needsGrad(forward.size(), false);
  for (ValueId id = 0; id < forward.size(); ++id) {
    const Node& n = forward.node(id);
    if (n.op == OpKind::Parameter) needsGrad[id] = true;
    if (!isDifferentiable(n.op)) continue;
    for (ValueId o : n.operands) needsGrad[id] = needsGrad[id] || needsGrad[o];
  }

  GraphBuilder b(forward);
  std::vector<std::optional<ValueId>> grad(forward.size());
  try {
    b.setLocation(forward.node(*loss).loc);
    grad[*loss] = b.scalar(1.0, lossType.dtype);
    for (ValueId id = *loss + 1; id-- > 0;) {
      const Node& n = forward.node(id);
      if (!grad[id] || !needsGrad[id] || isLeaf(n.op) || !isDifferentiable(n.op)) continue;
      b.setLocation(n.loc); // backward nodes point at the forward expression
      OperandGrads og = gradientOf(b, id, *grad[id]);
      BDL_IR_CHECK(og.size() == n.operands.size(), "gradient rule of " +
                                                       std::string(opName(n.op)) +
                                                       " returned the wrong count");
      for (size_t i = 0; i < og.size(); ++i) {
        ValueId o = n.operands[i];
        if (!og[i] || !needsGrad[o]) continue;
        BDL_IR_CHECK(b.type(*og[i]) == forward.type(o),
                     "gradient of operand " + std::to_string(i) + " of " +
                         std::string(opName(n.op)) + " has type " + b.type(*og[i]).toString() +
                         ", expected " + forward.type(o).toString());
        grad[o] = grad[o] ? ops::must(b.add(*grad[o], *og[i])) : *og[i];
      }
    }
    for (ValueId p : forward.leaves(OpKind::Parameter)) {
      const Node& n = forward.node(p);
      b.setLocation(n.loc);
      ValueId g = grad[p] ? *grad[p]
                          : ops::must(b.broadcastTo(b.scalar(0.0, n.type.dtype), n.type.dims));
      ops::must(b.output(gradientOutputName(n.name), g));
    }
  } catch (const InternalError& e) {
    return makeError(std::string("internal error in autodiff: ") + e.what());
  }
  return pruneBackward(b.finish(), forward.size());
}

Graph buildEvalGraph(const Graph& forward) {
  Graph out;
  out.files = forward.files;
  std::vector<ValueId> remap(forward.size(), 0);
  for (ValueId id = 0; id < forward.size(); ++id) {
    const Node& n = forward.node(id);
    if (n.op == OpKind::StateUpdate) continue; // no state changes outside training
    if (n.op == OpKind::Dropout) {             // identity when training = false
      remap[id] = remap[n.operands[0]];
      continue;
    }
    Node copy = n;
    for (ValueId& o : copy.operands) o = remap[o];
    out.nodes.push_back(std::move(copy));
    remap[id] = static_cast<ValueId>(out.nodes.size() - 1);
  }
  for (const GraphOutput& o : forward.outputs) out.outputs.push_back({o.name, remap[o.value]});
  return out;
}

} // namespace bdl::passes
