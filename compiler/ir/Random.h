// Counter-based random numbers: a value depends only on (key, counter), so
// parameter initial values and dropout masks are reproducible and
// independent of evaluation order. splitmix64 mixing, FNV-1a for names.
#pragma once

#include <cstdint>
#include <string_view>

namespace bdl::ir {

constexpr uint64_t fnv1a64(std::string_view s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// The splitmix64 finaliser: a bijective 64-bit mix.
constexpr uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The counter-th 64-bit draw of stream `key`.
constexpr uint64_t randomBits(uint64_t key, uint64_t counter) {
  return mix64(key + (counter + 1) * 0x9e3779b97f4a7c15ull);
}

// Uniform in [0, 1) with 53 random bits.
constexpr double randomUniform(uint64_t key, uint64_t counter) {
  return static_cast<double>(randomBits(key, counter) >> 11) * 0x1.0p-53;
}

} // namespace bdl::ir
