// Gradient clipping on the flat gradient, by value and by global L2 norm,
// matching torch.nn.utils.clip_grad_value_ / clip_grad_norm_ (1.13). The
// global norm is split into pieces so the dist layer can combine blocks:
//   double local = sumOfSquares(myBlock);          // per worker
//   double total = std::sqrt(allReduceSum(local)); // dist's business
//   scaleInPlace(myBlock, scaleFor(total, maxNorm));
#pragma once

#include <span>

namespace bdl::optim {

// Clamps every element to [-clip, clip] (clip >= 0). NaN stays NaN.
void clipByValue(std::span<float> grads, float clip);

// Sum of squares in double, so block partial sums add up to the whole
// vector's to ~1e-16 relative whatever the split.
double sumOfSquares(std::span<const float> grads);

// The factor torch multiplies gradients by: min(1, maxNorm / (totalNorm + 1e-6)).
// A non-finite totalNorm gives a non-finite factor, as in torch (which only
// raises when error_if_nonfinite is set): the caller decides what to do.
double scaleFor(double totalNorm, double maxNorm);

void scaleInPlace(std::span<float> grads, double factor);

// Single-process convenience: clips `grads` to global norm maxNorm and
// returns the norm before clipping.
double clipByGlobalNorm(std::span<float> grads, double maxNorm);

} // namespace bdl::optim
