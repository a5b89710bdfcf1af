// Products with one (or a few) rows, x[m, k] @ W[k, n] with W row-major:
// batch-1 inference. oneDNN's fixed cost per call (about 1 µs here) is as
// much as a whole small product, and the big ones (784 x 256) are bound by
// reading W, which these loops stream once: for one row, split over threads
// by halves of W's rows (rowSplitStep), for more, by column ranges.
//
// Each tile of up to 128 columns keeps its m x 128 sums in registers for the
// whole k loop: per row of W that is one broadcast of x and a load and an FMA
// per 16 columns, where a loop that updates y in memory would load and store
// y at every row of W too (that version ran the 784 x 256 product at 4.8 µs,
// this one at about 2).
#include "compiler/codegen/Kernels.h"

#include <algorithm>
#include <vector>

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

// The columns left after whole tiles, fewer than V vectors of them, as one
// tile of exactly that many vectors: a loop of one-vector tiles would wait
// on one FMA chain per row of W (the latency, not the loads, bounds it).
template <int M, int V, int R = 1>
[[gnu::always_inline]] inline void gemvPartialTile(int64_t vectors, const float* __restrict x, const float* __restrict w,
                                                   float* __restrict y, int64_t k, int64_t n, int64_t c) {
  if constexpr (R < V) {
    if (vectors == R) return gemvTile<M, R>(x, w, y, k, n, c);
    return gemvPartialTile<M, V, R + 1>(vectors, x, w, y, k, n, c);
  }
}

template <int M>
[[gnu::always_inline]] inline void gemvRows(const float* x, const float* w, float* y, int64_t k, int64_t n, int64_t c0,
                                            int64_t c1, bool wide) {
  // 8 vectors of sums per row while they fit in the 32 vector registers
  // beside W's 8 (m <= 2), 4 for m = 3 and 4. One row can keep 16 (`wide`,
  // AVX-512 only: 16 AVX2 pairs would spill), so that a 256-column W is
  // read row after row, one contiguous stream.
  constexpr int V = M <= 2 ? 8 : 4;
  int64_t c = c0;
  if constexpr (M == 1)
    if (wide)
      for (; c + 16 * kLanes <= c1; c += 16 * kLanes) gemvTile<1, 16>(x, w, y, k, n, c);
  for (; c + V * kLanes <= c1; c += V * kLanes) gemvTile<M, V>(x, w, y, k, n, c);
  int64_t vectors = (c1 - c) / kLanes;
  gemvPartialTile<M, V>(vectors, x, w, y, k, n, c);
  c += vectors * kLanes;
  if (c < c1) gemvTail<M>(x, w, y, k, n, c, c1 - c);
}

// One clone per instruction set; everything above is inlined into it, so
// Vec becomes one AVX-512 register on x86-64-v4 and two AVX2 ones on v3.
BDL_KERNEL_CLONES
void gemvColumns(const float* x, const float* w, float* y, int64_t m, int64_t k, int64_t n, int64_t c0, int64_t c1,
                 bool wide) {
  switch (m) {
  case 1: return gemvRows<1>(x, w, y, k, n, c0, c1, wide);
  case 2: return gemvRows<2>(x, w, y, k, n, c0, c1, wide);
  case 3: return gemvRows<3>(x, w, y, k, n, c0, c1, wide);
  default: return gemvRows<4>(x, w, y, k, n, c0, c1, wide);
  }
}

// Column range `part` of `parts`, cut at multiples of 16.
std::pair<int64_t, int64_t> columnRange(int64_t n, int part, int parts) {
  int64_t c0 = n * part / parts / kLanes * kLanes;
  int64_t c1 = part + 1 == parts ? n : n * (part + 1) / parts / kLanes * kLanes;
  return {c0, c1};
}

// One row and a big W: W's rows are cut in two fixed halves, each summed
// over every column (by its own thread when there are two), and the halves
// added. A thread then reads one contiguous half of W, where splitting by
// columns had each read 512 of every 1,024 bytes, which the hardware
// prefetchers follow less well (the MLP's batch-1 call: 5.1 -> 3.6 µs on
// two threads). The cut depends on k alone, so the result is the same bits for
// any thread count. More than two threads also split the columns. From 64 KB
// of W (the MLP's 256 x 128 layer: two threads beat one even there).
StepFn rowSplitStep(ValueId out, ValueId a, ValueId b, int64_t k, int64_t n, bool wide, ColumnEpilogue epilogue) {
  const int64_t half = k / 2;
  return [=](RunContext& ctx) {
    const float* x = ctx.at<float>(a);
    const float* w = ctx.at<float>(b);
    float* y = ctx.at<float>(out);
    // The second half's sums; the first half's go straight to y.
    thread_local std::vector<float> secondHalf;
    if (secondHalf.size() < static_cast<size_t>(n)) secondHalf.resize(static_cast<size_t>(n));
    float* y2 = secondHalf.data();
    auto sumHalf = [&](int which, int64_t c0, int64_t c1) {
      if (c0 >= c1) return;
      if (which == 0) gemvColumns(x, w, y, 1, half, n, c0, c1, wide);
      else gemvColumns(x + half, w + half * n, y2, 1, k - half, n, c0, c1, wide);
    };
    if (ctx.threads <= 1) {
      sumHalf(0, 0, n);
      sumHalf(1, 0, n);
    } else {
      const int ranges = std::max(1, ctx.threads / 2);
#pragma omp parallel num_threads(2 * ranges)
      {
        int id = omp_get_thread_num();
        auto [c0, c1] = columnRange(n, id / 2, ranges);
        sumHalf(id % 2, c0, c1);
      }
    }
    for (int64_t j = 0; j < n; ++j) y[j] += y2[j];
    if (epilogue) epilogue(ctx, 0, n);
  };
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
  bool big = bytes >= (256 << 10);
  bool wide = __builtin_cpu_supports("avx512f");
  if (m == 1 && bytes >= (64 << 10) && k >= 64) return rowSplitStep(out, a, b, k, n, wide, std::move(epilogue));
  return [=](RunContext& ctx) {
    const float* x = ctx.at<float>(a);
    const float* w = ctx.at<float>(b);
    float* y = ctx.at<float>(out);
    // Split columns in multiples of 16 when W is big enough to be worth it.
    int t = big && n >= 64 ? ctx.threads : 1;
    parallelFor(t, n, n / (2 * std::max(t, 1)), [&](int64_t c0, int64_t c1) {
      c0 = c0 / kLanes * kLanes;
      c1 = c1 == n ? n : c1 / kLanes * kLanes;
      if (c0 >= c1) return;
      gemvColumns(x, w, y, m, k, n, c0, c1, wide);
      if (epilogue) epilogue(ctx, c0, c1);
    });
  };
}

} // namespace bdl::codegen
