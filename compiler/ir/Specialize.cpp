#include "compiler/ir/Specialize.h"

#include "compiler/ir/Builder.h"
#include "compiler/ir/Printer.h"

namespace bdl::ir {

static Expected<Dims> bind(const Dims& dims, const std::map<std::string, int64_t>& sizes) {
  Dims out;
  for (const Dim& d : dims) {
    if (d.isConcrete()) { out.push_back(d); continue; }
    auto it = sizes.find(d.symbol);
    if (it == sizes.end())
      return makeError("the symbolic dimension " + d.symbol + " has no size");
    if (it->second < 0)
      return makeError("the size of " + d.symbol + " is negative (" + std::to_string(it->second) + ")");
    out.push_back(Dim::of(d.value * it->second));
  }
  return out;
}

Expected<Graph> specialize(const Graph& g, const std::map<std::string, int64_t>& sizes) {
  Graph out = g;
  for (ValueId id = 0; id < out.nodes.size(); ++id) {
    Node& n = out.nodes[id];
    auto where = [&](const Error& e) {
      return makeError("specialize: " + printNode(g, id) + ": " + e.message, e.operand, e.dim);
    };
    auto shape = bind(n.attrs.shape, sizes);
    if (!shape) return where(shape.error());
    n.attrs.shape = *shape;
    if (isLeaf(n.op)) {
      auto dims = bind(n.type.dims, sizes);
      if (!dims) return where(dims.error());
      n.type.dims = *dims;
      continue;
    }
    std::vector<TensorType> types;
    for (ValueId o : n.operands) types.push_back(out.nodes[o].type);
    auto t = inferType(n.op, types, n.attrs);
    if (!t) return where(t.error());
    n.type = *t;
  }
  return out;
}

} // namespace bdl::ir
