#include "compiler/interp/Interpreter.h"

#include "compiler/ir/Initializers.h"
#include "compiler/ir/OpRules.h"
#include "compiler/ir/Printer.h"

namespace bdl::interp {

using namespace bdl::ir;

// The feed's shape equals the node's concrete dims (without building Dims:
// the jit checks every feed of every batch-1 call).
static bool sameShape(const Shape& shape, const Dims& dims) {
  if (shape.size() != dims.size()) return false;
  for (size_t i = 0; i < dims.size(); ++i)
    if (!dims[i].is(shape[i])) return false;
  return true;
}

std::optional<Error> checkFeed(const Node& n, const Feeds& feeds, const Tensor*& out) {
  auto it = feeds.find(n.name);
  if (it == feeds.end())
    return makeError("no value fed for " + std::string(opName(n.op)) + " '" + n.name + "' (" +
                     n.type.toString() + ")");
  const Tensor& t = it->second;
  if (!t.defined() || t.dtype() != n.type.dtype || !sameShape(t.shape(), n.type.dims))
    return makeError("the value fed for '" + n.name + "' is " +
                     (t.defined() ? std::string(dtypeName(t.dtype())) + shapeToString(t.shape())
                                  : std::string("undefined")) +
                     " but the graph expects " + n.type.toString());
  out = &t;
  return std::nullopt;
}

ir::Expected<RunResult> run(const Graph& g, const Feeds& feeds) {
  // Last use of each value, so intermediate tensors are freed early.
  std::vector<size_t> lastUse(g.nodes.size(), 0);
  for (ValueId id = 0; id < g.nodes.size(); ++id)
    for (ValueId o : g.nodes[id].operands) lastUse[o] = id;
  for (const GraphOutput& o : g.outputs) lastUse[o.value] = g.nodes.size();

  std::vector<Tensor> values(g.nodes.size());
  RunResult result;
  try {
    for (ValueId id = 0; id < g.nodes.size(); ++id) {
      const Node& n = g.nodes[id];
      if (!n.type.isConcrete())
        return makeError("cannot run a graph with symbolic types (specialize it first): " +
                         printNode(g, id));
      if (n.op == OpKind::Input || n.op == OpKind::Parameter || n.op == OpKind::State) {
        const Tensor* fed = nullptr;
        if (auto e = checkFeed(n, feeds, fed)) return *e;
        values[id] = *fed;
        continue;
      }
      std::vector<Tensor> inputs;
      for (ValueId o : n.operands) inputs.push_back(values[o]);
      values[id] = evaluateOp(n, inputs);
      if (n.op == OpKind::StateUpdate) result.stateUpdates[g.nodes[n.operands[0]].name] = values[id];
      for (ValueId o : n.operands)
        if (lastUse[o] == id) values[o] = Tensor();
    }
  } catch (const DataError& e) {
    return makeError(e.what());
  } catch (const InternalError& e) {
    return makeError(std::string("internal error: ") + e.what());
  }
  for (const GraphOutput& o : g.outputs) result.outputs[o.name] = values[o.value];
  return result;
}

Feeds initialParameters(const Graph& g, uint64_t seed) {
  Feeds feeds;
  for (const Node& n : g.nodes) {
    if (n.op != OpKind::Parameter && n.op != OpKind::State) continue;
    auto shape = n.type.shape();
    if (!shape) continue;
    feeds[n.name] = initialValue(n.init, n.type.dtype, *shape, seed, n.name);
  }
  return feeds;
}

} // namespace bdl::interp
