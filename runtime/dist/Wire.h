// Little-endian byte writer and bounds-checked reader for frame payloads.
// The reader never reads past its span: every getter checks the remaining
// length first and reports failure instead of trusting any length field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bdl::dist {

class ByteWriter {
public:
  void u8(uint8_t v) { bytes_.push_back(v); }
  void u16(uint16_t v) { putLE(v, 2); }
  void u32(uint32_t v) { putLE(v, 4); }
  void u64(uint64_t v) { putLE(v, 8); }
  void raw(std::span<const uint8_t> data) { append(data.data(), data.size()); }
  // A string with a one-byte length; callers bound it to 255 bytes first.
  void shortString(std::string_view s) {
    u8(static_cast<uint8_t>(s.size()));
    append(s.data(), s.size());
  }
  // A string with a two-byte length; callers bound it to 65535 bytes first.
  void longString(std::string_view s) {
    u16(static_cast<uint16_t>(s.size()));
    append(s.data(), s.size());
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

private:
  // resize + memcpy rather than insert(): GCC 12 at -O3 reports a false
  // -Warray-bounds on vector::insert from short constant strings.
  void append(const void* data, size_t n) {
    if (n == 0)
      return;
    size_t at = bytes_.size();
    bytes_.resize(at + n);
    std::memcpy(bytes_.data() + at, data, n);
  }
  void putLE(uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> bytes_;
};

// Reads from a fixed span; after the first failed read ok() stays false and
// every further read returns zero, so parsers check ok() once at the end.
class ByteReader {
public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}
  uint8_t u8() { return static_cast<uint8_t>(getLE(1)); }
  uint16_t u16() { return static_cast<uint16_t>(getLE(2)); }
  uint32_t u32() { return static_cast<uint32_t>(getLE(4)); }
  uint64_t u64() { return getLE(8); }
  bool raw(std::span<uint8_t> out) {
    if (!take(out.size()))
      return false;
    if (!out.empty())
      std::memcpy(out.data(), data_.data() + pos_ - out.size(), out.size());
    return true;
  }
  std::string shortString() { return str(u8()); }
  std::string longString() { return str(u16()); }
  bool ok() const { return ok_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool atEnd() const { return ok_ && pos_ == data_.size(); }

private:
  bool take(size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }
  uint64_t getLE(int n) {
    if (!take(static_cast<size_t>(n)))
      return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(data_[pos_ - n + i]) << (8 * i);
    return v;
  }
  std::string str(size_t n) {
    if (!take(n))
      return {};
    return std::string(reinterpret_cast<const char*>(data_.data() + pos_ - n), n);
  }
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

} // namespace bdl::dist
