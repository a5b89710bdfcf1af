// The non-temporal loops (Streaming.h) give the bits of the plain ones, for
// every alignment of input and output and every tail length, on random
// floats and on the edges of bf16 rounding (ties, NaN, Inf, subnormals).
#include "runtime/dist/Bf16.h"
#include "runtime/dist/Streaming.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>
#include <vector>

using namespace bdl::dist;

namespace {

std::vector<float> inputs() {
  std::mt19937 rng(7);
  std::vector<float> in;
  for (int i = 0; i < 3000; ++i)
    in.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng())));
  for (uint32_t hi : {0x0000u, 0x0001u, 0x3F80u, 0x3F81u, 0x7F7Fu, 0x7F80u, 0x7FC0u, 0xFF80u, 0x8000u, 0x807Fu})
    for (uint32_t lo : {0x0000u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu})
      in.push_back(std::bit_cast<float>((hi << 16) | lo));
  return in;
}

bool sameBits(const void* a, const void* b, size_t bytes) { return std::memcmp(a, b, bytes) == 0; }

// Sums: the same bits, except that which NaN a sum of two NaNs keeps is up
// to operand order, which the compiler picks for the plain loop.
bool sameSums(const float* a, const float* b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (std::bit_cast<uint32_t>(a[i]) != std::bit_cast<uint32_t>(b[i]) && !(a[i] != a[i] && b[i] != b[i]))
      return false;
  return true;
}

} // namespace

TEST(Streaming, SameBitsAsThePlainLoopsAtEveryAlignment) {
  if (!streaming::available())
    GTEST_SKIP() << "no AVX-512 on this CPU: the plain loops run";
  const std::vector<float> in = inputs();
  std::vector<uint16_t> h(in.size());
  f32ToBf16(in, h);
  for (size_t shift = 0; shift < 20; ++shift)
    for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{100}, in.size() - 40}) {
      SCOPED_TRACE("shift " + std::to_string(shift) + ", n " + std::to_string(n));
      const float* src = in.data() + shift % 7;
      const uint16_t* hsrc = h.data() + shift % 5;
      std::vector<float> fa(n + 32), fb(n + 32), ra(n + 32), rb(n + 32);
      std::vector<uint16_t> ha(n + 32), hb(n + 32);
      float* fo = fa.data() + shift; // the outputs start at every offset
      uint16_t* ho = ha.data() + shift;

      streaming::copy(src, fo, n);
      EXPECT_TRUE(sameBits(fo, src, n * 4)) << "copy";

      streaming::narrow(src, ho, n);
      f32ToBf16({src, n}, {hb.data(), n});
      EXPECT_TRUE(sameBits(ho, hb.data(), n * 2)) << "narrow";

      streaming::narrowRounded(src, ho, ra.data() + shift, n);
      f32ToBf16Rounded({src, n}, {hb.data(), n}, {rb.data(), n});
      EXPECT_TRUE(sameBits(ho, hb.data(), n * 2)) << "narrowRounded, bf16";
      EXPECT_TRUE(sameBits(ra.data() + shift, rb.data(), n * 4)) << "narrowRounded, f32";

      streaming::widen(hsrc, fo, n);
      bf16ToF32({hsrc, n}, {fb.data(), n});
      EXPECT_TRUE(sameBits(fo, fb.data(), n * 4)) << "widen";

      streaming::addTwo(fo, src, nullptr, nullptr, hsrc, n);
      for (size_t i = 0; i < n; ++i)
        fb[i] = src[i] + bf16ToF32(hsrc[i]);
      EXPECT_TRUE(sameSums(fo, fb.data(), n)) << "addTwo f32 + bf16";

      streaming::addTwo(fo, nullptr, hsrc, src + 1, nullptr, n);
      for (size_t i = 0; i < n; ++i)
        fb[i] = bf16ToF32(hsrc[i]) + src[1 + i];
      EXPECT_TRUE(sameSums(fo, fb.data(), n)) << "addTwo bf16 + f32";
    }
}

// The CPU's bf16 conversion against the integer one, on every sign,
// exponent and top mantissa bits with the low halves around each rounding
// edge, in blocks of 16 where a denormal (which the instruction would flush
// to zero) sits in no lane or in one lane.
TEST(Streaming, NativeBf16ConversionGivesTheIntegerBits) {
  if (!streaming::available() || !streaming::nativeBf16())
    GTEST_SKIP() << "no AVX512_BF16 on this CPU: the integer conversion runs";
  std::vector<float> in;
  for (uint32_t hi = 0; hi <= 0xFFFF; ++hi)
    for (uint32_t lo : {0x0000u, 0x0001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu, 0x1234u, 0xC000u})
      in.push_back(std::bit_cast<float>((hi << 16) | lo));
  // Denormal-free blocks: move every denormal into a block of its own kind.
  std::stable_partition(in.begin(), in.end(), [](float x) {
    uint32_t m = std::bit_cast<uint32_t>(x) & 0x7FFFFFFFu;
    return !(m != 0 && m < 0x00800000u);
  });
  // A denormal alone among normal numbers.
  for (uint32_t d : {0x00000001u, 0x00010000u, 0x007FFFFFu, 0x80400000u, 0x00008000u})
    for (int lane = 0; lane < 16; lane += 5) {
      for (int k = 0; k < 16; ++k)
        in.push_back(k == lane ? std::bit_cast<float>(d) : 1.0f + static_cast<float>(k) / 3);
    }
  const size_t n = in.size();
  std::vector<uint16_t> native(n), integer(n), plain(n);
  std::vector<float> nativeRounded(n), integerRounded(n);
  f32ToBf16(in, plain);
  streaming::narrowWith(true, in.data(), native.data(), n);
  streaming::narrowWith(false, in.data(), integer.data(), n);
  EXPECT_TRUE(sameBits(native.data(), plain.data(), n * 2));
  EXPECT_TRUE(sameBits(integer.data(), plain.data(), n * 2));
  streaming::narrowRoundedWith(true, in.data(), native.data(), nativeRounded.data(), n);
  streaming::narrowRoundedWith(false, in.data(), integer.data(), integerRounded.data(), n);
  EXPECT_TRUE(sameBits(native.data(), plain.data(), n * 2));
  EXPECT_TRUE(sameBits(nativeRounded.data(), integerRounded.data(), n * 4));
  // The instruction alone would differ on denormals, so this test can fail:
  // count the inputs where flushing to zero changes the result.
  size_t flushedDiffer = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t b = std::bit_cast<uint32_t>(in[i]);
    if ((b & 0x7F800000u) == 0 && plain[i] != static_cast<uint16_t>((b >> 16) & 0x8000u))
      ++flushedDiffer;
  }
  EXPECT_GT(flushedDiffer, 1000u);
}

// The integer conversion on every alignment, also where the CPU would take
// its own (SameBitsAsThePlainLoopsAtEveryAlignment covers the choice made).
TEST(Streaming, IntegerBf16ConversionAtEveryAlignment) {
  if (!streaming::available())
    GTEST_SKIP() << "no AVX-512 on this CPU: the plain loops run";
  const std::vector<float> in = inputs();
  for (size_t shift = 0; shift < 20; ++shift) {
    const size_t n = in.size() - 40;
    std::vector<uint16_t> ha(n + 32), hb(n);
    std::vector<float> ra(n + 32), rb(n);
    const float* src = in.data() + shift % 7;
    f32ToBf16Rounded({src, n}, {hb.data(), n}, {rb.data(), n});
    streaming::narrowWith(false, src, ha.data() + shift, n);
    EXPECT_TRUE(sameBits(ha.data() + shift, hb.data(), n * 2)) << "shift " << shift;
    streaming::narrowRoundedWith(false, src, ha.data() + shift, ra.data() + shift, n);
    EXPECT_TRUE(sameBits(ha.data() + shift, hb.data(), n * 2)) << "shift " << shift;
    EXPECT_TRUE(sameBits(ra.data() + shift, rb.data(), n * 4)) << "shift " << shift;
  }
}

// narrowRounded aligns its loop on the f32 output; the bf16 output then
// sits at any offset from a 32-byte boundary, and is streamed in aligned
// pieces put together from two blocks. Every pair of offsets, both
// conversions, lengths that end anywhere in a block.
TEST(Streaming, NarrowRoundedAtEveryRelativeAlignment) {
  if (!streaming::available())
    GTEST_SKIP() << "no AVX-512 on this CPU: the plain loops run";
  const std::vector<float> in = inputs();
  struct alignas(64) Line {
    unsigned char bytes[64];
  };
  std::vector<Line> outLines(in.size() / 32 + 4), roundedLines(in.size() / 16 + 4);
  for (bool native : {false, true}) {
    if (native && !streaming::nativeBf16())
      continue;
    for (size_t oshift = 0; oshift < 16; ++oshift)
      for (size_t rshift = 0; rshift < 16; ++rshift)
        for (size_t n : {size_t{31}, size_t{200}, in.size() - 64 - 7}) {
          SCOPED_TRACE(std::string(native ? "native" : "integer") + ", bf16 offset " + std::to_string(oshift) +
                       ", f32 offset " + std::to_string(rshift) + ", n " + std::to_string(n));
          auto* out = reinterpret_cast<uint16_t*>(outLines.data()) + oshift;
          auto* rounded = reinterpret_cast<float*>(roundedLines.data()) + rshift;
          std::memset(outLines.data(), 0xAB, outLines.size() * sizeof(Line));
          std::vector<uint16_t> expectOut(n);
          std::vector<float> expectRounded(n);
          f32ToBf16Rounded({in.data(), n}, expectOut, expectRounded);
          streaming::narrowRoundedWith(native, in.data(), out, rounded, n);
          EXPECT_TRUE(sameBits(out, expectOut.data(), n * 2));
          EXPECT_TRUE(sameBits(rounded, expectRounded.data(), n * 4));
          // Nothing written around the output.
          if (oshift > 0) {
            EXPECT_EQ(out[-1], 0xABAB);
          }
          EXPECT_EQ(out[n], 0xABAB);
        }
  }
}
