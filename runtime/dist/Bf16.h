// bfloat16 conversion for the wire: f32 -> bf16 rounds to nearest, ties to
// even (not truncation, which biases every value towards zero); NaN stays a
// quiet NaN of the same sign, +-Inf stay Inf, overflow rounds to Inf.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

// For loops that touch every element of a parameter sync: on CPUs with
// AVX-512 a second, wider copy is picked at load time. Only for loops whose
// results cannot depend on the width (integer work, or float operations
// done elementwise in the same order), so every rank gets the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BDL_WIDE_LOOP __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define BDL_WIDE_LOOP
#endif

namespace bdl::dist {

inline uint16_t f32ToBf16(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) // NaN: keep sign, force quiet bit
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  uint32_t roundingBias = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + roundingBias) >> 16);
}

inline float bf16ToF32(uint16_t value) { return std::bit_cast<float>(static_cast<uint32_t>(value) << 16); }

// Bulk forms; out.size() must equal in.size().
void f32ToBf16(std::span<const float> in, std::span<uint16_t> out);
void bf16ToF32(std::span<const uint16_t> in, std::span<float> out);
// Both at once: out = f32ToBf16(in), rounded = bf16ToF32(out), one pass
// over memory instead of two.
void f32ToBf16Rounded(std::span<const float> in, std::span<uint16_t> out, std::span<float> rounded);
// acc[i] += bf16ToF32(in[i])
void accumulateBf16(std::span<float> acc, std::span<const uint16_t> in);

} // namespace bdl::dist
