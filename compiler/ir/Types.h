// Tensor types of the IR: an element type and a list of dimensions, each a
// concrete size or `factor * SYMBOL` (a symbolic batch dimension such as N,
// or 784*N after flattening). specialize() makes them all concrete.
#pragma once

#include "runtime/tensor/Tensor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bdl::ir {

struct Dim {
  int64_t value = 0;  // the size, or the factor multiplying `symbol`
  std::string symbol; // empty for a concrete dimension

  static Dim of(int64_t v) { return Dim{v, {}}; }
  static Dim sym(std::string name, int64_t factor = 1) { return Dim{factor, std::move(name)}; }
  bool isSymbolic() const { return !symbol.empty(); }
  bool isConcrete() const { return symbol.empty(); }
  bool is(int64_t v) const { return symbol.empty() && value == v; }
  bool operator==(const Dim&) const = default;
  std::string toString() const; // "784", "N", "784*N"
};

using Dims = std::vector<Dim>;

Dims dimsOf(const Shape& shape);
std::string dimsToString(const Dims& dims); // "[N, 784]"

struct TensorType {
  DType dtype = DType::F32;
  Dims dims;

  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  bool isConcrete() const;
  // The shape when every dimension is concrete.
  std::optional<Shape> shape() const;
  bool operator==(const TensorType&) const = default;
  std::string toString() const; // "f32[N, 784]"; a scalar is "f32[]"
};

inline TensorType scalarType(DType t) { return TensorType{t, {}}; }

} // namespace bdl::ir
