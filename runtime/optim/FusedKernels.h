// The update loops: one pass over a block that reads gradient, weight and
// state and writes weight and state once. Structural options are template
// parameters and per-step numbers are precomputed scalars, so the loop bodies
// have no branches and GCC vectorises them (see -fopt-info-vec in CMake).
#pragma once

#include <cstddef>

namespace bdl::optim::kernels {

// Scalars are float because torch applies Python numbers to float32 tensors
// as float32; they are computed in double by the caller, then rounded once,
// as torch does.
struct SgdScalars {
  float gradSign;    // -1 when maximizing
  float weightDecay; // L2: g + wd * w
  float bufferDecay; // momentum, or 0 on the first step: the buffer becomes the gradient
  float bufferKeep;  // 1 - dampening, or 1 on the first step
  float momentum;    // nesterov's look-ahead: d + momentum * buffer
  float negLr;
};
void sgd(size_t n, float* weights, const float* grads, const SgdScalars& s);
void sgdMomentum(size_t n, float* weights, const float* grads, float* momentumBuffer,
                 const SgdScalars& s);
void sgdNesterov(size_t n, float* weights, const float* grads, float* momentumBuffer,
                 const SgdScalars& s);

struct AdamScalars {
  float gradSign;
  float weightDecay;     // adam: L2 added to the gradient; adamw: 0
  float decoupledDecay;  // adamw: 1 - lr * wd multiplies the weight; adam: 1
  float beta1, oneMinusBeta1;
  float beta2, oneMinusBeta2;
  float biasCorrection2Sqrt;
  float eps;
  float negStepSize; // -lr / (1 - beta1^t)
};
void adam(size_t n, float* weights, const float* grads, float* expAvg, float* expAvgSq,
          const AdamScalars& s);
void adamAmsgrad(size_t n, float* weights, const float* grads, float* expAvg, float* expAvgSq,
                 float* maxExpAvgSq, const AdamScalars& s);

struct AdagradScalars {
  float gradSign;
  float weightDecay;
  float eps;
  float negClr; // -lr / (1 + (t - 1) * lr_decay)
};
void adagrad(size_t n, float* weights, const float* grads, float* sum, const AdagradScalars& s);

struct RmsPropScalars {
  float gradSign;
  float weightDecay;
  float alpha, oneMinusAlpha;
  float eps;
  float momentum;
  float negLr;
};
// squareAvg always; momentumBuffer and gradAvg may be null when unused.
void rmsprop(size_t n, float* weights, const float* grads, float* squareAvg,
             float* momentumBuffer, float* gradAvg, const RmsPropScalars& s);

} // namespace bdl::optim::kernels
