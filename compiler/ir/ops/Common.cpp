#include "compiler/ir/ops/Common.h"

#include <algorithm>

namespace bdl::ir::ops {

std::string describe(const TensorType& t, int operand) {
  return "operand " + std::to_string(operand) + " (" + t.toString() + ")";
}

std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return std::nullopt;
  return axis;
}

Expected<std::vector<int64_t>> normalizeAxes(const std::vector<int64_t>& axes, int64_t rank,
                                             int operand) {
  std::vector<int64_t> out;
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (int64_t a : axes) {
    auto n = normalizeAxis(a, rank);
    if (!n)
      return makeError("axis " + std::to_string(a) + " is out of range for a tensor of rank " +
                           std::to_string(rank),
                       operand);
    if (std::find(out.begin(), out.end(), *n) != out.end())
      return makeError("axis " + std::to_string(a) + " is repeated", operand);
    out.push_back(*n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Expected<Dims> broadcastDims(const Dims& a, int opA, const Dims& b, int opB) {
  size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Align from the right.
    bool hasA = i + a.size() >= rank, hasB = i + b.size() >= rank;
    size_t ia = i + a.size() - rank, ib = i + b.size() - rank;
    if (!hasA) { out[i] = b[ib]; continue; }
    if (!hasB) { out[i] = a[ia]; continue; }
    const Dim &da = a[ia], &db = b[ib];
    if (da == db || db.is(1)) out[i] = da;
    else if (da.is(1)) out[i] = db;
    else
      return makeError("cannot broadcast operand " + std::to_string(opA) + " " +
                           dimsToString(a) + " with operand " + std::to_string(opB) + " " +
                           dimsToString(b) + ": dimension " + std::to_string(ia) +
                           " of operand " + std::to_string(opA) + " is " + da.toString() +
                           " but dimension " + std::to_string(ib) + " of operand " +
                           std::to_string(opB) + " is " + db.toString(),
                       opB, static_cast<int>(ib));
  }
  return out;
}

Error dtypeMismatch(const TensorType& a, int opA, const TensorType& b, int opB) {
  return makeError("element types differ: " + describe(a, opA) + " vs " + describe(b, opB) +
                       "; hint: cast one of them",
                   opB);
}

Expected<TensorType> requireFloat(const TensorType& t, int operand, std::string_view op) {
  if (!isFloating(t.dtype))
    return makeError(std::string(op) + " needs a floating-point tensor (f32 or f64), got " +
                         describe(t, operand),
                     operand);
  return t;
}

Expected<TensorType> requireInteger(const TensorType& t, int operand, std::string_view op) {
  if (t.dtype != DType::I32 && t.dtype != DType::I64)
    return makeError(std::string(op) + " needs an integer tensor (i32 or i64), got " +
                         describe(t, operand),
                     operand);
  return t;
}

Expected<TensorType> requireRank(const TensorType& t, int operand, int64_t rank,
                                 std::string_view op) {
  if (t.rank() != rank)
    return makeError(std::string(op) + " needs a rank-" + std::to_string(rank) + " tensor, got " +
                         describe(t, operand),
                     operand);
  return t;
}

std::optional<Dim> dimProduct(const Dims& dims) {
  Dim p = Dim::of(1);
  for (const Dim& d : dims) {
    if (d.isSymbolic()) {
      if (p.isSymbolic()) return std::nullopt;
      p.symbol = d.symbol;
    }
    p.value *= d.value;
  }
  return p;
}

// --- Kernel helpers -----------------------------------------------------------------

std::vector<double> toDoubles(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  auto copy = [&](auto* p) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  };
  switch (t.dtype()) {
  case DType::F32: copy(t.data<float>()); break;
  case DType::F64: copy(t.data<double>()); break;
  case DType::I32: copy(t.data<int32_t>()); break;
  case DType::I64: copy(t.data<int64_t>()); break;
  case DType::Bool: copy(t.data<bool>()); break;
  }
  return out;
}

Tensor fromDoubles(DType dtype, const Shape& shape, const std::vector<double>& values) {
  Tensor t(dtype, shape);
  BDL_IR_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "value count != shape size");
  auto copy = [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    for (size_t i = 0; i < values.size(); ++i) {
      if constexpr (std::is_same_v<T, bool>) p[i] = values[i] != 0;
      else p[i] = static_cast<T>(values[i]);
    }
  };
  switch (dtype) {
  case DType::F32: copy(t.data<float>()); break;
  case DType::F64: copy(t.data<double>()); break;
  case DType::I32: copy(t.data<int32_t>()); break;
  case DType::I64: copy(t.data<int64_t>()); break;
  case DType::Bool: copy(t.data<bool>()); break;
  }
  return t;
}

Shape concreteShape(const TensorType& t) {
  auto s = t.shape();
  BDL_IR_CHECK(s.has_value(), "symbolic type " + t.toString() + " reached a kernel; specialize first");
  return *s;
}

std::vector<int64_t> stridesOf(const Shape& shape) {
  std::vector<int64_t> st(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    st[i] = st[i + 1] * shape[i + 1];
  return st;
}

std::vector<int64_t> broadcastIndex(const Shape& in, const Shape& out) {
  BDL_IR_CHECK(in.size() <= out.size(), "broadcast to a lower rank");
  size_t shift = out.size() - in.size();
  std::vector<int64_t> inStrides = stridesOf(in);
  // Stride of each output dim into `in` (0 where broadcast).
  std::vector<int64_t> st(out.size(), 0);
  for (size_t i = 0; i < in.size(); ++i) st[i + shift] = in[i] == 1 ? 0 : inStrides[i];
  std::vector<int64_t> map(static_cast<size_t>(numElements(out)));
  std::vector<int64_t> idx(out.size(), 0);
  int64_t off = 0;
  for (size_t lin = 0; lin < map.size(); ++lin) {
    map[lin] = off;
    for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) { off += st[d]; break; }
      off -= st[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
  return map;
}

std::vector<int64_t> reduceIndex(const Shape& in, const std::vector<int64_t>& axes) {
  Shape kept = in;
  for (int64_t a : axes) kept[a] = 1;
  return broadcastIndex(kept, in);
}

AxisSplit splitAt(const Shape& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < axis) s.outer *= shape[i];
    else if (i == axis) s.len = shape[i];
    else s.inner *= shape[i];
  }
  return s;
}

// --- Gradient helpers ------------------------------------------------------------------

ValueId must(Expected<ValueId> v) {
  BDL_IR_CHECK(v.ok(), "gradient rule built an ill-typed node: " +
                           (v.ok() ? std::string() : v.error().message));
  return *v;
}

ValueId reduceToType(GraphBuilder& b, ValueId g, TensorType target) {
  const TensorType gt = b.type(g);
  if (gt.dims == target.dims) return g;
  int64_t lead = gt.rank() - target.rank();
  BDL_IR_CHECK(lead >= 0, "gradient of lower rank than its operand");
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < gt.rank(); ++i)
    if (i < lead || (target.dims[i - lead].is(1) && !gt.dims[i].is(1))) axes.push_back(i);
  ValueId s = axes.empty() ? g : must(b.sum(g, axes, /*keepdims=*/true));
  if (b.type(s).dims == target.dims) return s;
  return must(b.reshape(s, target.dims));
}

ValueId scalarLike(GraphBuilder& b, double v, ValueId like) {
  return b.scalar(v, b.type(like).dtype);
}

} // namespace bdl::ir::ops
