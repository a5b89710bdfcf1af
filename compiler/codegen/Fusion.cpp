#include "compiler/codegen/Fusion.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace bdl::codegen {

using namespace bdl::ir;

static bool jitDtype(DType t) { return t == DType::F32 || t == DType::Bool; }

bool isFusable(const Graph& g, ValueId id) {
  const Node& n = g.node(id);
  if (!n.type.isConcrete() || !jitDtype(n.type.dtype)) return false;
  for (ValueId o : n.operands)
    if (!jitDtype(g.type(o).dtype)) return false;
  if (n.op == OpKind::BroadcastTo) return true;
  if (opFamily(n.op) != OpFamily::Elementwise) return false;
  switch (n.op) {
  case OpKind::Cast: return true;
  case OpKind::Where: return true;
  case OpKind::Equal:
  case OpKind::NotEqual: return true;
  default:
    // Everything else computes on f32 operands (bool arithmetic is rejected by
    // the shape rules, but checking keeps the emitter's assumptions local).
    for (ValueId o : n.operands)
      if (g.type(o).dtype != DType::F32) return false;
    return true;
  }
}

bool isReductionRoot(const Graph& g, ValueId id) {
  const Node& n = g.node(id);
  if (n.op != OpKind::Sum && n.op != OpKind::Mean && n.op != OpKind::Max && n.op != OpKind::Min) return false;
  const TensorType& in = g.type(n.operands[0]);
  return n.type.isConcrete() && n.type.dtype == DType::F32 && in.dtype == DType::F32 &&
         numElements(*in.shape()) > 0 && numElements(*n.type.shape()) > 0;
}

Fusion fuseElementwise(const Graph& g, bool enabled) {
  Fusion f;
  f.groupOf.assign(g.size(), -1);
  std::vector<bool> closed;
  for (ValueId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    bool fusable = isFusable(g, id);
    int target = -1;
    // A reduction of a group's value becomes that group's root and closes
    // it: the chain is computed inside the reduction's loop. It reads each
    // element once, and whatever reads its (smaller) result comes after the
    // group, so the chain is never recomputed per element of a broadcast.
    // The group may be closed already (a product read a member): the root
    // reads nothing else, so it can run with the group, before that reader.
    if (enabled && isReductionRoot(g, id)) {
      int gi = f.groupOf[n.operands[0]];
      if (gi >= 0 && !f.groups[gi].root) {
        f.groups[gi].members.push_back(id);
        f.groups[gi].root = id;
        f.groupOf[id] = gi;
        closed[gi] = true;
        continue;
      }
    }
    Shape shape = fusable ? *n.type.shape() : Shape{};
    if (fusable && enabled)
      for (ValueId o : n.operands) {
        int gi = f.groupOf[o];
        if (gi >= 0 && !closed[gi] && f.groups[gi].shape == shape) { target = gi; break; }
      }
    // A group read by a node outside it must be complete before that node,
    // so nothing may join it any more.
    for (ValueId o : n.operands)
      if (f.groupOf[o] >= 0 && f.groupOf[o] != target) closed[f.groupOf[o]] = true;
    if (!fusable) continue;
    if (target < 0) {
      target = static_cast<int>(f.groups.size());
      f.groups.push_back(FusedGroup{{}, {}, {}, shape, std::nullopt});
      closed.push_back(!enabled);
    }
    f.groups[target].members.push_back(id);
    f.groupOf[id] = target;
  }
  // Members read outside their group (or by the graph's outputs) are its outputs.
  std::vector<bool> readOutside(g.size(), false);
  for (ValueId id = 0; id < g.size(); ++id)
    for (ValueId o : g.node(id).operands)
      if (f.groupOf[o] >= 0 && f.groupOf[o] != f.groupOf[id]) readOutside[o] = true;
  for (const GraphOutput& o : g.outputs) readOutside[o.value] = true;
  for (FusedGroup& grp : f.groups) {
    for (ValueId m : grp.members) {
      if (readOutside[m] || m == grp.root) grp.outputs.push_back(m);
      for (ValueId o : g.node(m).operands)
        if (f.groupOf[o] != f.groupOf[m] &&
            std::find(grp.inputs.begin(), grp.inputs.end(), o) == grp.inputs.end())
          grp.inputs.push_back(o);
    }
  }
  return f;
}

static void printAttrs(std::ostream& os, const Node& n) {
  if (n.op == OpKind::LeakyRelu || n.op == OpKind::Elu) os << " alpha=" << n.attrs.alpha;
  if (n.op == OpKind::Cast) os << " to=" << dtypeName(n.attrs.dtype);
  if (opFamily(n.op) == OpFamily::Reduce) {
    os << " axes=[";
    for (size_t i = 0; i < n.attrs.axes.size(); ++i) os << (i ? "," : "") << n.attrs.axes[i];
    os << "]" << (n.attrs.keepdims ? " keepdims" : "");
  }
}

std::string canonicalText(const Graph& g, const FusedGroup& group) {
  std::ostringstream os;
  os.precision(17);
  std::map<ValueId, std::string> local;
  os << "group " << shapeToString(group.shape);
  if (group.root) os << " reduced by v" << group.members.size() - 1;
  os << "\n";
  for (size_t i = 0; i < group.inputs.size(); ++i) {
    ValueId v = group.inputs[i];
    const Node& n = g.node(v);
    local[v] = "in" + std::to_string(i);
    os << "  in" << i << ": " << n.type.toString();
    if (n.op == OpKind::Constant && n.type.rank() == 0 && n.type.dtype == DType::F32)
      os << " = " << n.value.data<float>()[0];
    os << "\n";
  }
  for (size_t i = 0; i < group.members.size(); ++i) {
    ValueId v = group.members[i];
    const Node& n = g.node(v);
    local[v] = "v" + std::to_string(i);
    os << "  v" << i << " = " << opName(n.op);
    printAttrs(os, n);
    for (ValueId o : n.operands) os << " " << local.at(o);
    os << " : " << n.type.toString();
    if (std::find(group.outputs.begin(), group.outputs.end(), v) != group.outputs.end())
      os << " -> out";
    os << "\n";
  }
  return os.str();
}

} // namespace bdl::codegen
