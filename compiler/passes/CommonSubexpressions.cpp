#include "compiler/passes/CommonSubexpressions.h"

#include <cstring>
#include <map>
#include <utility>

namespace bdl::passes {

using namespace bdl::ir;

static bool sameConstant(const Node& a, const Node& b) {
  return a.type == b.type && a.value.bytes() == b.value.bytes() &&
         std::memcmp(a.value.rawData(), b.value.rawData(), a.value.bytes()) == 0;
}

Graph eliminateCommonSubexpressions(const Graph& g) {
  Graph out;
  out.files = g.files;
  std::vector<ValueId> remap(g.size(), 0);
  // Candidates by (op, operands); attributes and types are compared on a hit.
  std::map<std::pair<OpKind, std::vector<ValueId>>, std::vector<ValueId>> seen;
  for (ValueId id = 0; id < g.size(); ++id) {
    Node n = g.node(id);
    for (ValueId& o : n.operands) o = remap[o];
    bool mergeable = n.op != OpKind::Input && n.op != OpKind::Parameter &&
                     n.op != OpKind::State && n.op != OpKind::StateUpdate;
    std::optional<ValueId> twin;
    auto key = std::make_pair(n.op, n.operands);
    if (mergeable) {
      for (ValueId c : seen[key]) {
        const Node& other = out.nodes[c];
        bool equal = n.op == OpKind::Constant ? sameConstant(n, other)
                                              : (other.attrs == n.attrs && other.type == n.type);
        if (equal) { twin = c; break; }
      }
    }
    if (twin) { remap[id] = *twin; continue; }
    out.nodes.push_back(std::move(n));
    remap[id] = static_cast<ValueId>(out.nodes.size() - 1);
    if (mergeable) seen[key].push_back(remap[id]);
  }
  for (const GraphOutput& o : g.outputs) out.outputs.push_back({o.name, remap[o.value]});
  return out;
}

} // namespace bdl::passes
