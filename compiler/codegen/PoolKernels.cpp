// Max and average pooling (NCHW) and their gradients. Windows walk only the
// taps inside the input, as the reference does: the max takes the first
// maximum in window order, the average divides by the full window
// (padding counts, PyTorch's count_include_pad).
#include "compiler/codegen/Kernels.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

namespace bdl::codegen {

using namespace bdl::ir;

namespace {

struct PoolGeom {
  int64_t planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw;
};

PoolGeom geometry(const Shape& x, const Shape& y, const Attrs& a) {
  return {x[0] * x[1], x[2], x[3], y[2], y[3], a.window[0], a.window[1],
          a.stride[0], a.stride[1], a.padding[0], a.padding[1]};
}

// Calls f(outIndexInPlane, inIndexInPlane) for each in-bounds tap, window order.
template <typename F> void forWindow(const PoolGeom& p, int64_t oy, int64_t ox, F&& f) {
  for (int64_t i = 0; i < p.kh; ++i) {
    int64_t iy = oy * p.sh - p.ph + i;
    if (iy < 0 || iy >= p.h) continue;
    for (int64_t j = 0; j < p.kw; ++j) {
      int64_t ix = ox * p.sw - p.pw + j;
      if (ix < 0 || ix >= p.w) continue;
      f(iy * p.w + ix);
    }
  }
}

// The first maximum of the window at (oy, ox) when the window lies inside
// the plane (no padding): no bounds checks in the hot loop.
inline int64_t argmaxInside(const PoolGeom& p, const float* xs, int64_t oy, int64_t ox) {
  int64_t base = oy * p.sh * p.w + ox * p.sw, arg = base;
  float best = xs[base];
  for (int64_t i = 0; i < p.kh; ++i)
    for (int64_t j = 0; j < p.kw; ++j) {
      int64_t xi = base + i * p.w + j;
      if (xs[xi] > best) { best = xs[xi]; arg = xi; }
    }
  return arg;
}

// 2x2 windows with stride 2, no padding (LeNet's pools): the first maximum
// of each window, written with selects so the loop vectorises.
BDL_KERNEL_CLONES void maxPool2x2Plane(const float* xs, float* ys, int64_t w, int64_t oh, int64_t ow) {
  for (int64_t oy = 0; oy < oh; ++oy) {
    const float* r0 = xs + 2 * oy * w;
    const float* r1 = r0 + w;
    float* y = ys + oy * ow;
    for (int64_t ox = 0; ox < ow; ++ox) {
      float m = r0[2 * ox];
      m = r0[2 * ox + 1] > m ? r0[2 * ox + 1] : m;
      m = r1[2 * ox] > m ? r1[2 * ox] : m;
      m = r1[2 * ox + 1] > m ? r1[2 * ox + 1] : m;
      y[ox] = m;
    }
  }
}

// Its gradient: each window's four inputs get g at the first maximum and +0
// elsewhere, so the windows write the plane without a scatter.
BDL_KERNEL_CLONES void maxPool2x2GradPlane(const float* __restrict xs, const float* __restrict gs, float* __restrict dx,
                                    int64_t w, int64_t oh, int64_t ow) {
  for (int64_t oy = 0; oy < oh; ++oy) {
    const float* __restrict r0 = xs + 2 * oy * w;
    const float* __restrict r1 = r0 + w;
    float* __restrict d0 = dx + 2 * oy * w;
    float* __restrict d1 = d0 + w;
    const float* __restrict g = gs + oy * ow;
    for (int64_t ox = 0; ox < ow; ++ox) {
      float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
      // Masks of "this tap is the first maximum", branch-free.
      float m = b > a ? b : a;
      float mm = c > m ? c : m;
      // Masks of "this tap is the first maximum" as bits, so that neither
      // the vector loop nor its scalar tail (rows shorter than a vector)
      // branches on data: relu zeros make those branches unpredictable.
      uint32_t mD = 0u - static_cast<uint32_t>(d > mm);
      uint32_t mC = (0u - static_cast<uint32_t>(c > m)) & ~mD;
      uint32_t mB = (0u - static_cast<uint32_t>(b > a)) & ~mD & ~mC;
      uint32_t mA = ~(mB | mC | mD);
      uint32_t gv = std::bit_cast<uint32_t>(g[ox]);
      d0[2 * ox] = std::bit_cast<float>(gv & mA);
      d0[2 * ox + 1] = std::bit_cast<float>(gv & mB);
      d1[2 * ox] = std::bit_cast<float>(gv & mC);
      d1[2 * ox + 1] = std::bit_cast<float>(gv & mD);
    }
  }
}

#if defined(__GNUC__) && defined(__x86_64__)
// The same on AVX-512, over input columns 16 at a time with each lane's
// window partner one lane over (masked loads and stores for the row ends):
// LeNet's rows hold 14 windows or fewer, too short for the loop above to
// vectorise over windows, which left it scalar and 10% of a training step.
__attribute__((target("avx512f"))) void maxPool2x2GradPlane512(const float* xs, const float* gs, float* dx,
                                                                 int64_t w, int64_t oh, int64_t ow) {
  const __m512i spread = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
  const __mmask16 even = 0x5555;
  for (int64_t oy = 0; oy < oh; ++oy) {
    const float* r0 = xs + 2 * oy * w;
    const float* r1 = r0 + w;
    float* d0 = dx + 2 * oy * w;
    float* d1 = d0 + w;
    const float* g = gs + oy * ow;
    for (int64_t j = 0; j < 2 * ow; j += 16) {
      int64_t n = std::min<int64_t>(16, 2 * ow - j);
      __mmask16 k = static_cast<__mmask16>((1u << n) - 1), kg = static_cast<__mmask16>((1u << (n / 2)) - 1);
      __m512 x0 = _mm512_maskz_loadu_ps(k, r0 + j), x1 = _mm512_maskz_loadu_ps(k, r1 + j);
      __m512 gd = _mm512_maskz_permutexvar_ps(0xFFFF, spread, _mm512_maskz_loadu_ps(kg, g + j / 2));
      // Each lane's pair partner (the masked forms: GCC 12 warns that the
      // unmasked ones read an undefined vector).
      __m512 s0 = _mm512_maskz_permute_ps(0xFFFF, x0, 0xB1), s1 = _mm512_maskz_permute_ps(0xFFFF, x1, 0xB1);
      // The window's taps a b / c d, seen from either lane of the pair.
      __m512 a = _mm512_mask_blend_ps(even, s0, x0), b = _mm512_mask_blend_ps(even, x0, s0);
      __m512 c = _mm512_mask_blend_ps(even, s1, x1), d = _mm512_mask_blend_ps(even, x1, s1);
      __mmask16 bGtA = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ);
      __m512 m = _mm512_mask_blend_ps(bGtA, a, b);
      __mmask16 cGtM = _mm512_cmp_ps_mask(c, m, _CMP_GT_OQ);
      __m512 mm = _mm512_mask_blend_ps(cGtM, m, c);
      __mmask16 isD = _mm512_cmp_ps_mask(d, mm, _CMP_GT_OQ);
      __mmask16 isC = cGtM & ~isD, isB = bGtA & ~isD & ~isC;
      __mmask16 isA = static_cast<__mmask16>(~(isB | isC | isD));
      __mmask16 top = (isA & even) | (isB & ~even), bottom = (isC & even) | (isD & ~even);
      _mm512_mask_storeu_ps(d0 + j, k, _mm512_maskz_mov_ps(top, gd));
      _mm512_mask_storeu_ps(d1 + j, k, _mm512_maskz_mov_ps(bottom, gd));
    }
  }
}

bool hasAvx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}
#endif

// Picks the AVX-512 version where the CPU has it.
void maxPool2x2Grad(const float* xs, const float* gs, float* dx, int64_t w, int64_t oh, int64_t ow) {
#if defined(__GNUC__) && defined(__x86_64__)
  if (hasAvx512()) return maxPool2x2GradPlane512(xs, gs, dx, w, oh, ow);
#endif
  maxPool2x2GradPlane(xs, gs, dx, w, oh, ow);
}

} // namespace

std::optional<StepFn> poolKernel(const Graph& g, ValueId out) {
  const Node& n = g.node(out);
  if (n.type.dtype != DType::F32) return std::nullopt;
  const Attrs a = n.attrs;
  switch (n.op) {
  case OpKind::MaxPool2d:
  case OpKind::MaxPool2dGrad: {
    ValueId x = n.operands[0];
    bool grad = n.op == OpKind::MaxPool2dGrad;
    Shape ys = grad ? *g.type(n.operands[1]).shape() : *n.type.shape();
    PoolGeom p = geometry(*g.type(x).shape(), ys, a);
    ValueId gv = grad ? n.operands[1] : 0;
    return [p, x, gv, out, grad](RunContext& ctx) {
      const float* xp = ctx.at<float>(x);
      float* yp = ctx.at<float>(out);
      const float* gp = grad ? ctx.at<float>(gv) : nullptr;
      bool twoByTwo = p.kh == 2 && p.kw == 2 && p.sh == 2 && p.sw == 2 && p.ph == 0 && p.pw == 0;
      bool covers = p.h == 2 * p.oh && p.w == 2 * p.ow; // the windows tile the plane
      parallelFor(ctx.threads, p.planes, 8, [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
          const float* xs = xp + pl * p.h * p.w;
          if (twoByTwo && !grad) {
            maxPool2x2Plane(xs, yp + pl * p.oh * p.ow, p.w, p.oh, p.ow);
            continue;
          }
          if (grad && !(twoByTwo && covers)) std::memset(yp + pl * p.h * p.w, 0, sizeof(float) * p.h * p.w);
          if (twoByTwo && grad) {
            maxPool2x2Grad(xs, gp + pl * p.oh * p.ow, yp + pl * p.h * p.w, p.w, p.oh, p.ow);
            continue;
          }
          for (int64_t oy = 0; oy < p.oh; ++oy)
            for (int64_t ox = 0; ox < p.ow; ++ox) {
              int64_t arg = -1;
              if (p.ph == 0 && p.pw == 0) arg = argmaxInside(p, xs, oy, ox);
              else
                forWindow(p, oy, ox, [&](int64_t xi) {
                  if (arg < 0 || xs[xi] > xs[arg]) arg = xi;
                });
              int64_t yi = pl * p.oh * p.ow + oy * p.ow + ox;
              if (grad) yp[pl * p.h * p.w + arg] += gp[yi];
              else yp[yi] = xs[arg];
            }
        }
      });
    };
  }
  case OpKind::AvgPool2d:
  case OpKind::AvgPool2dGrad: {
    bool grad = n.op == OpKind::AvgPool2dGrad;
    ValueId v = n.operands[0];
    Shape xs = grad ? *n.type.shape() : *g.type(v).shape();
    Shape ys = grad ? *g.type(v).shape() : *n.type.shape();
    PoolGeom p = geometry(xs, ys, a);
    float scale = static_cast<float>(1.0 / static_cast<double>(a.window[0] * a.window[1]));
    return [p, v, out, grad, scale](RunContext& ctx) {
      const float* in = ctx.at<float>(v);
      float* o = ctx.at<float>(out);
      parallelFor(ctx.threads, p.planes, 8, [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
          float* dx = o + pl * p.h * p.w;
          const float* xs = in + pl * p.h * p.w;
          if (grad) std::memset(dx, 0, sizeof(float) * p.h * p.w);
          for (int64_t oy = 0; oy < p.oh; ++oy)
            for (int64_t ox = 0; ox < p.ow; ++ox) {
              int64_t yi = pl * p.oh * p.ow + oy * p.ow + ox;
              if (grad) {
                float gv = in[yi] * scale;
                forWindow(p, oy, ox, [&](int64_t xi) { dx[xi] += gv; });
              } else {
                float acc = 0;
                forWindow(p, oy, ox, [&](int64_t xi) { acc += xs[xi]; });
                o[yi] = acc * scale;
              }
            }
        }
      });
    };
  }
  default: return std::nullopt;
  }
}

} // namespace bdl::codegen
