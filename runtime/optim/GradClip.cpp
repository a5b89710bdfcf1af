// Plain loops with no branches: GCC vectorises them; the sum of squares
// accumulates in double, which vectorises too at -O3 only with -ffast-math,
// so it is split into 4 independent lanes by hand.
#include "runtime/optim/GradClip.h"

#include <algorithm>
#include <cmath>

namespace bdl::optim {

void clipByValue(std::span<float> grads, float clip) {
  float* __restrict g = grads.data();
  const size_t n = grads.size();
  const float lo = -clip, hi = clip;
  for (size_t i = 0; i < n; ++i) {
    const float v = g[i];
    // Written as selects (not std::clamp) so NaN passes through like torch's clamp.
    const float a = v < lo ? lo : v;
    g[i] = a > hi ? hi : a;
  }
}

double sumOfSquares(std::span<const float> grads) {
  const float* __restrict g = grads.data();
  const size_t n = grads.size();
  double lane[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (size_t k = 0; k < 4; ++k) {
      const double v = g[i + k];
      lane[k] += v * v;
    }
  for (; i < n; ++i) {
    const double v = g[i];
    lane[0] += v * v;
  }
  return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

double scaleFor(double totalNorm, double maxNorm) {
  const double coef = maxNorm / (totalNorm + 1e-6);
  return std::isnan(coef) ? coef : std::min(coef, 1.0);
}

void scaleInPlace(std::span<float> grads, double factor) {
  float* __restrict g = grads.data();
  const size_t n = grads.size();
  const float s = static_cast<float>(factor);
  for (size_t i = 0; i < n; ++i) g[i] = g[i] * s;
}

double clipByGlobalNorm(std::span<float> grads, double maxNorm) {
  const double norm = std::sqrt(sumOfSquares(grads));
  scaleInPlace(grads, scaleFor(norm, maxNorm));
  return norm;
}

} // namespace bdl::optim
