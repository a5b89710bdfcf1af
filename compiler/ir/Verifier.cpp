#include "compiler/ir/Verifier.h"

#include "compiler/ir/Builder.h"

#include <map>
#include <set>

namespace bdl::ir {

std::vector<std::string> verifyGraph(const Graph& g) {
  std::vector<std::string> problems;
  std::map<std::string, ValueId> leafNames;
  std::set<ValueId> updatedStates;
  for (ValueId id = 0; id < g.nodes.size(); ++id) {
    const Node& n = g.nodes[id];
    auto fail = [&](const std::string& what) {
      problems.push_back("%" + std::to_string(id) + " (" + std::string(opName(n.op)) + "): " + what);
    };
    if (n.op >= OpKind::Count) { fail("unknown op"); continue; }
    const OpInfo& info = opInfo(n.op);
    int arity = static_cast<int>(n.operands.size());
    if (arity < info.minArity || (info.maxArity >= 0 && arity > info.maxArity)) {
      fail("has " + std::to_string(arity) + " operands");
      continue;
    }
    bool operandsOk = true;
    for (ValueId o : n.operands)
      if (o >= id) {
        fail("operand %" + std::to_string(o) + " does not precede its user");
        operandsOk = false;
      }
    if (!operandsOk) continue;
    if (isLeaf(n.op)) {
      if (n.op == OpKind::Constant) {
        if (!n.value.defined() || n.value.dtype() != n.type.dtype ||
            dimsOf(n.value.shape()) != n.type.dims)
          fail("its value does not match its type " + n.type.toString());
        continue;
      }
      if (n.name.empty()) fail("has no name");
      else if (auto [it, fresh] = leafNames.emplace(n.name, id); !fresh)
        fail("name '" + n.name + "' is also used by %" + std::to_string(it->second));
      continue;
    }
    std::vector<TensorType> types;
    for (ValueId o : n.operands) types.push_back(g.nodes[o].type);
    auto inferred = inferType(n.op, types, n.attrs);
    if (!inferred) fail("shape rule fails: " + inferred.error().message);
    else if (*inferred != n.type)
      fail("type " + n.type.toString() + " differs from the inferred " + inferred->toString());
    if (n.op == OpKind::StateUpdate) {
      if (g.nodes[n.operands[0]].op != OpKind::State) fail("updates a value that is not a state");
      else if (!updatedStates.insert(n.operands[0]).second)
        fail("state %" + std::to_string(n.operands[0]) + " is updated twice");
    }
  }
  std::set<std::string> outputNames;
  for (const GraphOutput& o : g.outputs) {
    if (o.value >= g.nodes.size())
      problems.push_back("output \"" + o.name + "\" names the missing value %" +
                         std::to_string(o.value));
    if (!outputNames.insert(o.name).second)
      problems.push_back("output \"" + o.name + "\" is defined twice");
  }
  return problems;
}

} // namespace bdl::ir
