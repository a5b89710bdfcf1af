#include "runtime/dist/Bf16.h"

namespace bdl::dist {

// Written as plain loops over branch-free bodies so GCC vectorizes them; the
// NaN test becomes a blend.
namespace {
inline uint16_t narrow(float x) {
  uint32_t bits = std::bit_cast<uint32_t>(x);
  uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  uint32_t quietNan = (bits >> 16) | 0x0040u;
  return static_cast<uint16_t>((bits & 0x7FFFFFFFu) > 0x7F800000u ? quietNan : rounded);
}
} // namespace

BDL_WIDE_LOOP
void f32ToBf16(std::span<const float> in, std::span<uint16_t> out) {
  const float* src = in.data();
  uint16_t* dst = out.data();
  for (size_t i = 0, n = in.size(); i < n; ++i)
    dst[i] = narrow(src[i]);
}

BDL_WIDE_LOOP
void f32ToBf16Rounded(std::span<const float> in, std::span<uint16_t> out, std::span<float> rounded) {
  const float* src = in.data();
  uint16_t* dst = out.data();
  float* back = rounded.data();
  for (size_t i = 0, n = in.size(); i < n; ++i) {
    uint16_t b = narrow(src[i]);
    dst[i] = b;
    back[i] = bf16ToF32(b);
  }
}

BDL_WIDE_LOOP
void bf16ToF32(std::span<const uint16_t> in, std::span<float> out) {
  for (size_t i = 0, n = in.size(); i < n; ++i)
    out[i] = bf16ToF32(in[i]);
}

BDL_WIDE_LOOP
void accumulateBf16(std::span<float> acc, std::span<const uint16_t> in) {
  for (size_t i = 0, n = in.size(); i < n; ++i)
    acc[i] += bf16ToF32(in[i]);
}

} // namespace bdl::dist
