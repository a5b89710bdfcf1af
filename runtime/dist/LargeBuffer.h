// Zero-filled arrays for the big per-sync buffers (the owner's sum and
// master weights, socket receive buffers), mapped on 2 MiB boundaries with
// transparent huge pages requested (MADV_HUGEPAGE; the kernel may decline,
// e.g. when THP is "never"). A sync streams through tens of MiB per pass,
// and with 4 KiB pages every page costs a TLB miss (a two-level walk in a
// VM); with 2 MiB pages the walks all but vanish. Pages are not touched
// here: the first sync faults them in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace bdl::dist {

// Untyped storage: `bytes` zero bytes, or nothing for 0. Throws DistError if
// the mapping fails.
class LargeAllocation {
public:
  LargeAllocation() = default;
  explicit LargeAllocation(size_t bytes);
  ~LargeAllocation();
  LargeAllocation(LargeAllocation&& o) noexcept;
  LargeAllocation& operator=(LargeAllocation&& o) noexcept;
  void* data() const { return data_; }
  size_t size() const { return size_; }
  // Whether the kernel was asked for huge pages (the mapping was large
  // enough and madvise accepted it); for tests.
  bool hugePagesRequested() const { return huge_; }

private:
  void release();
  void* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
  bool huge_ = false;
};

// A fixed-size array of trivially copyable T on a LargeAllocation.
template <class T>
class LargeBuffer {
public:
  LargeBuffer() = default;
  explicit LargeBuffer(size_t n) : storage_(n * sizeof(T)), size_(n) {}
  LargeBuffer(LargeBuffer&& o) noexcept : storage_(std::move(o.storage_)), size_(std::exchange(o.size_, 0)) {}
  LargeBuffer& operator=(LargeBuffer&& o) noexcept {
    if (this != &o) {
      storage_ = std::move(o.storage_);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  T* data() { return static_cast<T*>(storage_.data()); }
  const T* data() const { return static_cast<const T*>(storage_.data()); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  operator std::span<T>() { return {data(), size_}; }
  operator std::span<const T>() const { return {data(), size_}; }
  bool hugePagesRequested() const { return storage_.hugePagesRequested(); }

private:
  LargeAllocation storage_;
  size_t size_ = 0;
};

} // namespace bdl::dist
