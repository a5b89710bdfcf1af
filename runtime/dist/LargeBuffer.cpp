#include "runtime/dist/LargeBuffer.h"

#include "runtime/dist/DistError.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/mman.h>

namespace bdl::dist {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}

LargeAllocation::LargeAllocation(size_t bytes) {
  if (bytes == 0)
    return;
  // Below one huge page there is nothing to gain; map exactly.
  const bool huge = bytes >= kHugePage;
  const size_t length = huge ? (bytes + kHugePage - 1) / kHugePage * kHugePage : bytes;
  // Over-map by one huge page so the start can sit on a 2 MiB boundary: a
  // huge page needs an aligned virtual range.
  const size_t request = huge ? length + kHugePage : length;
  void* p = ::mmap(nullptr, request, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw DistError("cannot map " + std::to_string(bytes) + " bytes for parameter synchronization: " +
                    std::strerror(errno));
  auto* base = static_cast<uint8_t*>(p);
  uint8_t* start = base;
  if (huge) {
    const auto addr = reinterpret_cast<uintptr_t>(base);
    start = base + ((kHugePage - addr % kHugePage) % kHugePage);
    // Give back the parts outside [start, start + length).
    if (start > base)
      ::munmap(base, static_cast<size_t>(start - base));
    const size_t tail = request - static_cast<size_t>(start - base) - length;
    if (tail > 0)
      ::munmap(start + length, tail);
    // Advice only: a kernel without THP keeps 4 KiB pages, which work.
    huge_ = ::madvise(start, length, MADV_HUGEPAGE) == 0;
  }
  data_ = start;
  size_ = bytes;
  mapped_ = length;
}

LargeAllocation::~LargeAllocation() { release(); }

LargeAllocation::LargeAllocation(LargeAllocation&& o) noexcept
    : data_(o.data_), size_(o.size_), mapped_(o.mapped_), huge_(o.huge_) {
  o.data_ = nullptr;
  o.size_ = o.mapped_ = 0;
  o.huge_ = false;
}

LargeAllocation& LargeAllocation::operator=(LargeAllocation&& o) noexcept {
  if (this != &o) {
    release();
    data_ = o.data_;
    size_ = o.size_;
    mapped_ = o.mapped_;
    huge_ = o.huge_;
    o.data_ = nullptr;
    o.size_ = o.mapped_ = 0;
    o.huge_ = false;
  }
  return *this;
}

void LargeAllocation::release() {
  if (data_)
    ::munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
  huge_ = false;
}

} // namespace bdl::dist
