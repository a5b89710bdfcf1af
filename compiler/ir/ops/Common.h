// Internal helpers shared by the op families: dimension arithmetic for shape
// rules, dtype-erased element access for kernels (kernels compute in double,
// which is exact for every f32 and for integers below 2^53), index maps for
// broadcasting and reductions, and small gradient-building helpers.
#pragma once

#include "compiler/ir/Builder.h"

#include <optional>
#include <string>
#include <vector>

namespace bdl::ir::ops {

// --- Shape-rule helpers -------------------------------------------------------
std::string describe(const TensorType& t, int operand); // "operand 1 (f32[N, 3])"
// Normalises a possibly negative axis; nullopt if out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);
// Normalises, range-checks and sorts axes (empty = all dims).
Expected<std::vector<int64_t>> normalizeAxes(const std::vector<int64_t>& axes, int64_t rank,
                                             int operand);
// NumPy broadcasting of two operands; the error names both shapes and the dim.
Expected<Dims> broadcastDims(const Dims& a, int opA, const Dims& b, int opB);
Error dtypeMismatch(const TensorType& a, int opA, const TensorType& b, int opB);
Expected<TensorType> requireFloat(const TensorType& t, int operand, std::string_view op);
Expected<TensorType> requireInteger(const TensorType& t, int operand, std::string_view op);
Expected<TensorType> requireRank(const TensorType& t, int operand, int64_t rank,
                                 std::string_view op);
// Product of dims (nullopt if two different symbols would multiply).
std::optional<Dim> dimProduct(const Dims& dims);

// --- Kernel helpers --------------------------------------------------------------
std::vector<double> toDoubles(const Tensor& t);
Tensor fromDoubles(DType dtype, const Shape& shape, const std::vector<double>& values);
Shape concreteShape(const TensorType& t); // InternalError if symbolic
std::vector<int64_t> stridesOf(const Shape& shape);
// For each linear index of `out`, the linear index of the element of `in`
// it reads under broadcasting (in's rank <= out's rank).
std::vector<int64_t> broadcastIndex(const Shape& in, const Shape& out);
// For each linear index of `in`, the linear index of its reduction slot
// when `axes` (sorted) are reduced away.
std::vector<int64_t> reduceIndex(const Shape& in, const std::vector<int64_t>& axes);
// Splits a shape at `axis` into outer * len * inner.
struct AxisSplit {
  int64_t outer = 1, len = 1, inner = 1;
};
AxisSplit splitAt(const Shape& shape, int64_t axis);

// --- Gradient helpers ---------------------------------------------------------------
// Unwraps a builder result inside a gradient rule: failure is a bug.
ValueId must(Expected<ValueId> v);
// Sums `g` over the dimensions along which `target` was broadcast, so the
// result has exactly target's dims.
ValueId reduceToType(GraphBuilder& b, ValueId g, TensorType target);
ValueId scalarLike(GraphBuilder& b, double v, ValueId like); // rank-0, like's dtype

} // namespace bdl::ir::ops
