// Products with one (or a few) rows, x[m, k] @ W[k, n] with W row-major:
// batch-1 inference. oneDNN's fixed cost per call (about 1 µs here) is as
// much as a whole small product, and the big one (784 x 256) is bound by
// reading W, which this loop streams once per row block, split over threads
// by column ranges so each core reads its half of W.
#include "compiler/codegen/Kernels.h"

#include <algorithm>

namespace bdl::codegen {

using namespace bdl::ir;

namespace {

constexpr int64_t kMaxRows = 4;

BDL_KERNEL_CLONES
void gemvColumns(const float* __restrict x, const float* __restrict w, float* __restrict y, int64_t m, int64_t k,
                 int64_t n, int64_t c0, int64_t c1) {
  for (int64_t r = 0; r < m; ++r) {
    float* __restrict yr = y + r * n;
    const float* __restrict xr = x + r * k;
    for (int64_t j = c0; j < c1; ++j) yr[j] = 0.0f;
    for (int64_t p = 0; p < k; ++p) {
      float xv = xr[p];
      const float* __restrict wr = w + p * n;
      for (int64_t j = c0; j < c1; ++j) yr[j] += xv * wr[j];
    }
  }
}

} // namespace

std::optional<StepFn> gemvKernel(const Graph& g, ValueId out, ValueId a, ValueId b) {
  const TensorType& ta = g.type(a);
  const TensorType& tb = g.type(b);
  if (ta.dtype != DType::F32 || tb.dtype != DType::F32 || tb.rank() != 2) return std::nullopt;
  Shape sa = *ta.shape(), sb = *tb.shape();
  int64_t k = sa.back(), n = sb[1];
  int64_t m = numElements(sa) / std::max<int64_t>(k, 1); // leading dims fold into rows: W is shared
  if (m < 1 || m > kMaxRows || k == 0 || n == 0) return std::nullopt;
  double bytes = 4.0 * static_cast<double>(k) * static_cast<double>(n);
  return [=](RunContext& ctx) {
    const float* x = ctx.at<float>(a);
    const float* w = ctx.at<float>(b);
    float* y = ctx.at<float>(out);
    // Split columns in multiples of 16 when W is big enough to be worth it.
    int t = bytes >= (256 << 10) && n >= 64 ? ctx.threads : 1;
    parallelFor(t, n, n / (2 * std::max(t, 1)), [&](int64_t c0, int64_t c1) {
      c0 = c0 / 16 * 16;
      c1 = c1 == n ? n : c1 / 16 * 16;
      if (c0 < c1) gemvColumns(x, w, y, m, k, n, c0, c1);
    });
  };
}

} // namespace bdl::codegen
