// Deterministic random numbers for the data pipeline: splitmix64 to derive
// seeds (seed + epoch + record ordinal) and xoshiro256** as the generator. We
// implement both ourselves so sequences are identical on every platform and
// the generator state is four integers that serialise to JSON.
#pragma once

#include <array>
#include <cstdint>

namespace bdl::data {

constexpr uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A seed derived from two values; mixSeed(a, b) != mixSeed(b, a) in general.
constexpr uint64_t mixSeed(uint64_t a, uint64_t b) {
  return splitmix64(splitmix64(a) ^ (b + 0x632BE59BD9B4E019ull));
}

class Rng {
public:
  using State = std::array<uint64_t, 4>;

  explicit Rng(uint64_t seed = 0) { reseed(seed); }

  void reseed(uint64_t seed) {
    for (uint64_t& s : state_) {
      seed = splitmix64(seed);
      s = seed;
    }
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, n) by multiply-shift (bias below n / 2^64); n > 0.
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

  // Uniform in [0, 1) with 24 bits, exactly representable as float.
  float unitFloat() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }

  const State& state() const { return state_; }
  void setState(const State& s) { state_ = s; }

private:
  static constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  State state_{};
};

} // namespace bdl::data
