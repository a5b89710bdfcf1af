#include "runtime/tensor/Tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace bdl {

std::optional<DType> dtypeFromName(std::string_view name) {
  for (DType t : {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool})
    if (dtypeName(t) == name) return t;
  return std::nullopt;
}

int64_t numElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shapeToString(const Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

static constexpr size_t kAlignment = 64;

Storage::Storage(size_t bytes) : bytes_(bytes) {
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  data_ = std::aligned_alloc(kAlignment, rounded);
  if (!data_) throw std::bad_alloc();
  std::memset(data_, 0, rounded);
}

Storage::~Storage() { std::free(data_); }

Tensor::Tensor(DType dtype, Shape shape)
    : dtype_(dtype), shape_(std::move(shape)),
      storage_(std::make_shared<Storage>(static_cast<size_t>(numElements(shape_)) *
                                         dtypeSize(dtype))) {}

Tensor Tensor::reshaped(Shape shape) const {
  if (numElements(shape) != numel())
    throw std::invalid_argument("reshape from " + shapeToString(shape_) + " to " +
                                shapeToString(shape) + " changes the element count");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::view(int64_t offset, Shape shape) const {
  if (offset < 0 || offset + numElements(shape) > numel())
    throw std::invalid_argument("a view of " + shapeToString(shape) + " at element " + std::to_string(offset) +
                                " does not fit in " + shapeToString(shape_));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.offsetBytes_ += static_cast<size_t>(offset) * dtypeSize(dtype_);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (bytes()) std::memcpy(t.rawData(), rawData(), bytes());
  return t;
}

} // namespace bdl
