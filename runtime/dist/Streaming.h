// Bulk loops of a large parameter sync with non-temporal stores: the data
// they write (a segment a peer reads, the sum the updater reads, the new
// weights the next forward pass reads) is far larger than the caches and
// is not read again soon, so letting the stores bypass the cache saves the
// read each cache line costs before it is written, about a quarter of the
// memory traffic of a sync on one host. Bits are the same as the plain
// loops in Bf16.h and ParamSync (integer conversions, one add per element
// in the same order), except which NaN a sum of two NaNs keeps, which
// follows operand order and so the compiler's choice in the plain loop. Each call ends with a store fence, so whatever
// signals the data afterwards (a frame on a socket) is ordered after it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bdl::dist::streaming {

// True when this CPU has the instructions (AVX-512 F and BW); otherwise
// callers keep their plain loops.
bool available();

void copy(const float* in, float* out, size_t n);
void narrow(const float* in, uint16_t* out, size_t n);                        // f32ToBf16
void narrowRounded(const float* in, uint16_t* out, float* rounded, size_t n); // f32ToBf16Rounded
void widen(const uint16_t* in, float* out, size_t n);                         // bf16ToF32
// sum = a + b, each operand f32 or bf16 (exactly one pointer of each pair set).
void addTwo(float* sum, const float* a32, const uint16_t* a16, const float* b32, const uint16_t* b16, size_t n);

// narrow and narrowRounded use the CPU's bf16 conversion (vcvtneps2bf16,
// AVX512_BF16) where it has one: fewer instructions per element, the same
// bits (blocks with a denormal, which it would flush to zero, take the
// integer path).
bool nativeBf16();
// Both with the conversion chosen by the caller, for tests; `native`
// requires nativeBf16().
void narrowWith(bool native, const float* in, uint16_t* out, size_t n);
void narrowRoundedWith(bool native, const float* in, uint16_t* out, float* rounded, size_t n);

} // namespace bdl::dist::streaming
