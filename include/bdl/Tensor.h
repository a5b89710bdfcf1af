// A dense, row-major tensor over reference-counted, 64-byte aligned storage.
// Copies of a Tensor share storage (views); clone() is the only deep copy, so
// no copy is ever hidden.
#pragma once

#include "bdl/DType.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace bdl {

using Shape = std::vector<int64_t>;

int64_t numElements(const Shape& shape);
std::string shapeToString(const Shape& shape); // "[2, 3]"

class Storage {
public:
  explicit Storage(size_t bytes); // zero-filled
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

class Tensor {
public:
  Tensor() = default;
  // A new zero-filled tensor.
  Tensor(DType dtype, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numElements(shape_); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtypeSize(dtype_); }
  bool defined() const { return storage_ != nullptr; }

  void* rawData() { return static_cast<char*>(storage_->data()) + offsetBytes_; }
  const void* rawData() const {
    return static_cast<const char*>(storage_->data()) + offsetBytes_;
  }
  template <typename T> T* data() { return static_cast<T*>(rawData()); }
  template <typename T> const T* data() const { return static_cast<const T*>(rawData()); }
  template <typename T> std::span<T> span() { return {data<T>(), static_cast<size_t>(numel())}; }
  template <typename T> std::span<const T> span() const {
    return {data<T>(), static_cast<size_t>(numel())};
  }

  // Same storage, another shape with the same element count.
  Tensor reshaped(Shape shape) const;
  // Same storage: `shape`'s elements starting at element `offset` of this
  // tensor's (row-major) elements, which must hold them.
  Tensor view(int64_t offset, Shape shape) const;
  Tensor clone() const;

private:
  DType dtype_ = DType::F32;
  Shape shape_;
  std::shared_ptr<Storage> storage_;
  size_t offsetBytes_ = 0;
};

} // namespace bdl
