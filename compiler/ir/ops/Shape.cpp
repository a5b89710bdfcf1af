// Shape ops: reshape (and flatten, built on it), broadcast_to, concat, slice,
// pad (slice's gradient), one_hot, num_elements (a shape-derived scalar that
// lets gradients of means divide by a symbolic count). Shape rule, kernel and
// gradient of each op.
#include "compiler/ir/ops/Common.h"
#include "compiler/ir/ops/Families.h"

#include <algorithm>
#include <cstring>

namespace bdl::ir {

namespace {
// A product of dims as (concrete factor) * (multiset of symbols).
struct Factored {
  int64_t value = 1;
  std::vector<std::string> symbols; // sorted
  bool operator==(const Factored&) const = default;
};

Factored factor(const Dims& dims) {
  Factored f;
  for (const Dim& d : dims) {
    f.value *= d.value;
    if (d.isSymbolic()) f.symbols.push_back(d.symbol);
  }
  std::sort(f.symbols.begin(), f.symbols.end());
  return f;
}

std::string factoredToString(const Factored& f) {
  std::string s = std::to_string(f.value);
  for (const std::string& sym : f.symbols) s += "*" + sym;
  return s;
}
} // namespace

Expected<ValueId> GraphBuilder::reshape(ValueId x, Dims target) {
  if (x >= graph().size()) return addOp(OpKind::Reshape, {x});
  int inferred = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (!target[i].is(-1)) continue;
    if (inferred >= 0) return makeError("reshape: at most one dimension may be -1");
    inferred = static_cast<int>(i);
  }
  if (inferred >= 0) {
    Dims known = target;
    known.erase(known.begin() + inferred);
    Factored total = factor(type(x).dims), part = factor(known);
    std::vector<std::string> rest;
    bool subset = std::includes(total.symbols.begin(), total.symbols.end(), part.symbols.begin(),
                                part.symbols.end());
    std::set_difference(total.symbols.begin(), total.symbols.end(), part.symbols.begin(),
                        part.symbols.end(), std::back_inserter(rest));
    if (!subset || part.value == 0 || total.value % part.value != 0 || rest.size() > 1)
      return makeError("reshape: cannot infer the -1 dimension of " + dimsToString(target) +
                           " from " + type(x).toString() + " (" + factoredToString(total) +
                           " elements)",
                       0);
    target[inferred] = rest.empty() ? Dim::of(total.value / part.value)
                                    : Dim::sym(rest[0], total.value / part.value);
  }
  Attrs a;
  a.shape = std::move(target);
  return addOp(OpKind::Reshape, {x}, a);
}

Expected<ValueId> GraphBuilder::flatten(ValueId x, int64_t start, int64_t end) {
  if (x >= graph().size()) return addOp(OpKind::Reshape, {x});
  const Dims& d = type(x).dims;
  auto s = ops::normalizeAxis(start, type(x).rank()), e = ops::normalizeAxis(end, type(x).rank());
  if (!s)
    return makeError("flatten: start " + std::to_string(start) + " is out of range for a tensor of rank " +
                         std::to_string(type(x).rank()) + " (" + type(x).toString() + ")",
                     0);
  if (!e || *s > *e)
    return makeError("flatten: dimensions " + std::to_string(start) + ".." + std::to_string(end) +
                         " are not a valid range of " + type(x).toString(),
                     0);
  auto merged = ops::dimProduct(Dims(d.begin() + *s, d.begin() + *e + 1));
  if (!merged)
    return makeError("flatten: cannot merge two symbolic dimensions of " + type(x).toString(), 0);
  Dims target(d.begin(), d.begin() + *s);
  target.push_back(*merged);
  target.insert(target.end(), d.begin() + *e + 1, d.end());
  return reshape(x, target);
}

Expected<ValueId> GraphBuilder::concat(std::vector<ValueId> xs, int64_t axis) {
  Attrs a;
  a.axes = {axis};
  return addOp(OpKind::Concat, std::move(xs), a);
}

Expected<ValueId> GraphBuilder::slice(ValueId x, int64_t axis, int64_t start, int64_t end) {
  Attrs a;
  a.axes = {axis};
  a.start = start;
  a.end = end;
  // Python-style negative bounds count from the end of a concrete axis.
  if (x < graph().size()) {
    auto ax = ops::normalizeAxis(axis, type(x).rank());
    if (ax && type(x).dims[*ax].isConcrete()) {
      int64_t len = type(x).dims[*ax].value;
      if (a.start < 0) a.start += len;
      if (a.end < 0) a.end += len;
    }
  }
  return addOp(OpKind::Slice, {x}, a);
}

Expected<ValueId> GraphBuilder::oneHot(ValueId labels, int64_t classes, DType dtype) {
  Attrs a;
  a.count = classes;
  a.dtype = dtype;
  return addOp(OpKind::OneHot, {labels}, a);
}

Expected<ValueId> GraphBuilder::broadcastTo(ValueId x, Dims target) {
  Attrs a;
  a.shape = std::move(target);
  return addOp(OpKind::BroadcastTo, {x}, a);
}

Expected<ValueId> GraphBuilder::pad(ValueId x, int64_t axis, int64_t before, int64_t after) {
  Attrs a;
  a.axes = {axis};
  a.start = before;
  a.end = after;
  return addOp(OpKind::Pad, {x}, a);
}

Expected<ValueId> GraphBuilder::numElements(ValueId x, std::vector<int64_t> axes, DType dtype) {
  Attrs a;
  a.axes = std::move(axes);
  a.dtype = dtype;
  return addOp(OpKind::NumElements, {x}, a);
}

namespace ops {

static Expected<int64_t> oneAxis(const Attrs& attrs, const TensorType& t, std::string_view op) {
  auto a = attrs.axes.size() == 1 ? normalizeAxis(attrs.axes[0], t.rank()) : std::nullopt;
  if (!a)
    return makeError(std::string(op) + ": axis " +
                         (attrs.axes.empty() ? std::string("?") : std::to_string(attrs.axes[0])) +
                         " is out of range for " + t.toString(),
                     0);
  return *a;
}

Expected<TensorType> inferShape(OpKind op, std::span<const TensorType> in, const Attrs& attrs) {
  const TensorType& x = in[0];
  switch (op) {
  case OpKind::Reshape: {
    if (factor(x.dims) != factor(attrs.shape))
      return makeError("reshape: cannot reshape " + x.toString() + " (" +
                           factoredToString(factor(x.dims)) + " elements) to " +
                           dimsToString(attrs.shape) + " (" +
                           factoredToString(factor(attrs.shape)) + " elements)",
                       0);
    return TensorType{x.dtype, attrs.shape};
  }
  case OpKind::BroadcastTo: {
    auto d = broadcastDims(x.dims, 0, attrs.shape, 1);
    if (!d || *d != attrs.shape)
      return makeError("broadcast_to: cannot broadcast " + x.toString() + " to " +
                           dimsToString(attrs.shape),
                       0);
    return TensorType{x.dtype, attrs.shape};
  }
  case OpKind::Concat: {
    auto axis = oneAxis(attrs, x, "concat");
    if (!axis) return axis.error();
    Dim total = x.dims[*axis];
    for (size_t i = 1; i < in.size(); ++i) {
      int op_i = static_cast<int>(i);
      if (in[i].dtype != x.dtype) return dtypeMismatch(x, 0, in[i], op_i);
      if (in[i].rank() != x.rank())
        return makeError("concat: ranks differ: " + describe(x, 0) + " vs " + describe(in[i], op_i),
                         op_i);
      for (int64_t d = 0; d < x.rank(); ++d)
        if (d != *axis && in[i].dims[d] != x.dims[d])
          return makeError("concat along axis " + std::to_string(*axis) + ": dimension " +
                               std::to_string(d) + " differs: " + describe(x, 0) + " vs " +
                               describe(in[i], op_i),
                           op_i, static_cast<int>(d));
      const Dim& di = in[i].dims[*axis];
      if (di.symbol != total.symbol)
        return makeError("concat: cannot add dimensions " + total.toString() + " and " +
                             di.toString() + " along axis " + std::to_string(*axis),
                         op_i, static_cast<int>(*axis));
      total.value += di.value;
    }
    Dims out = x.dims;
    out[*axis] = total;
    return TensorType{x.dtype, out};
  }
  case OpKind::Slice:
  case OpKind::Pad: {
    auto axis = oneAxis(attrs, x, opName(op));
    if (!axis) return axis.error();
    const Dim& d = x.dims[*axis];
    if (d.isSymbolic())
      return makeError(std::string(opName(op)) + " along the symbolic dimension " + d.toString() +
                           " of " + x.toString() + " is not supported",
                       0, static_cast<int>(*axis));
    Dims out = x.dims;
    if (op == OpKind::Slice) {
      if (attrs.start < 0 || attrs.start > attrs.end || attrs.end > d.value)
        return makeError("slice [" + std::to_string(attrs.start) + ", " +
                             std::to_string(attrs.end) + ") is out of range for dimension " +
                             std::to_string(*axis) + " of " + x.toString(),
                         0, static_cast<int>(*axis));
      out[*axis] = Dim::of(attrs.end - attrs.start);
    } else {
      if (attrs.start < 0 || attrs.end < 0) return makeError("pad: negative padding", 0);
      out[*axis] = Dim::of(d.value + attrs.start + attrs.end);
    }
    return TensorType{x.dtype, out};
  }
  case OpKind::OneHot: {
    if (auto r = requireInteger(x, 0, "one_hot"); !r) return r.error();
    if (attrs.count < 1) return makeError("one_hot: the number of classes must be positive");
    Dims out = x.dims;
    out.push_back(Dim::of(attrs.count));
    return TensorType{attrs.dtype, out};
  }
  case OpKind::NumElements: {
    auto axes = normalizeAxes(attrs.axes, x.rank(), 0);
    if (!axes) return axes.error();
    return scalarType(attrs.dtype);
  }
  default: return makeError("not a shape op");
  }
}

// Copies `rows` blocks of `len` doubles from src (stride srcStride) to dst
// (stride dstStride).
static void copyBlocks(const double* src, int64_t srcStride, double* dst, int64_t dstStride,
                       int64_t rows, int64_t len) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * dstStride, src + r * srcStride, static_cast<size_t>(len) * sizeof(double));
}

Tensor runShape(const Node& n, std::span<const Tensor> in) {
  Shape out = concreteShape(n.type);
  std::vector<double> y(static_cast<size_t>(numElements(out)), 0.0);
  switch (n.op) {
  case OpKind::Reshape: return in[0].clone().reshaped(out);
  case OpKind::BroadcastTo: {
    std::vector<double> x = toDoubles(in[0]);
    auto idx = broadcastIndex(in[0].shape(), out);
    for (size_t i = 0; i < y.size(); ++i) y[i] = x[idx[i]];
    break;
  }
  case OpKind::Concat: {
    int64_t axis = *normalizeAxis(n.attrs.axes[0], n.type.rank());
    AxisSplit o = splitAt(out, axis);
    int64_t offset = 0;
    for (const Tensor& t : in) {
      AxisSplit s = splitAt(t.shape(), axis);
      std::vector<double> x = toDoubles(t);
      copyBlocks(x.data(), s.len * s.inner, y.data() + offset * o.inner, o.len * o.inner, s.outer,
                 s.len * s.inner);
      offset += s.len;
    }
    break;
  }
  case OpKind::Slice:
  case OpKind::Pad: {
    int64_t axis = *normalizeAxis(n.attrs.axes[0], n.type.rank());
    AxisSplit s = splitAt(in[0].shape(), axis), o = splitAt(out, axis);
    std::vector<double> x = toDoubles(in[0]);
    if (n.op == OpKind::Slice)
      copyBlocks(x.data() + n.attrs.start * s.inner, s.len * s.inner, y.data(), o.len * o.inner,
                 s.outer, o.len * o.inner);
    else
      copyBlocks(x.data(), s.len * s.inner, y.data() + n.attrs.start * o.inner, o.len * o.inner,
                 s.outer, s.len * s.inner);
    break;
  }
  case OpKind::OneHot: {
    std::vector<double> labels = toDoubles(in[0]);
    int64_t classes = n.attrs.count;
    for (size_t i = 0; i < labels.size(); ++i) {
      int64_t c = static_cast<int64_t>(labels[i]);
      if (c >= 0 && c < classes) y[i * classes + c] = 1.0; // out-of-range labels: all zeros
    }
    break;
  }
  case OpKind::NumElements: {
    auto axes = *normalizeAxes(n.attrs.axes, in[0].rank(), 0);
    double count = 1;
    for (int64_t a : axes) count *= static_cast<double>(in[0].shape()[a]);
    y[0] = count;
    break;
  }
  default: BDL_IR_CHECK(false, "not a shape op");
  }
  return fromDoubles(n.type.dtype, out, y);
}

OperandGrads gradShape(GraphBuilder& b, const Node& n, ValueId, ValueId g) {
  const TensorType xt = b.type(n.operands[0]);
  switch (n.op) {
  case OpKind::Reshape: return {must(b.reshape(g, xt.dims))};
  case OpKind::BroadcastTo: return {reduceToType(b, g, xt)};
  case OpKind::Concat: {
    int64_t axis = *normalizeAxis(n.attrs.axes[0], n.type.rank());
    OperandGrads out;
    int64_t offset = 0;
    for (ValueId v : n.operands) {
      int64_t len = b.type(v).dims[axis].value;
      out.push_back(must(b.slice(g, axis, offset, offset + len)));
      offset += len;
    }
    return out;
  }
  case OpKind::Slice: {
    int64_t axis = *normalizeAxis(n.attrs.axes[0], n.type.rank());
    return {must(b.pad(g, axis, n.attrs.start, xt.dims[axis].value - n.attrs.end))};
  }
  case OpKind::Pad: {
    int64_t axis = *normalizeAxis(n.attrs.axes[0], n.type.rank());
    return {must(b.slice(g, axis, n.attrs.start, n.attrs.start + xt.dims[axis].value))};
  }
  default: return OperandGrads(n.operands.size()); // one_hot, num_elements
  }
}

} // namespace ops
} // namespace bdl::ir
