// Reductions over axes (sum, mean, max, min with keepdims), softmax and
// log_softmax along one axis, argmax. Shape rule, kernel and gradient.
#include "compiler/ir/ops/Common.h"
#include "compiler/ir/ops/Families.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bdl::ir {

static Attrs reduceAttrs(std::vector<int64_t> axes, bool keepdims) {
  Attrs a;
  a.axes = std::move(axes);
  a.keepdims = keepdims;
  return a;
}

Expected<ValueId> GraphBuilder::sum(ValueId x, std::vector<int64_t> axes, bool keepdims) {
  return addOp(OpKind::Sum, {x}, reduceAttrs(std::move(axes), keepdims));
}
Expected<ValueId> GraphBuilder::mean(ValueId x, std::vector<int64_t> axes, bool keepdims) {
  return addOp(OpKind::Mean, {x}, reduceAttrs(std::move(axes), keepdims));
}
Expected<ValueId> GraphBuilder::max(ValueId x, std::vector<int64_t> axes, bool keepdims) {
  return addOp(OpKind::Max, {x}, reduceAttrs(std::move(axes), keepdims));
}
Expected<ValueId> GraphBuilder::min(ValueId x, std::vector<int64_t> axes, bool keepdims) {
  return addOp(OpKind::Min, {x}, reduceAttrs(std::move(axes), keepdims));
}
Expected<ValueId> GraphBuilder::softmax(ValueId x, int64_t axis) {
  return addOp(OpKind::Softmax, {x}, reduceAttrs({axis}, false));
}
Expected<ValueId> GraphBuilder::logSoftmax(ValueId x, int64_t axis) {
  return addOp(OpKind::LogSoftmax, {x}, reduceAttrs({axis}, false));
}
Expected<ValueId> GraphBuilder::argmax(ValueId x, int64_t axis, bool keepdims) {
  return addOp(OpKind::ArgMax, {x}, reduceAttrs({axis}, keepdims));
}

namespace ops {

static Dims reducedDims(const Dims& in, const std::vector<int64_t>& axes, bool keepdims) {
  Dims out;
  for (int64_t i = 0; i < static_cast<int64_t>(in.size()); ++i) {
    bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
    if (!reduced) out.push_back(in[i]);
    else if (keepdims) out.push_back(Dim::of(1));
  }
  return out;
}

Expected<TensorType> inferReduce(OpKind op, std::span<const TensorType> in, const Attrs& attrs) {
  const TensorType& x = in[0];
  std::string_view name = opName(op);
  bool oneAxis = op == OpKind::Softmax || op == OpKind::LogSoftmax || op == OpKind::ArgMax;
  if (oneAxis && attrs.axes.size() != 1)
    return makeError(std::string(name) + " takes exactly one axis", 0);
  auto axes = normalizeAxes(attrs.axes, x.rank(), 0);
  if (!axes) return makeError(std::string(name) + ": " + axes.error().message + " (" +
                                  x.toString() + ")", 0);
  if (x.dtype == DType::Bool)
    return makeError(std::string(name) + " is not defined on bool; got " + describe(x, 0), 0);
  if (op == OpKind::Mean || op == OpKind::Softmax || op == OpKind::LogSoftmax)
    if (auto f = requireFloat(x, 0, name); !f) return f.error();
  if (op == OpKind::Softmax || op == OpKind::LogSoftmax) return x;
  return TensorType{op == OpKind::ArgMax ? DType::I64 : x.dtype,
                    reducedDims(x.dims, *axes, attrs.keepdims)};
}

Tensor runReduce(const Node& n, std::span<const Tensor> in) {
  const Shape& s = in[0].shape();
  Shape out = concreteShape(n.type);
  std::vector<double> x = toDoubles(in[0]);
  std::vector<int64_t> axes = *normalizeAxes(n.attrs.axes, in[0].rank(), 0);
  const double inf = std::numeric_limits<double>::infinity();
  switch (n.op) {
  case OpKind::Sum: case OpKind::Mean: case OpKind::Max: case OpKind::Min: {
    double init = n.op == OpKind::Max ? -inf : n.op == OpKind::Min ? inf : 0.0;
    std::vector<double> y(static_cast<size_t>(numElements(out)), init);
    auto slot = reduceIndex(s, axes);
    for (size_t i = 0; i < x.size(); ++i) {
      double& acc = y[slot[i]];
      if (n.op == OpKind::Max) acc = std::max(acc, x[i]);
      else if (n.op == OpKind::Min) acc = std::min(acc, x[i]);
      else acc += x[i];
    }
    if (n.op == OpKind::Mean && !y.empty()) {
      double count = static_cast<double>(x.size()) / static_cast<double>(y.size());
      for (double& v : y) v /= count;
    }
    return fromDoubles(n.type.dtype, out, y);
  }
  default: break;
  }
  // One-axis ops: walk each line along the axis.
  AxisSplit sp = splitAt(s, axes[0]);
  std::vector<double> y(n.op == OpKind::ArgMax ? sp.outer * sp.inner : x.size());
  for (int64_t o = 0; o < sp.outer; ++o)
    for (int64_t i = 0; i < sp.inner; ++i) {
      auto at = [&](int64_t k) { return o * sp.len * sp.inner + k * sp.inner + i; };
      double best = -inf;
      int64_t bestK = 0;
      for (int64_t k = 0; k < sp.len; ++k)
        if (x[at(k)] > best) { best = x[at(k)]; bestK = k; }
      if (n.op == OpKind::ArgMax) { y[o * sp.inner + i] = static_cast<double>(bestK); continue; }
      double total = 0;
      for (int64_t k = 0; k < sp.len; ++k) total += std::exp(x[at(k)] - best);
      for (int64_t k = 0; k < sp.len; ++k)
        y[at(k)] = n.op == OpKind::Softmax ? std::exp(x[at(k)] - best) / total
                                           : x[at(k)] - best - std::log(total);
    }
  return fromDoubles(n.type.dtype, out, y);
}

OperandGrads gradReduce(GraphBuilder& b, const Node& n, ValueId y, ValueId g) {
  const ValueId x = n.operands[0];
  const TensorType xt = b.type(x);
  std::vector<int64_t> axes = *normalizeAxes(n.attrs.axes, xt.rank(), 0);
  // Reshapes a reduced value to keepdims form so it broadcasts against x.
  auto kept = [&](ValueId v) {
    return n.attrs.keepdims ? v : must(b.reshape(v, reducedDims(xt.dims, axes, true)));
  };
  switch (n.op) {
  case OpKind::Sum: return {must(b.broadcastTo(kept(g), xt.dims))};
  case OpKind::Mean: {
    ValueId spread = must(b.broadcastTo(kept(g), xt.dims));
    return {must(b.div(spread, must(b.numElements(x, axes, xt.dtype))))};
  }
  case OpKind::Max:
  case OpKind::Min: {
    // Ties share the gradient evenly (as PyTorch's amax/amin).
    ValueId mask = must(b.cast(must(b.equal(x, kept(y))), xt.dtype));
    ValueId count = must(b.sum(mask, axes, true));
    return {must(b.mul(mask, must(b.div(kept(g), count))))};
  }
  case OpKind::Softmax: {
    ValueId gy = must(b.sum(must(b.mul(g, y)), axes, true));
    return {must(b.mul(y, must(b.sub(g, gy))))};
  }
  case OpKind::LogSoftmax: {
    ValueId gs = must(b.sum(g, axes, true));
    return {must(b.sub(g, must(b.mul(must(b.exp(y)), gs))))};
  }
  default: return {std::nullopt}; // argmax
  }
}

} // namespace ops
} // namespace bdl::ir
