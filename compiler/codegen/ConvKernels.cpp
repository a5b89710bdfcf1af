// Direct convolutions: each image's input planes are copied once into a
// zero-padded buffer whose rows are long enough for whole 16-float vectors
// (so the hot loops have no bounds checks and no tails), then a 16-wide
// strip of outputs of up to 8 channels stays in registers while the taps
// stream by (forward), or the gradients of 4 channels x one kernel row do
// while the strips stream by (weights).
#include "compiler/codegen/ConvKernels.h"

#include "compiler/codegen/Kernels.h"
#include "compiler/ir/Error.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace bdl::codegen {

namespace {

// The 64-byte vector helpers are always inlined into the clones, so the
// ABI of passing one by value (which GCC warns differs with AVX-512) never
// shows at a call.
#pragma GCC diagnostic ignored "-Wpsabi"
using v16 = float __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;

[[gnu::always_inline]] inline v16 load16(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

[[gnu::always_inline]] inline void store16(float* p, const v16& v) { std::memcpy(p, &v, sizeof v); }

[[gnu::always_inline]] inline float sum16(const v16& v) {
  float s = 0;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

int64_t strips(const DirectConvShape& s) { return (s.ow + kLanes - 1) / kLanes; }

// The padded copy of one image: rows that the windows reach (oh + kh - 1),
// each strips * 16 + kw - 1 wide, zero outside the input.
struct Padded {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;

  explicit Padded(const DirectConvShape& s)
      : rows(s.oh + s.kh - 1), cols(strips(s) * kLanes + s.kw - 1),
        data(static_cast<size_t>(s.c * rows * cols), 0.0f) {}

  void fill(const DirectConvShape& s, const float* x) {
    int64_t x0 = std::max<int64_t>(0, -s.pw), x1 = std::min(s.w, cols - s.pw); // input columns kept
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t iy = 0; iy < s.h; ++iy) {
        int64_t r = iy + s.ph;
        if (r < 0 || r >= rows || x1 <= x0) continue;
        std::memcpy(&data[static_cast<size_t>((c * rows + r) * cols + x0 + s.pw)], x + (c * s.h + iy) * s.w + x0,
                    sizeof(float) * static_cast<size_t>(x1 - x0));
      }
  }
  const float* row(int64_t c, int64_t r) const { return &data[static_cast<size_t>((c * rows + r) * cols)]; }
};

// Outputs [ob, ob + B) of strips [st, st + S) of rows [oy, oy + R) of one
// image; w and y point at channel ob. Each broadcast weight is used for
// R x S vectors, which keeps the loop from being bound by loads (two strips
// of a wide row, or two rows of a narrow one).
template <int B, int R, int S>
[[gnu::always_inline]] inline void forwardTile(const DirectConvShape& s, const Padded& p, const float* w, float* y,
                                               int64_t oy, int64_t st) {
  int64_t taps = s.kh * s.kw, wStride = s.c * taps;
  v16 acc[B][R][S] = {};
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t ky = 0; ky < s.kh; ++ky) {
      const float* in[R];
      for (int r = 0; r < R; ++r) in[r] = p.row(c, oy + r + ky) + st * kLanes;
      const float* wr = w + c * taps + ky * s.kw;
      for (int64_t kx = 0; kx < s.kw; ++kx) {
        v16 v[R][S];
        for (int r = 0; r < R; ++r)
          for (int j = 0; j < S; ++j) v[r][j] = load16(in[r] + j * kLanes + kx);
        for (int b = 0; b < B; ++b) {
          float wb = wr[b * wStride + kx];
          for (int r = 0; r < R; ++r)
            for (int j = 0; j < S; ++j) acc[b][r][j] += v[r][j] * wb;
        }
      }
    }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < S; ++j) {
      int64_t x0 = (st + j) * kLanes, n = std::min(kLanes, s.ow - x0);
      for (int b = 0; b < B; ++b)
        std::memcpy(y + (b * s.oh + oy + r) * s.ow + x0, &acc[b][r][j], sizeof(float) * static_cast<size_t>(n));
    }
}

template <int B>
[[gnu::always_inline]] inline void forwardBlock(const DirectConvShape& s, const Padded& p, const float* w, float* y) {
  int64_t n = strips(s);
  if (n == 1) {
    int64_t oy = 0;
    for (; oy + 2 <= s.oh; oy += 2) forwardTile<B, 2, 1>(s, p, w, y, oy, 0);
    if (oy < s.oh) forwardTile<B, 1, 1>(s, p, w, y, oy, 0);
    return;
  }
  for (int64_t oy = 0; oy < s.oh; ++oy) {
    int64_t st = 0;
    for (; st + 2 <= n; st += 2) forwardTile<B, 1, 2>(s, p, w, y, oy, st);
    if (st < n) forwardTile<B, 1, 1>(s, p, w, y, oy, st);
  }
}

BDL_KERNEL_CLONES void forwardImage(const DirectConvShape& s, const Padded& p, const float* w, float* y) {
  for (int64_t ob = 0; ob < s.o; ob += 8) {
    const float* wb = w + ob * s.c * s.kh * s.kw;
    float* yb = y + ob * s.oh * s.ow;
    switch (std::min<int64_t>(8, s.o - ob)) {
    case 1: forwardBlock<1>(s, p, wb, yb); break;
    case 2: forwardBlock<2>(s, p, wb, yb); break;
    case 3: forwardBlock<3>(s, p, wb, yb); break;
    case 4: forwardBlock<4>(s, p, wb, yb); break;
    case 5: forwardBlock<5>(s, p, wb, yb); break;
    case 6: forwardBlock<6>(s, p, wb, yb); break;
    case 7: forwardBlock<7>(s, p, wb, yb); break;
    default: forwardBlock<8>(s, p, wb, yb); break;
    }
  }
}

// The gradient of one image's dy, strips padded with zeros past ow so a
// whole vector of it can be multiplied in.
struct PaddedGrad {
  int64_t cols = 0;
  std::vector<float> data;
  explicit PaddedGrad(const DirectConvShape& s)
      : cols(strips(s) * kLanes), data(static_cast<size_t>(s.o * s.oh * cols), 0.0f) {}
  void fill(const DirectConvShape& s, const float* dy) {
    for (int64_t r = 0; r < s.o * s.oh; ++r)
      std::memcpy(&data[static_cast<size_t>(r * cols)], dy + r * s.ow, sizeof(float) * static_cast<size_t>(s.ow));
  }
  const float* row(int64_t o, int64_t oy, int64_t oh) const { return &data[static_cast<size_t>((o * oh + oy) * cols)]; }
};

// Adds one image's share to dw[ob, ob + B) (dw points at channel ob), as
// vectors of 16 partial sums: reducing each to one float per image would
// cost as much as the products.
template <int B, int K>
[[gnu::always_inline]] inline void gradWeightBlock(const DirectConvShape& s, const Padded& p, const PaddedGrad& d,
                                                   int64_t ob, float* dw) {
  int64_t taps = s.kh * K;
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t ky = 0; ky < s.kh; ++ky) {
      v16 acc[B][K] = {};
      for (int64_t oy = 0; oy < s.oh; ++oy)
        for (int64_t st = 0; st < strips(s); ++st) {
          v16 g[B];
          for (int b = 0; b < B; ++b) g[b] = load16(d.row(ob + b, oy, s.oh) + st * kLanes);
          const float* in = p.row(c, oy + ky) + st * kLanes;
          for (int kx = 0; kx < K; ++kx) {
            v16 v = load16(in + kx);
            for (int b = 0; b < B; ++b) acc[b][kx] += g[b] * v;
          }
        }
      for (int b = 0; b < B; ++b)
        for (int kx = 0; kx < K; ++kx) {
          float* at = dw + ((b * s.c + c) * taps + ky * K + kx) * kLanes;
          store16(at, load16(at) + acc[b][kx]);
        }
    }
}

template <int K>
[[gnu::always_inline]] inline void gradWeightK(const DirectConvShape& s, const Padded& p, const PaddedGrad& d,
                                               float* dw) {
  for (int64_t ob = 0; ob < s.o; ob += 4) {
    float* db = dw + ob * s.c * s.kh * K * kLanes;
    switch (std::min<int64_t>(4, s.o - ob)) {
    case 1: gradWeightBlock<1, K>(s, p, d, ob, db); break;
    case 2: gradWeightBlock<2, K>(s, p, d, ob, db); break;
    case 3: gradWeightBlock<3, K>(s, p, d, ob, db); break;
    default: gradWeightBlock<4, K>(s, p, d, ob, db); break;
    }
  }
}

BDL_KERNEL_CLONES void gradWeightImage(const DirectConvShape& s, const Padded& p, const PaddedGrad& d, float* dw) {
  switch (s.kw) {
  case 1: gradWeightK<1>(s, p, d, dw); break;
  case 2: gradWeightK<2>(s, p, d, dw); break;
  case 3: gradWeightK<3>(s, p, d, dw); break;
  case 4: gradWeightK<4>(s, p, d, dw); break;
  case 5: gradWeightK<5>(s, p, d, dw); break;
  case 6: gradWeightK<6>(s, p, d, dw); break;
  default: gradWeightK<7>(s, p, d, dw); break;
  }
}

int teamFor(const DirectConvShape& s, int threads) { return s.n >= 2 ? std::max(1, threads) : 1; }

} // namespace

void directConvForward(const DirectConvShape& s, const float* x, const float* w, float* y, int threads) {
  int t = teamFor(s, threads);
#pragma omp parallel num_threads(t)
  {
    int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
    Padded p(s);
    for (int64_t i = s.n * id / nt; i < s.n * (id + 1) / nt; ++i) {
      p.fill(s, x + i * s.c * s.h * s.w);
      forwardImage(s, p, w, y + i * s.o * s.oh * s.ow);
    }
  }
}

void directConvGradInput(const DirectConvShape& s, const float* dy, const float* w, float* dx, int threads) {
  // dx is the forward convolution of dy (padded by kernel - 1 - padding)
  // with w's two channel axes swapped and its taps flipped.
  DirectConvShape t{s.n, s.o, s.oh, s.ow, s.c, s.kh, s.kw, s.h, s.w, s.kh - 1 - s.ph, s.kw - 1 - s.pw};
  int64_t taps = s.kh * s.kw;
  std::vector<float> flipped(static_cast<size_t>(s.o * s.c * taps));
  for (int64_t o = 0; o < s.o; ++o)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t k = 0; k < taps; ++k)
        flipped[static_cast<size_t>((c * s.o + o) * taps + taps - 1 - k)] = w[(o * s.c + c) * taps + k];
  directConvForward(t, dy, flipped.data(), dx, threads);
}

void directConvGradWeight(const DirectConvShape& s, const float* x, const float* dy, float* dw, int threads) {
  BDL_IR_CHECK(s.kw >= 1 && s.kw <= kDirectConvMaxKw, "direct weight gradient of a kernel " + std::to_string(s.kw) +
                                                          " wide (DnnlConv.cpp offers it up to kDirectConvMaxKw)");
  int t = teamFor(s, threads);
  size_t size = static_cast<size_t>(s.o * s.c * s.kh * s.kw);
  // Per thread, 16 partial sums per weight (a float buffer: std::vector
  // does not promise the vector type's 64-byte alignment).
  std::vector<std::vector<float>> partial(static_cast<size_t>(t), std::vector<float>(size * kLanes, 0.0f));
#pragma omp parallel num_threads(t)
  {
    int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
    Padded p(s);
    PaddedGrad d(s);
    for (int64_t i = s.n * id / nt; i < s.n * (id + 1) / nt; ++i) {
      p.fill(s, x + i * s.c * s.h * s.w);
      d.fill(s, dy + i * s.o * s.oh * s.ow);
      gradWeightImage(s, p, d, partial[static_cast<size_t>(id)].data());
    }
  }
  for (size_t j = 0; j < size; ++j) {
    v16 total = load16(&partial[0][j * kLanes]);
    for (size_t k = 1; k < partial.size(); ++k) total += load16(&partial[k][j * kLanes]);
    dw[j] = sum16(total);
  }
}

} // namespace bdl::codegen
