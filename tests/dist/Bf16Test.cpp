// bf16 conversion against an independent oracle: the nearest bf16 value
// computed in double arithmetic, ties to the even mantissa.
#include "runtime/dist/Bf16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace bdl::dist;

namespace {

uint32_t bitsOf(float f) { return std::bit_cast<uint32_t>(f); }
float floatOf(uint32_t b) { return std::bit_cast<float>(b); }

// Value of a non-negative bf16 bit pattern with the exponent unbounded, so
// the pattern after the largest finite one is 2^128 (where overflow rounds).
double magnitude(uint32_t pattern) {
  uint32_t e = (pattern >> 7) & 0xFF, m = pattern & 0x7F;
  if (e == 0)
    return std::ldexp(static_cast<double>(m), -133);
  return std::ldexp(1.0 + m / 128.0, static_cast<int>(e) - 127);
}

uint16_t oracle(float x) {
  uint32_t b = bitsOf(x);
  uint32_t sign = b & 0x80000000u;
  if (std::isnan(x))
    return static_cast<uint16_t>((b >> 16) | 0x40);
  if (std::isinf(x))
    return static_cast<uint16_t>(b >> 16);
  double v = std::fabs(static_cast<double>(x));
  uint32_t lo = (b & 0x7FFFFFFFu) >> 16, hi = lo + 1;
  double dlo = v - magnitude(lo), dhi = magnitude(hi) - v;
  uint32_t pick = dlo < dhi ? lo : dhi < dlo ? hi : (lo % 2 == 0 ? lo : hi);
  return static_cast<uint16_t>((sign >> 16) | pick);
}

} // namespace

TEST(Bf16, RoundsHalfwayCasesToEven) {
  EXPECT_EQ(f32ToBf16(1.0f), 0x3F80);
  EXPECT_EQ(f32ToBf16(floatOf(0x3F808000)), 0x3F80); // tie, 0x3F80 is even
  EXPECT_EQ(f32ToBf16(floatOf(0x3F818000)), 0x3F82); // tie, 0x3F82 is even
  EXPECT_EQ(f32ToBf16(floatOf(0x3F808001)), 0x3F81); // above half: truncation would give 0x3F80
  EXPECT_EQ(f32ToBf16(floatOf(0x3F807FFF)), 0x3F80);
  EXPECT_EQ(f32ToBf16(floatOf(0xBF80C000)), 0xBF81); // negative, rounds away from zero
  EXPECT_EQ(f32ToBf16(floatOf(0x00008000)), 0x0000); // subnormal tie to even
  EXPECT_EQ(f32ToBf16(floatOf(0x00018000)), 0x0002);
}

TEST(Bf16, InfinityNanAndOverflow) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f32ToBf16(inf), 0x7F80);
  EXPECT_EQ(f32ToBf16(-inf), 0xFF80);
  EXPECT_EQ(f32ToBf16(std::numeric_limits<float>::max()), 0x7F80); // rounds up to Inf
  EXPECT_EQ(f32ToBf16(floatOf(0x7F7F7FFF)), 0x7F7F);
  for (uint32_t nan : {0x7FC00000u, 0x7F800001u, 0x7FFFFFFFu, 0xFF800001u, 0xFFFFFFFFu}) {
    uint16_t h = f32ToBf16(floatOf(nan));
    EXPECT_TRUE(std::isnan(bf16ToF32(h))) << std::hex << nan;
    EXPECT_EQ(h & 0x8000, (nan >> 16) & 0x8000) << "sign kept for " << std::hex << nan;
  }
  EXPECT_EQ(f32ToBf16(-0.0f), 0x8000);
}

TEST(Bf16, MatchesOracleOnRandomAndEdgeBitPatterns) {
  std::mt19937 rng(1234);
  std::vector<float> in;
  for (int i = 0; i < 200000; ++i)
    in.push_back(floatOf(static_cast<uint32_t>(rng())));
  for (uint32_t hiBits = 0; hiBits < 0x10000; hiBits += 7) // every neighbourhood of a tie
    for (uint32_t low : {0x7FFFu, 0x8000u, 0x8001u, 0x0000u, 0xFFFFu})
      in.push_back(floatOf((hiBits << 16) | low));
  std::vector<uint16_t> bulk(in.size()), fused(in.size());
  std::vector<float> rounded(in.size());
  f32ToBf16(in, bulk);
  f32ToBf16Rounded(in, fused, rounded);
  for (size_t i = 0; i < in.size(); ++i) {
    uint16_t want = oracle(in[i]);
    ASSERT_EQ(f32ToBf16(in[i]), want) << "bits " << std::hex << bitsOf(in[i]);
    ASSERT_EQ(bulk[i], want) << "bulk, bits " << std::hex << bitsOf(in[i]);
    ASSERT_EQ(fused[i], want) << "fused, bits " << std::hex << bitsOf(in[i]);
    ASSERT_EQ(bitsOf(rounded[i]), uint32_t{want} << 16) << "fused widening, bits " << std::hex << bitsOf(in[i]);
  }
}

TEST(Bf16, WidenIsExactAndAccumulateAdds) {
  std::vector<uint16_t> h = {0x3F80, 0xC000, 0x0000, 0x7F80};
  std::vector<float> f(h.size());
  bf16ToF32(h, f);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -2.0f);
  EXPECT_EQ(f[2], 0.0f);
  EXPECT_TRUE(std::isinf(f[3]));
  std::vector<float> acc = {1.0f, 1.0f, 1.0f};
  accumulateBf16(acc, std::span<const uint16_t>(h.data(), 3));
  EXPECT_EQ(acc, (std::vector<float>{2.0f, -1.0f, 1.0f}));
  std::vector<uint16_t> none;
  std::vector<float> noneOut;
  f32ToBf16(std::span<const float>(noneOut), none); // size 0 is fine
}
