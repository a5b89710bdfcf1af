// Linear algebra: matmul (2-D and batched, batch dims broadcast) and
// transpose(perm). Shape rule, reference kernel and gradient of each op.
#include "compiler/ir/ops/Common.h"
#include "compiler/ir/ops/Families.h"

#include <algorithm>
#include <numeric>

namespace bdl::ir {

Expected<ValueId> GraphBuilder::transpose(ValueId x, std::vector<int64_t> perm) {
  if (perm.empty() && x < graph().size())
    for (int64_t i = type(x).rank() - 1; i >= 0; --i) perm.push_back(i);
  Attrs a;
  a.axes = std::move(perm);
  return addOp(OpKind::Transpose, {x}, a);
}

namespace ops {

static Expected<TensorType> inferMatMul(std::span<const TensorType> in) {
  const TensorType &a = in[0], &b = in[1];
  for (int i = 0; i < 2; ++i) {
    if (in[i].rank() < 2)
      return makeError("matmul needs operands of rank >= 2, got " + describe(in[i], i), i);
    if (in[i].dtype == DType::Bool)
      return makeError("matmul is not defined on bool, got " + describe(in[i], i), i);
  }
  if (a.dtype != b.dtype) return dtypeMismatch(a, 0, b, 1);
  const Dim& k1 = a.dims[a.rank() - 1];
  const Dim& k2 = b.dims[b.rank() - 2];
  if (k1 != k2)
    return makeError("matmul: inner dimensions differ: " + describe(a, 0) + " @ " +
                         describe(b, 1) + ": " + k1.toString() + " (last of operand 0) vs " +
                         k2.toString() + " (second to last of operand 1)",
                     1, static_cast<int>(b.rank() - 2));
  Dims ba(a.dims.begin(), a.dims.end() - 2), bb(b.dims.begin(), b.dims.end() - 2);
  auto batch = broadcastDims(ba, 0, bb, 1);
  if (!batch) return makeError("matmul batch dimensions: " + batch.error().message,
                               batch.error().operand, batch.error().dim);
  Dims out = *batch;
  out.push_back(a.dims[a.rank() - 2]);
  out.push_back(b.dims[b.rank() - 1]);
  return TensorType{a.dtype, out};
}

static Expected<TensorType> inferTranspose(const TensorType& x, const std::vector<int64_t>& perm) {
  if (static_cast<int64_t>(perm.size()) != x.rank())
    return makeError("transpose: the permutation has " + std::to_string(perm.size()) +
                         " entries but the operand " + x.toString() + " has rank " +
                         std::to_string(x.rank()),
                     0);
  std::vector<bool> seen(perm.size(), false);
  Dims out;
  for (int64_t p : perm) {
    auto a = normalizeAxis(p, x.rank());
    if (!a || seen[*a])
      return makeError("transpose: the permutation is not a permutation of 0.." +
                           std::to_string(x.rank() - 1),
                       0);
    seen[*a] = true;
    out.push_back(x.dims[*a]);
  }
  return TensorType{x.dtype, out};
}

Expected<TensorType> inferLinalg(OpKind op, std::span<const TensorType> in, const Attrs& attrs) {
  if (op == OpKind::MatMul) return inferMatMul(in);
  return inferTranspose(in[0], attrs.axes);
}

static Tensor runMatMul(const Node& node, std::span<const Tensor> in) {
  const Shape &sa = in[0].shape(), &sb = in[1].shape();
  Shape out = concreteShape(node.type);
  int64_t r = static_cast<int64_t>(out.size());
  int64_t m = out[r - 2], n = out[r - 1], k = sa[sa.size() - 1];
  Shape batch(out.begin(), out.end() - 2);
  auto ia = broadcastIndex(Shape(sa.begin(), sa.end() - 2), batch);
  auto ib = broadcastIndex(Shape(sb.begin(), sb.end() - 2), batch);
  std::vector<double> a = toDoubles(in[0]), b = toDoubles(in[1]);
  std::vector<double> c(static_cast<size_t>(numElements(out)), 0.0);
  for (size_t bi = 0; bi < ia.size(); ++bi) {
    const double* A = a.data() + ia[bi] * m * k;
    const double* B = b.data() + ib[bi] * k * n;
    double* C = c.data() + bi * m * n;
    // i-p-j order: the inner loop walks rows of B and C contiguously.
    for (int64_t i = 0; i < m; ++i)
      for (int64_t p = 0; p < k; ++p) {
        double aip = A[i * k + p];
        for (int64_t j = 0; j < n; ++j) C[i * n + j] += aip * B[p * n + j];
      }
  }
  return fromDoubles(node.type.dtype, out, c);
}

static Tensor runTranspose(const Node& node, std::span<const Tensor> in) {
  const Shape& s = in[0].shape();
  Shape out = concreteShape(node.type);
  std::vector<int64_t> perm;
  for (int64_t p : node.attrs.axes) perm.push_back(*normalizeAxis(p, in[0].rank()));
  std::vector<int64_t> inStrides = stridesOf(s);
  std::vector<int64_t> st(out.size()); // stride into the input of each output dim
  for (size_t i = 0; i < perm.size(); ++i) st[i] = inStrides[perm[i]];
  std::vector<double> x = toDoubles(in[0]), y(x.size());
  std::vector<int64_t> idx(out.size(), 0);
  int64_t off = 0;
  for (size_t lin = 0; lin < y.size(); ++lin) {
    y[lin] = x[off];
    for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) { off += st[d]; break; }
      off -= st[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
  return fromDoubles(node.type.dtype, out, y);
}

Tensor runLinalg(const Node& node, std::span<const Tensor> in) {
  return node.op == OpKind::MatMul ? runMatMul(node, in) : runTranspose(node, in);
}

static ValueId swapLastTwo(GraphBuilder& b, ValueId v) {
  std::vector<int64_t> perm(static_cast<size_t>(b.type(v).rank()));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return must(b.transpose(v, perm));
}

OperandGrads gradLinalg(GraphBuilder& b, const Node& n, ValueId, ValueId g) {
  if (n.op == OpKind::MatMul) {
    ValueId a = n.operands[0], w = n.operands[1];
    ValueId ga = must(b.matmul(g, swapLastTwo(b, w)));
    ValueId gw = must(b.matmul(swapLastTwo(b, a), g));
    return {reduceToType(b, ga, b.type(a)), reduceToType(b, gw, b.type(w))};
  }
  std::vector<int64_t> inverse(n.attrs.axes.size());
  for (size_t i = 0; i < inverse.size(); ++i)
    inverse[*normalizeAxis(n.attrs.axes[i], n.type.rank())] = static_cast<int64_t>(i);
  return {must(b.transpose(g, inverse))};
}

} // namespace ops
} // namespace bdl::ir
