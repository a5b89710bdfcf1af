// Each loop mirrors torch 1.13's _single_tensor_<name> op by op with torch's
// rounding, so results are bit-identical to torch on this CPU:
//   t.add(u, alpha=a)            fma(a, u, t)          (ATen's vectorised add is fmadd)
//   t.addcmul(u, v, value=s)     fma(s * u, v, t)      (GCC contracts ATen's a + s*u*v)
//   t.addcdiv(u, v, value=s)     t + (s * u) / v
//   t.mul(s), t.sqrt(), t / s, t + s: one rounding each.
// The exported functions are cloned for x86-64-v3 (AVX2 + FMA), picked at
// load time; the baseline clone computes the same values through libm's fmaf,
// correctly but slowly.
#include "runtime/optim/FusedKernels.h"

#include <cmath>

#ifdef BDL_OPTIM_BASELINE_ONLY // tests/optim builds the kernels once without clones too
#define BDL_OPTIM_CLONES
#else
#define BDL_OPTIM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif

namespace bdl::optim::kernels {
namespace {

// a * b + c with one rounding.
[[gnu::always_inline]] inline float fmadd(float a, float b, float c) { return __builtin_fmaf(a, b, c); }

template <bool kMomentum, bool kNesterov>
[[gnu::always_inline]] inline
void sgdLoop(size_t n, float* __restrict w, const float* __restrict g, float* __restrict buf,
             const SgdScalars s) {
  for (size_t i = 0; i < n; ++i) {
    float d = fmadd(s.weightDecay, w[i], s.gradSign * g[i]);
    if constexpr (kMomentum) {
      const float b = fmadd(s.bufferKeep, d, buf[i] * s.bufferDecay);
      buf[i] = b;
      d = kNesterov ? fmadd(s.momentum, b, d) : b;
    }
    w[i] = fmadd(s.negLr, d, w[i]);
  }
}

template <bool kAmsgrad>
[[gnu::always_inline]] inline
void adamLoop(size_t n, float* __restrict w, const float* __restrict g, float* __restrict m,
              float* __restrict v, float* __restrict vmax, const AdamScalars s) {
  for (size_t i = 0; i < n; ++i) {
    const float wi = w[i] * s.decoupledDecay;
    const float gi = fmadd(s.weightDecay, wi, s.gradSign * g[i]);
    const float mi = fmadd(s.oneMinusBeta1, gi, m[i] * s.beta1);
    const float vi = fmadd(s.oneMinusBeta2 * gi, gi, v[i] * s.beta2);
    m[i] = mi;
    v[i] = vi;
    float vUsed = vi;
    if constexpr (kAmsgrad) {
      const float prev = vmax[i];
      vUsed = prev > vi ? prev : vi;
      vmax[i] = vUsed;
    }
    const float denom = std::sqrt(vUsed) / s.biasCorrection2Sqrt + s.eps;
    w[i] = wi + (s.negStepSize * mi) / denom;
  }
}

template <bool kMomentum, bool kCentered>
[[gnu::always_inline]] inline
void rmspropLoop(size_t n, float* __restrict w, const float* __restrict g,
                 float* __restrict sq, float* __restrict buf, float* __restrict ga,
                 const RmsPropScalars s) {
  for (size_t i = 0; i < n; ++i) {
    const float wi = w[i];
    const float gi = fmadd(s.weightDecay, wi, s.gradSign * g[i]);
    const float sqi = fmadd(s.oneMinusAlpha * gi, gi, sq[i] * s.alpha);
    sq[i] = sqi;
    float avg;
    if constexpr (kCentered) {
      const float gai = fmadd(s.oneMinusAlpha, gi, ga[i] * s.alpha);
      ga[i] = gai;
      avg = std::sqrt(fmadd(-1.0f * gai, gai, sqi));
    } else {
      avg = std::sqrt(sqi);
    }
    avg = avg + s.eps;
    if constexpr (kMomentum) {
      const float b = buf[i] * s.momentum + gi / avg;
      buf[i] = b;
      w[i] = fmadd(s.negLr, b, wi);
    } else {
      w[i] = wi + (s.negLr * gi) / avg;
    }
  }
}

} // namespace

BDL_OPTIM_CLONES
void sgd(size_t n, float* weights, const float* grads, const SgdScalars& s) {
  sgdLoop<false, false>(n, weights, grads, nullptr, s);
}
BDL_OPTIM_CLONES
void sgdMomentum(size_t n, float* weights, const float* grads, float* momentumBuffer,
                 const SgdScalars& s) {
  sgdLoop<true, false>(n, weights, grads, momentumBuffer, s);
}
BDL_OPTIM_CLONES
void sgdNesterov(size_t n, float* weights, const float* grads, float* momentumBuffer,
                 const SgdScalars& s) {
  sgdLoop<true, true>(n, weights, grads, momentumBuffer, s);
}

BDL_OPTIM_CLONES
void adam(size_t n, float* weights, const float* grads, float* expAvg, float* expAvgSq,
          const AdamScalars& s) {
  adamLoop<false>(n, weights, grads, expAvg, expAvgSq, nullptr, s);
}
BDL_OPTIM_CLONES
void adamAmsgrad(size_t n, float* weights, const float* grads, float* expAvg, float* expAvgSq,
                 float* maxExpAvgSq, const AdamScalars& s) {
  adamLoop<true>(n, weights, grads, expAvg, expAvgSq, maxExpAvgSq, s);
}

BDL_OPTIM_CLONES
void adagrad(size_t n, float* __restrict w, const float* __restrict g, float* __restrict sum,
             const AdagradScalars& sc) {
  const AdagradScalars s = sc;
  for (size_t i = 0; i < n; ++i) {
    const float gi = fmadd(s.weightDecay, w[i], s.gradSign * g[i]);
    const float si = fmadd(1.0f * gi, gi, sum[i]);
    sum[i] = si;
    const float stdev = std::sqrt(si) + s.eps;
    w[i] = w[i] + (s.negClr * gi) / stdev;
  }
}

BDL_OPTIM_CLONES
void rmsprop(size_t n, float* weights, const float* grads, float* squareAvg,
             float* momentumBuffer, float* gradAvg, const RmsPropScalars& s) {
  const bool momentum = momentumBuffer != nullptr;
  const bool centered = gradAvg != nullptr;
  if (momentum && centered)
    rmspropLoop<true, true>(n, weights, grads, squareAvg, momentumBuffer, gradAvg, s);
  else if (momentum)
    rmspropLoop<true, false>(n, weights, grads, squareAvg, momentumBuffer, gradAvg, s);
  else if (centered)
    rmspropLoop<false, true>(n, weights, grads, squareAvg, momentumBuffer, gradAvg, s);
  else
    rmspropLoop<false, false>(n, weights, grads, squareAvg, momentumBuffer, gradAvg, s);
}

} // namespace bdl::optim::kernels
