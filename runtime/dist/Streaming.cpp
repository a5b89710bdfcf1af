#include "runtime/dist/Streaming.h"

#include "runtime/dist/Bf16.h"

#include <algorithm>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define BDL_STREAMING 1
#define BDL_AVX512 __attribute__((target("avx512f,avx512bw")))
#define BDL_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

namespace bdl::dist::streaming {

#ifdef BDL_STREAMING

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own
// _mm512_undefined_* placeholders (GCC bug 105593), -Wuninitialized too
// when inlined into a function with more target features.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace {

// Elements before `out` reaches a multiple of `align` bytes (or n).
template <class T>
size_t headLength(const T* out, size_t align, size_t n) {
  size_t misalign = reinterpret_cast<uintptr_t>(out) % align;
  size_t head = misalign == 0 ? 0 : (align - misalign) / sizeof(T);
  return head < n ? head : n;
}

BDL_AVX512 inline __m512i widen16(const uint16_t* in) {
  __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in));
  return _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16);
}

BDL_AVX512 inline __m512 load16(const float* f32, const uint16_t* bf16, size_t i) {
  return f32 ? _mm512_loadu_ps(f32 + i) : _mm512_castsi512_ps(widen16(bf16 + i));
}

// f32ToBf16 on 16 elements: round to nearest even, NaN to a quiet NaN of
// the same sign (the scalar code in Bf16.h, lane by lane).
BDL_AVX512 inline __m256i narrow16(const float* in) {
  __m512i bits = _mm512_loadu_si512(in);
  // One load: GCC would otherwise fold it into three instructions, and
  // where the caller's buffer is not 64-byte aligned (a std::vector's is
  // 16) each is a load split across two cache lines; that doubled the time
  // of this loop.
  asm("" : "+v"(bits));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lsb), 16);
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x0040));
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rounded, quiet));
}

// The same with the CPU's own conversion (vcvtneps2bf16), fewer
// instructions per element: it rounds to nearest even and quiets NaNs
// exactly as narrow16 does, but flushes denormal inputs to zero, so a
// block holding a denormal (rare: |x| < 2^-126) takes narrow16 instead.
BDL_AVX512BF16 inline __m256i narrow16Native(const float* in) {
  const __m512 v = _mm512_loadu_ps(in);
  const __m512i magnitude = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF));
  // magnitude - 1 < 0x7FFFFF exactly when 0 < magnitude < 2^-126.
  if (_mm512_cmplt_epu32_mask(_mm512_sub_epi32(magnitude, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x007FFFFF)))
    return narrow16(in);
  return reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v));
}

} // namespace

bool nativeBf16() {
  static const bool has = __builtin_cpu_supports("avx512bf16");
  return has;
}

bool available() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"); }

// Every loop below: `scalar(k)` on the elements before `out` reaches an
// `align`-byte boundary (streaming stores need it) and after the last whole
// block of 16, `vector(i)` on the blocks of 16 between; then the fence.
template <class Out, class Scalar, class Vector>
BDL_AVX512 inline void blocksOf16(const Out* out, size_t align, size_t n, Scalar scalar, Vector vector) {
  size_t i = headLength(out, align, n);
  for (size_t k = 0; k < i; ++k)
    scalar(k);
  for (; i + 16 <= n; i += 16)
    vector(i);
  for (; i < n; ++i)
    scalar(i);
  _mm_sfence();
}

BDL_AVX512 void copy(const float* in, float* out, size_t n) {
  blocksOf16(
      out, 64, n, [&](size_t k) { out[k] = in[k]; },
      [&](size_t i) BDL_AVX512 { _mm512_stream_ps(out + i, _mm512_loadu_ps(in + i)); });
}

BDL_AVX512BF16 void narrowNative(const float* in, uint16_t* out, size_t n) {
  blocksOf16(
      out, 32, n, [&](size_t k) { out[k] = f32ToBf16(in[k]); },
      [&](size_t i) BDL_AVX512BF16 { _mm256_stream_si256(reinterpret_cast<__m256i*>(out + i), narrow16Native(in + i)); });
}

BDL_AVX512 void narrowInteger(const float* in, uint16_t* out, size_t n) {
  blocksOf16(
      out, 32, n, [&](size_t k) { out[k] = f32ToBf16(in[k]); },
      [&](size_t i) BDL_AVX512 { _mm256_stream_si256(reinterpret_cast<__m256i*>(out + i), narrow16(in + i)); });
}

BDL_AVX512BF16 void narrowRoundedNative(const float* in, uint16_t* out, float* rounded, size_t n) {
  const bool bothAligned = reinterpret_cast<uintptr_t>(out + headLength(rounded, 64, n)) % 32 == 0;
  blocksOf16(
      rounded, 64, n,
      [&](size_t k) {
        out[k] = f32ToBf16(in[k]);
        rounded[k] = bf16ToF32(out[k]);
      },
      [&](size_t i) BDL_AVX512BF16 {
        __m256i h = narrow16Native(in + i);
        if (bothAligned)
          _mm256_stream_si256(reinterpret_cast<__m256i*>(out + i), h);
        else
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), h);
        _mm512_stream_si512(reinterpret_cast<__m512i*>(rounded + i), _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
      });
}

BDL_AVX512 void narrowRoundedInteger(const float* in, uint16_t* out, float* rounded, size_t n) {
  // Aligned for the wider output; the other one is streamed too when its
  // alignment falls on the same element.
  const bool bothAligned = reinterpret_cast<uintptr_t>(out + headLength(rounded, 64, n)) % 32 == 0;
  blocksOf16(
      rounded, 64, n,
      [&](size_t k) {
        out[k] = f32ToBf16(in[k]);
        rounded[k] = bf16ToF32(out[k]);
      },
      [&](size_t i) BDL_AVX512 {
        __m256i h = narrow16(in + i);
        if (bothAligned)
          _mm256_stream_si256(reinterpret_cast<__m256i*>(out + i), h);
        else
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), h);
        _mm512_stream_si512(reinterpret_cast<__m512i*>(rounded + i), _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
      });
}

void narrowWith(bool native, const float* in, uint16_t* out, size_t n) {
  native ? narrowNative(in, out, n) : narrowInteger(in, out, n);
}
void narrowRoundedWith(bool native, const float* in, uint16_t* out, float* rounded, size_t n) {
  native ? narrowRoundedNative(in, out, rounded, n) : narrowRoundedInteger(in, out, rounded, n);
}
void narrow(const float* in, uint16_t* out, size_t n) { narrowWith(nativeBf16(), in, out, n); }
void narrowRounded(const float* in, uint16_t* out, float* rounded, size_t n) {
  narrowRoundedWith(nativeBf16(), in, out, rounded, n);
}

BDL_AVX512 void widen(const uint16_t* in, float* out, size_t n) {
  blocksOf16(
      out, 64, n, [&](size_t k) { out[k] = bf16ToF32(in[k]); },
      [&](size_t i) BDL_AVX512 { _mm512_stream_si512(reinterpret_cast<__m512i*>(out + i), widen16(in + i)); });
}

BDL_AVX512 void addTwo(float* sum, const float* a32, const uint16_t* a16, const float* b32, const uint16_t* b16,
                       size_t n) {
  blocksOf16(
      sum, 64, n,
      [&](size_t k) { sum[k] = (a32 ? a32[k] : bf16ToF32(a16[k])) + (b32 ? b32[k] : bf16ToF32(b16[k])); },
      [&](size_t i) BDL_AVX512 {
        _mm512_stream_ps(sum + i, _mm512_add_ps(load16(a32, a16, i), load16(b32, b16, i)));
      });
}

#pragma GCC diagnostic pop

#else // no streaming stores here: the plain loops, should anyone call

bool available() { return false; }
bool nativeBf16() { return false; }
void copy(const float* in, float* out, size_t n) { std::copy_n(in, n, out); }
void narrow(const float* in, uint16_t* out, size_t n) { f32ToBf16({in, n}, {out, n}); }
void narrowRounded(const float* in, uint16_t* out, float* rounded, size_t n) {
  f32ToBf16Rounded({in, n}, {out, n}, {rounded, n});
}
void narrowWith(bool, const float* in, uint16_t* out, size_t n) { narrow(in, out, n); }
void narrowRoundedWith(bool, const float* in, uint16_t* out, float* rounded, size_t n) {
  narrowRounded(in, out, rounded, n);
}
void widen(const uint16_t* in, float* out, size_t n) { bf16ToF32({in, n}, {out, n}); }
void addTwo(float* sum, const float* a32, const uint16_t* a16, const float* b32, const uint16_t* b16, size_t n) {
  for (size_t i = 0; i < n; ++i)
    sum[i] = (a32 ? a32[i] : bf16ToF32(a16[i])) + (b32 ? b32[i] : bf16ToF32(b16[i]));
}

#endif

} // namespace bdl::dist::streaming
