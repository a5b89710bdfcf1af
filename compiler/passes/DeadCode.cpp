#include "compiler/passes/DeadCode.h"

namespace bdl::passes {

using namespace bdl::ir;

Graph eliminateDeadCode(const Graph& g) {
  std::vector<bool> live(g.size(), false);
  for (const GraphOutput& o : g.outputs) live[o.value] = true;
  for (ValueId id = 0; id < g.size(); ++id) {
    OpKind op = g.node(id).op;
    if (op == OpKind::StateUpdate || op == OpKind::Input || op == OpKind::Parameter ||
        op == OpKind::State)
      live[id] = true;
  }
  // Operands precede users, so one backward sweep marks everything.
  for (ValueId id = static_cast<ValueId>(g.size()); id-- > 0;)
    if (live[id])
      for (ValueId o : g.node(id).operands) live[o] = true;

  Graph out;
  out.files = g.files;
  std::vector<ValueId> remap(g.size(), 0);
  for (ValueId id = 0; id < g.size(); ++id) {
    if (!live[id]) continue;
    Node n = g.node(id);
    for (ValueId& o : n.operands) o = remap[o];
    out.nodes.push_back(std::move(n));
    remap[id] = static_cast<ValueId>(out.nodes.size() - 1);
  }
  for (const GraphOutput& o : g.outputs) out.outputs.push_back({o.name, remap[o.value]});
  return out;
}

} // namespace bdl::passes
