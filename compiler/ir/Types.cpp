#include "compiler/ir/Types.h"

namespace bdl::ir {

std::string Dim::toString() const {
  if (symbol.empty()) return std::to_string(value);
  if (value == 1) return symbol;
  return std::to_string(value) + "*" + symbol;
}

Dims dimsOf(const Shape& shape) {
  Dims dims;
  for (int64_t d : shape) dims.push_back(Dim::of(d));
  return dims;
}

std::string dimsToString(const Dims& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) out += ", ";
    out += dims[i].toString();
  }
  return out + "]";
}

bool TensorType::isConcrete() const {
  for (const Dim& d : dims)
    if (d.isSymbolic()) return false;
  return true;
}

std::optional<Shape> TensorType::shape() const {
  if (!isConcrete()) return std::nullopt;
  Shape s;
  for (const Dim& d : dims) s.push_back(d.value);
  return s;
}

std::string TensorType::toString() const {
  return std::string(dtypeName(dtype)) + dimsToString(dims);
}

} // namespace bdl::ir
