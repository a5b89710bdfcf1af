// Products with one (or a few) rows, x[m, k] @ W[k, n] with W row-major:
// batch-1 inference. oneDNN's fixed cost per call (about 1 µs here) is as
// much as a whole small product, and the big one (784 x 256) is bound by
// reading W, which this loop streams once, split over threads by column
// ranges so each core reads (and keeps in its own L2 from call to call) its
// part of W.
//
// Each tile of up to 128 columns keeps its m x 128 sums in registers for the
// whole k loop: per row of W that is one broadcast of x and a load and an FMA
// per 16 columns, where a loop that updates y in memory would load and store
// y at every row of W too (that version ran the 784 x 256 product at 4.8 µs,
// this one at about 2).
#include "compiler/codegen/Kernels.h"

#include <algorithm>

namespace bdl::codegen {

using namespace bdl::ir;

namespace {

constexpr int64_t kMaxRows = 4;
constexpr int64_t kLanes = 16;

// A 16-float vector, and the same read or written at any float alignment.
typedef float Vec __attribute__((vector_size(64)));
typedef float UnalignedVec __attribute__((vector_size(64), aligned(4)));

// y[r, c .. c + 16 * V) for r < M: V vectors of sums per row, in registers.
template <int M, int V>
[[gnu::always_inline]] inline void gemvTile(const float* __restrict x, const float* __restrict w, float* __restrict y, int64_t k,
                                int64_t n, int64_t c) {
  Vec acc[M][V] = {};
  for (int64_t p = 0; p < k; ++p) {
    const float* wr = w + p * n + c;
    Vec wv[V];
    for (int j = 0; j < V; ++j) wv[j] = *reinterpret_cast<const UnalignedVec*>(wr + kLanes * j);
    for (int r = 0; r < M; ++r) {
      const float xv = x[r * k + p];
      for (int j = 0; j < V; ++j) acc[r][j] += xv * wv[j];
    }
  }
  for (int r = 0; r < M; ++r)
    for (int j = 0; j < V; ++j) *reinterpret_cast<UnalignedVec*>(y + r * n + c + kLanes * j) = acc[r][j];
}

// The last `width` (< 16) columns from c: a 16-float load of a row of W
// reads them and the start of the next row. Those extra lanes are never
// stored; they are zeroed so that no NaN or denormal from the next row
// slows the FMAs. Rows where the load would run past W's end go one float
// at a time. Each column still sums its rows in order. (The MLP's 128 x 10
// output layer: 0.3 µs as a plain loop, 0.16 µs so.)
template <int M>
[[gnu::always_inline]] inline void gemvTail(const float* __restrict x, const float* __restrict w, float* __restrict y,
                                            int64_t k, int64_t n, int64_t c, int64_t width) {
  typedef int32_t Bits __attribute__((vector_size(64)));
  Bits lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const Bits keep = lane < static_cast<int32_t>(width);
  const int64_t vectorRows = k * n - c >= kLanes ? std::min<int64_t>(k, (k * n - c - kLanes) / n + 1) : 0;
  Vec acc[M] = {};
  for (int64_t p = 0; p < vectorRows; ++p) {
    const Vec wv = (Vec)((Bits)*reinterpret_cast<const UnalignedVec*>(w + p * n + c) & keep);
    for (int r = 0; r < M; ++r) acc[r] += x[r * k + p] * wv;
  }
  for (int r = 0; r < M; ++r) {
    float sums[kLanes];
    *reinterpret_cast<UnalignedVec*>(sums) = acc[r];
    for (int64_t p = vectorRows; p < k; ++p)
      for (int64_t j = 0; j < width; ++j) sums[j] += x[r * k + p] * w[p * n + c + j];
    for (int64_t j = 0; j < width; ++j) y[r * n + c + j] = sums[j];
  }
}

template <int M>
[[gnu::always_inline]] inline void gemvRows(const float* x, const float* w, float* y, int64_t k, int64_t n, int64_t c0, int64_t c1) {
  // 8 vectors of sums per row while they fit in the 32 vector registers
  // beside W's 8 (m <= 2), 4 for m = 3 and 4.
  constexpr int V = M <= 2 ? 8 : 4;
  int64_t c = c0;
  for (; c + V * kLanes <= c1; c += V * kLanes) gemvTile<M, V>(x, w, y, k, n, c);
  for (; c + kLanes <= c1; c += kLanes) gemvTile<M, 1>(x, w, y, k, n, c);
  if (c < c1) gemvTail<M>(x, w, y, k, n, c, c1 - c);
}

// One clone per instruction set; everything above is inlined into it, so
// Vec becomes one AVX-512 register on x86-64-v4 and two AVX2 ones on v3.
BDL_KERNEL_CLONES
void gemvColumns(const float* x, const float* w, float* y, int64_t m, int64_t k, int64_t n, int64_t c0, int64_t c1) {
  switch (m) {
  case 1: return gemvRows<1>(x, w, y, k, n, c0, c1);
  case 2: return gemvRows<2>(x, w, y, k, n, c0, c1);
  case 3: return gemvRows<3>(x, w, y, k, n, c0, c1);
  default: return gemvRows<4>(x, w, y, k, n, c0, c1);
  }
}

} // namespace

std::optional<StepFn> gemvKernel(const Graph& g, ValueId out, ValueId a, ValueId b, ColumnEpilogue epilogue) {
  const TensorType& ta = g.type(a);
  const TensorType& tb = g.type(b);
  if (ta.dtype != DType::F32 || tb.dtype != DType::F32 || tb.rank() != 2) return std::nullopt;
  Shape sa = *ta.shape(), sb = *tb.shape();
  int64_t k = sa.back(), n = sb[1];
  int64_t m = numElements(sa) / std::max<int64_t>(k, 1); // leading dims fold into rows: W is shared
  if (m < 1 || m > kMaxRows || k == 0 || n == 0) return std::nullopt;
  if (epilogue && m != 1) return std::nullopt; // an epilogue's elements are columns of one row
  double bytes = 4.0 * static_cast<double>(k) * static_cast<double>(n);
  return [=](RunContext& ctx) {
    const float* x = ctx.at<float>(a);
    const float* w = ctx.at<float>(b);
    float* y = ctx.at<float>(out);
    // Split columns in multiples of 16 when W is big enough to be worth it.
    int t = bytes >= (256 << 10) && n >= 64 ? ctx.threads : 1;
    parallelFor(t, n, n / (2 * std::max(t, 1)), [&](int64_t c0, int64_t c1) {
      c0 = c0 / kLanes * kLanes;
      c1 = c1 == n ? n : c1 / kLanes * kLanes;
      if (c0 >= c1) return;
      gemvColumns(x, w, y, m, k, n, c0, c1);
      if (epilogue) epilogue(ctx, c0, c1);
    });
  };
}

} // namespace bdl::codegen
