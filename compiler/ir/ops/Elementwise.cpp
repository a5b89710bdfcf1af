// Element-wise ops: unary math and activations, cast, binary arithmetic and
// comparisons with NumPy broadcasting, where(c, a, b). Shape rule, reference
// kernel and gradient of each op.
#include "compiler/ir/ops/Common.h"
#include "compiler/ir/ops/Families.h"

#include <cmath>

namespace bdl::ir {

Expected<ValueId> GraphBuilder::leakyRelu(ValueId x, double alpha) {
  Attrs a;
  a.alpha = alpha;
  return addOp(OpKind::LeakyRelu, {x}, a);
}

Expected<ValueId> GraphBuilder::elu(ValueId x, double alpha) {
  Attrs a;
  a.alpha = alpha;
  return addOp(OpKind::Elu, {x}, a);
}

Expected<ValueId> GraphBuilder::cast(ValueId x, DType to) {
  if (x < graph().size() && type(x).dtype == to) return x;
  Attrs a;
  a.dtype = to;
  return addOp(OpKind::Cast, {x}, a);
}

namespace ops {

static bool isComparison(OpKind op) { return op >= OpKind::Less && op <= OpKind::NotEqual; }
static bool needsFloat(OpKind op) {
  switch (op) {
  case OpKind::Exp: case OpKind::Log: case OpKind::Sqrt: case OpKind::Rsqrt: case OpKind::Tanh:
  case OpKind::Sigmoid: case OpKind::LeakyRelu: case OpKind::Elu: case OpKind::Gelu:
  case OpKind::GeluDerivative: case OpKind::Softplus: case OpKind::Pow:
    return true;
  default: return false;
  }
}

Expected<TensorType> inferElementwise(OpKind op, std::span<const TensorType> in,
                                      const Attrs& attrs) {
  std::string_view name = opName(op);
  if (op == OpKind::Cast) return TensorType{attrs.dtype, in[0].dims};
  if (op == OpKind::Where) {
    if (in[0].dtype != DType::Bool)
      return makeError("where: the condition must be bool, got " + describe(in[0], 0), 0);
    if (in[1].dtype != in[2].dtype) return dtypeMismatch(in[1], 1, in[2], 2);
    auto ab = broadcastDims(in[1].dims, 1, in[2].dims, 2);
    if (!ab) return ab.error();
    auto all = broadcastDims(in[0].dims, 0, *ab, 1);
    if (!all) return all.error();
    return TensorType{in[1].dtype, *all};
  }
  for (size_t i = 0; i < in.size(); ++i) {
    if (needsFloat(op)) {
      if (auto f = requireFloat(in[i], static_cast<int>(i), name); !f) return f.error();
    } else if (in[i].dtype == DType::Bool && !(op == OpKind::Equal || op == OpKind::NotEqual)) {
      return makeError(std::string(name) + " is not defined on bool; got " +
                           describe(in[i], static_cast<int>(i)) + "; hint: cast it",
                       static_cast<int>(i));
    }
  }
  if (in.size() == 1) return in[0];
  if (in[0].dtype != in[1].dtype) return dtypeMismatch(in[0], 0, in[1], 1);
  auto dims = broadcastDims(in[0].dims, 0, in[1].dims, 1);
  if (!dims) return dims.error();
  return TensorType{isComparison(op) ? DType::Bool : in[0].dtype, *dims};
}

static double applyUnary(OpKind op, double x, double alpha) {
  switch (op) {
  case OpKind::Neg: return -x;
  case OpKind::Exp: return std::exp(x);
  case OpKind::Log: return std::log(x);
  case OpKind::Sqrt: return std::sqrt(x);
  case OpKind::Rsqrt: return 1.0 / std::sqrt(x);
  case OpKind::Abs: return std::fabs(x);
  case OpKind::Sign: return (x > 0) - (x < 0);
  case OpKind::Tanh: return std::tanh(x);
  case OpKind::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
  case OpKind::Relu: return x > 0 ? x : 0.0;
  case OpKind::LeakyRelu: return x > 0 ? x : alpha * x;
  case OpKind::Elu: return x > 0 ? x : alpha * (std::exp(x) - 1.0);
  case OpKind::Gelu: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  case OpKind::GeluDerivative:
    return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) +
           x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
  case OpKind::Softplus: return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
  case OpKind::Cast: return x;
  default: BDL_IR_CHECK(false, "not a unary op"); return 0;
  }
}

static double applyBinary(OpKind op, double a, double b) {
  switch (op) {
  case OpKind::Add: return a + b;
  case OpKind::Sub: return a - b;
  case OpKind::Mul: return a * b;
  case OpKind::Div: return a / b;
  case OpKind::Pow: return std::pow(a, b);
  case OpKind::Maximum: return std::max(a, b);
  case OpKind::Minimum: return std::min(a, b);
  case OpKind::Less: return a < b;
  case OpKind::LessEqual: return a <= b;
  case OpKind::Greater: return a > b;
  case OpKind::GreaterEqual: return a >= b;
  case OpKind::Equal: return a == b;
  case OpKind::NotEqual: return a != b;
  default: BDL_IR_CHECK(false, "not a binary op"); return 0;
  }
}

Tensor runElementwise(const Node& node, std::span<const Tensor> in) {
  Shape outShape = concreteShape(node.type);
  size_t n = static_cast<size_t>(numElements(outShape));
  std::vector<double> out(n);
  if (in.size() == 1) {
    std::vector<double> x = toDoubles(in[0]);
    for (size_t i = 0; i < n; ++i) out[i] = applyUnary(node.op, x[i], node.attrs.alpha);
    if (node.op == OpKind::Cast && node.type.dtype == DType::Bool)
      for (double& v : out) v = v != 0;
  } else {
    std::vector<std::vector<double>> xs;
    std::vector<std::vector<int64_t>> idx;
    for (const Tensor& t : in) {
      xs.push_back(toDoubles(t));
      idx.push_back(broadcastIndex(t.shape(), outShape));
    }
    if (node.op == OpKind::Where) {
      for (size_t i = 0; i < n; ++i)
        out[i] = xs[0][idx[0][i]] != 0 ? xs[1][idx[1][i]] : xs[2][idx[2][i]];
    } else {
      for (size_t i = 0; i < n; ++i) out[i] = applyBinary(node.op, xs[0][idx[0][i]], xs[1][idx[1][i]]);
    }
  }
  return fromDoubles(node.type.dtype, outShape, out);
}

// Each rule creates its nodes in statement order (never two node-creating
// calls as arguments of one call), so the backward graph prints the same
// with every compiler.
OperandGrads gradElementwise(GraphBuilder& b, const Node& n, ValueId y, ValueId g) {
  const ValueId x = n.operands[0];
  const ValueId other = n.operands.size() > 1 ? n.operands[1] : x;
  auto c = [&](double v) { return scalarLike(b, v, g); };
  auto mul = [&](ValueId p, ValueId q) { return must(b.mul(p, q)); };
  auto sub = [&](ValueId p, ValueId q) { return must(b.sub(p, q)); };
  auto div = [&](ValueId p, ValueId q) { return must(b.div(p, q)); };
  auto neg = [&](ValueId p) { return must(b.neg(p)); };
  // g where x > 0, otherwise `otherwise`.
  auto wherePositive = [&](ValueId otherwise) {
    ValueId zero = scalarLike(b, 0, x);
    ValueId positive = must(b.greater(x, zero));
    return must(b.where(positive, g, otherwise));
  };
  // Gradients of binary operands are summed back over broadcast dimensions.
  auto two = [&](ValueId ga, ValueId gb) -> OperandGrads {
    return {reduceToType(b, ga, b.type(x)), reduceToType(b, gb, b.type(other))};
  };
  switch (n.op) {
  case OpKind::Neg: return {neg(g)};
  case OpKind::Exp: return {mul(g, y)};
  case OpKind::Log: return {div(g, x)};
  case OpKind::Sqrt: { // g / (2 sqrt(x))
    ValueId half = c(0.5);
    return {div(mul(g, half), y)};
  }
  case OpKind::Rsqrt: { // -g y^3 / 2
    ValueId half = c(-0.5);
    ValueId y3 = mul(y, mul(y, y));
    return {mul(g, mul(half, y3))};
  }
  case OpKind::Abs: return {mul(g, must(b.sign(x)))};
  case OpKind::Tanh: { // g (1 - y^2)
    ValueId one = c(1);
    return {mul(g, sub(one, mul(y, y)))};
  }
  case OpKind::Sigmoid: { // g y (1 - y)
    ValueId one = c(1);
    return {mul(g, mul(y, sub(one, y)))};
  }
  case OpKind::Relu: return {wherePositive(c(0))};
  case OpKind::LeakyRelu: {
    ValueId alpha = c(n.attrs.alpha);
    return {wherePositive(mul(g, alpha))};
  }
  case OpKind::Elu: { // below 0: y = alpha (e^x - 1), so dy/dx = y + alpha
    ValueId alpha = c(n.attrs.alpha);
    return {wherePositive(mul(g, must(b.add(y, alpha))))};
  }
  case OpKind::Gelu: return {mul(g, must(b.addOp(OpKind::GeluDerivative, {x})))};
  case OpKind::Softplus: return {mul(g, must(b.sigmoid(x)))};
  case OpKind::Cast:
    if (!isFloating(b.type(x).dtype) || !isFloating(n.type.dtype)) return {std::nullopt};
    return {must(b.cast(g, b.type(x).dtype))};
  case OpKind::Add: return two(g, g);
  case OpKind::Sub: return two(g, neg(g));
  case OpKind::Mul: {
    ValueId ga = mul(g, other);
    return two(ga, mul(g, x));
  }
  case OpKind::Div: { // d/da = g / b, d/db = -g y / b
    ValueId ga = div(g, other);
    return two(ga, neg(div(mul(g, y), other)));
  }
  case OpKind::Pow: { // d/da = g b a^(b-1), d/db = g log(a) y
    ValueId one = c(1);
    ValueId ga = mul(g, mul(other, must(b.pow(x, sub(other, one)))));
    ValueId gb = mul(g, mul(must(b.log(x)), y));
    return two(ga, gb);
  }
  case OpKind::Maximum:
  case OpKind::Minimum: {
    // Ties split the gradient evenly, as PyTorch does.
    ValueId wins = must(n.op == OpKind::Maximum ? b.greater(x, other) : b.less(x, other));
    ValueId winShare = must(b.cast(wins, n.type.dtype));
    ValueId tie = must(b.cast(must(b.equal(x, other)), n.type.dtype));
    ValueId half = c(0.5);
    ValueId share = must(b.add(winShare, mul(half, tie)));
    ValueId ga = mul(g, share);
    return two(ga, sub(g, ga));
  }
  case OpKind::Where: {
    ValueId zero = c(0);
    ValueId ga = must(b.where(x, g, zero));
    ValueId gb = must(b.where(x, zero, g));
    return {std::nullopt, reduceToType(b, ga, b.type(n.operands[1])),
            reduceToType(b, gb, b.type(n.operands[2]))};
  }
  default: return OperandGrads(n.operands.size()); // sign, comparisons: no gradient
  }
}

} // namespace ops
} // namespace bdl::ir
