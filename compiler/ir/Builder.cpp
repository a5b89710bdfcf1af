// GraphBuilder's leaves, effects and the generic addOp; the op-specific
// builder functions live with their family in ops/<Family>.cpp.
#include "compiler/ir/Builder.h"

#include "compiler/ir/ops/Common.h"
#include "compiler/ir/ops/Families.h"

namespace bdl::ir {

ValueId GraphBuilder::append(Node node) {
  node.loc = loc_;
  g_.nodes.push_back(std::move(node));
  return static_cast<ValueId>(g_.nodes.size() - 1);
}

uint32_t GraphBuilder::addFile(const std::string& name) {
  for (uint32_t i = 0; i < g_.files.size(); ++i)
    if (g_.files[i] == name) return i;
  g_.files.push_back(name);
  return static_cast<uint32_t>(g_.files.size() - 1);
}

static Expected<TensorType> checkLeafType(const TensorType& t, bool mustBeConcrete) {
  for (size_t i = 0; i < t.dims.size(); ++i) {
    const Dim& d = t.dims[i];
    if (d.value < 0 || (d.isSymbolic() && d.value < 1))
      return makeError("dimension " + std::to_string(i) + " of " + t.toString() +
                           " is negative",
                       -1, static_cast<int>(i));
    if (mustBeConcrete && d.isSymbolic())
      return makeError("parameters and states need concrete shapes, got " + t.toString(), -1,
                       static_cast<int>(i));
  }
  return t;
}

Expected<ValueId> GraphBuilder::addLeaf(OpKind op, const std::string& name, TensorType type,
                                        Initializer init) {
  if (name.empty()) return makeError(std::string(opName(op)) + " needs a name");
  for (const Node& n : g_.nodes)
    if (isLeaf(n.op) && n.op != OpKind::Constant && n.name == name)
      return makeError("the name '" + name + "' is already used by " +
                       (opName(n.op)[0] == 'i' ? "an " : "a ") + std::string(opName(n.op)) + " of type " +
                       n.type.toString());
  auto checked = checkLeafType(type, op != OpKind::Input);
  if (!checked) return checked.error();
  Node n;
  n.op = op;
  n.type = std::move(type);
  n.name = name;
  n.init = init;
  return append(std::move(n));
}

Expected<ValueId> GraphBuilder::input(const std::string& name, TensorType type) {
  return addLeaf(OpKind::Input, name, std::move(type), {});
}

Expected<ValueId> GraphBuilder::parameter(const std::string& fullName, TensorType type,
                                          Initializer init) {
  if (!isFloating(type.dtype))
    return makeError("parameter '" + fullName + "' must be f32 or f64, got " + type.toString());
  return addLeaf(OpKind::Parameter, fullName, std::move(type), init);
}

Expected<ValueId> GraphBuilder::state(const std::string& fullName, TensorType type,
                                      Initializer init) {
  return addLeaf(OpKind::State, fullName, std::move(type), init);
}

ValueId GraphBuilder::constant(Tensor value) {
  Node n;
  n.op = OpKind::Constant;
  n.type = TensorType{value.dtype(), dimsOf(value.shape())};
  n.value = std::move(value);
  return append(std::move(n));
}

ValueId GraphBuilder::scalar(double value, DType dtype) {
  return constant(ops::fromDoubles(dtype, {}, {value}));
}

Expected<ValueId> GraphBuilder::stateUpdate(ValueId state, ValueId value) {
  if (state >= g_.nodes.size() || g_.nodes[state].op != OpKind::State)
    return makeError("the target of '<-' must be a state", 0);
  return addOp(OpKind::StateUpdate, {state, value});
}

Expected<ValueId> GraphBuilder::output(const std::string& name, ValueId value) {
  if (value >= g_.nodes.size()) return makeError("output '" + name + "' names no value");
  if (g_.findOutput(name)) return makeError("output '" + name + "' is defined twice");
  g_.outputs.push_back({name, value});
  return value;
}

Expected<ValueId> GraphBuilder::addOp(OpKind op, std::vector<ValueId> operands, Attrs attrs) {
  const OpInfo& info = opInfo(op);
  if (info.family == OpFamily::Leaf)
    return makeError(std::string(info.name) + " is a leaf; use the builder's leaf functions");
  int n = static_cast<int>(operands.size());
  if (n < info.minArity || (info.maxArity >= 0 && n > info.maxArity))
    return makeError(std::string(info.name) + " takes " + std::to_string(info.minArity) +
                     (info.maxArity == info.minArity ? "" : " or more") + " operands, got " +
                     std::to_string(n));
  std::vector<TensorType> types;
  for (int i = 0; i < n; ++i) {
    if (operands[i] >= g_.nodes.size())
      return makeError(std::string(info.name) + ": operand " + std::to_string(i) +
                           " is not a value of this graph",
                       i);
    types.push_back(g_.nodes[operands[i]].type);
  }
  auto type = inferType(op, types, attrs);
  if (!type) return type.error();
  Node node;
  node.op = op;
  node.operands = std::move(operands);
  node.type = std::move(*type);
  node.attrs = std::move(attrs);
  return append(std::move(node));
}

static Expected<TensorType> inferStateUpdate(std::span<const TensorType> in) {
  if (in[0] != in[1])
    return makeError("state update: the new value " + in[1].toString() +
                         " does not have the state's type " + in[0].toString(),
                     1);
  return in[0];
}

Expected<TensorType> inferType(OpKind op, std::span<const TensorType> in, const Attrs& attrs) {
  switch (opFamily(op)) {
  case OpFamily::Leaf: return makeError("leaves have no shape rule");
  case OpFamily::Elementwise: return ops::inferElementwise(op, in, attrs);
  case OpFamily::Linalg: return ops::inferLinalg(op, in, attrs);
  case OpFamily::Shape: return ops::inferShape(op, in, attrs);
  case OpFamily::Reduce: return ops::inferReduce(op, in, attrs);
  case OpFamily::NN: return ops::inferNN(op, in, attrs);
  case OpFamily::Loss: return ops::inferLoss(op, in, attrs);
  case OpFamily::Effect: return inferStateUpdate(in);
  }
  return makeError("unknown op family");
}

} // namespace bdl::ir
