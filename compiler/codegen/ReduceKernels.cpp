// Sum, mean, max and min over axes, softmax and log_softmax along one axis
// (f32). Axis sets that merge into one reduced run [outer, reduced, inner]
// split over threads; any other set (a conv bias gradient sums N, H and W
// of NCHW) walks the merged dimensions on one thread.
#include "compiler/codegen/Kernels.h"

#include "compiler/ir/ops/Common.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bdl::codegen {

using namespace bdl::ir;

namespace {

struct Run3 {
  int64_t outer = 1, len = 1, inner = 1;
};

// The input as [outer, len, inner] with the reduced axes in the middle, if
// the reduced axes (ignoring size-1 dimensions) are contiguous.
std::optional<Run3> reducedRun(const Shape& s, const std::vector<int64_t>& axes) {
  Run3 r;
  int phase = 0; // 0: before the reduced run, 1: in it, 2: after
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    if (s[d] == 1) continue;
    bool red = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (red) {
      if (phase == 2) return std::nullopt;
      phase = 1;
      r.len *= s[d];
    } else if (phase == 0) {
      r.outer *= s[d];
    } else {
      phase = 2;
      r.inner *= s[d];
    }
  }
  return r;
}

StepFn reduceStep(OpKind op, Run3 r, ValueId x, ValueId out) {
  return [op, r, x, out](RunContext& ctx) {
    const float* xp = ctx.at<float>(x);
    float* yp = ctx.at<float>(out);
    const float inf = std::numeric_limits<float>::infinity();
    float init = op == OpKind::Max ? -inf : op == OpKind::Min ? inf : 0.0f;
    float scale = op == OpKind::Mean && r.len > 0 ? 1.0f / static_cast<float>(r.len) : 1.0f;
    bool sum = op == OpKind::Sum || op == OpKind::Mean;
    parallelFor(ctx.threads, r.outer, 4, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        float* y = yp + o * r.inner;
        const float* xs = xp + o * r.len * r.inner;
        if (r.inner == 1) {
          double acc = sum ? 0.0 : init;
          for (int64_t k = 0; k < r.len; ++k) {
            double v = xs[k];
            if (sum) acc += v;
            else if (op == OpKind::Max) acc = std::max(acc, v);
            else acc = std::min(acc, v);
          }
          y[0] = static_cast<float>(acc) * scale;
          continue;
        }
        for (int64_t i = 0; i < r.inner; ++i) y[i] = init;
        for (int64_t k = 0; k < r.len; ++k) {
          const float* row = xs + k * r.inner;
          if (sum)
            for (int64_t i = 0; i < r.inner; ++i) y[i] += row[i];
          else if (op == OpKind::Max)
            for (int64_t i = 0; i < r.inner; ++i) y[i] = std::max(y[i], row[i]);
          else
            for (int64_t i = 0; i < r.inner; ++i) y[i] = std::min(y[i], row[i]);
        }
        if (scale != 1.0f)
          for (int64_t i = 0; i < r.inner; ++i) y[i] *= scale;
      }
    });
  };
}


// Dimensions merged where neighbours are both reduced or both kept.
struct Merged {
  std::vector<int64_t> size, inStride, outStride;
  std::vector<bool> reduced;
};

Merged mergeDims(const Shape& s, const std::vector<int64_t>& axes) {
  Merged m;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    if (s[d] == 1) continue;
    bool red = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!m.size.empty() && m.reduced.back() == red) m.size.back() *= s[d];
    else {
      m.size.push_back(s[d]);
      m.reduced.push_back(red);
    }
  }
  size_t k = m.size.size();
  m.inStride.assign(k, 1);
  m.outStride.assign(k, 0);
  int64_t in = 1, out = 1;
  for (size_t d = k; d-- > 0;) {
    m.inStride[d] = in;
    in *= m.size[d];
    if (!m.reduced[d]) {
      m.outStride[d] = out;
      out *= m.size[d];
    }
  }
  return m;
}

// Sum of `n` contiguous floats in 16 independent lanes (vectorisable
// without reassociating one accumulator), folded in double.
BDL_KERNEL_CLONES
double laneSum(const float* x, int64_t n) {
  float lanes[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) lanes[l] += x[i + l];
  double total = 0;
  for (int l = 0; l < 16; ++l) total += lanes[l];
  for (; i < n; ++i) total += x[i];
  return total;
}

// Sum or mean over [R1, K, R2] keeping K (a convolution's bias gradient:
// N, H and W of NCHW), split over K.
StepFn outerInnerSumStep(bool mean, Merged m, ValueId x, ValueId out) {
  return [=](RunContext& ctx) {
    const float* xp = ctx.at<float>(x);
    float* yp = ctx.at<float>(out);
    int64_t r1 = m.size[0], k = m.size[1], r2 = m.size[2];
    double scale = mean ? 1.0 / static_cast<double>(r1 * r2) : 1.0;
    parallelFor(ctx.threads, k, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        double total = 0;
        for (int64_t i = 0; i < r1; ++i) total += laneSum(xp + (i * k + c) * r2, r2);
        yp[c] = static_cast<float>(total * scale);
      }
    });
  };
}

StepFn generalReduceStep(OpKind op, Merged m, int64_t outCount, int64_t inCount, ValueId x, ValueId out) {
  return [=](RunContext& ctx) {
    const float* xp = ctx.at<float>(x);
    float* yp = ctx.at<float>(out);
    const float inf = std::numeric_limits<float>::infinity();
    float init = op == OpKind::Max ? -inf : op == OpKind::Min ? inf : 0.0f;
    for (int64_t i = 0; i < outCount; ++i) yp[i] = init;
    auto combine = [op](float a, float b) {
      return op == OpKind::Max ? std::max(a, b) : op == OpKind::Min ? std::min(a, b) : a + b;
    };
    size_t k = m.size.size();
    int64_t len = m.size[k - 1];
    bool innerReduced = m.reduced[k - 1];
    std::vector<int64_t> idx(k, 0);
    int64_t xo = 0, yo = 0;
    for (int64_t base = 0; base < inCount; base += len) {
      const float* xs = xp + xo;
      if (innerReduced) {
        float acc = init;
        for (int64_t i = 0; i < len; ++i) acc = combine(acc, xs[i]);
        yp[yo] = combine(yp[yo], acc);
      } else {
        for (int64_t i = 0; i < len; ++i) yp[yo + i] = combine(yp[yo + i], xs[i]);
      }
      // Next outer position (odometer over all but the inner dimension).
      for (size_t d = k - 1; d-- > 0;) {
        xo += m.inStride[d];
        yo += m.outStride[d];
        if (++idx[d] < m.size[d]) break;
        xo -= m.inStride[d] * m.size[d];
        yo -= m.outStride[d] * m.size[d];
        idx[d] = 0;
      }
    }
    if (op == OpKind::Mean && outCount > 0) {
      float scale = static_cast<float>(static_cast<double>(outCount) / static_cast<double>(inCount));
      for (int64_t i = 0; i < outCount; ++i) yp[i] *= scale;
    }
  };
}

StepFn softmaxStep(bool log, ops::AxisSplit sp, ValueId x, ValueId out) {
  return [log, sp, x, out](RunContext& ctx) {
    const float* xp = ctx.at<float>(x);
    float* yp = ctx.at<float>(out);
    parallelFor(ctx.threads, sp.outer * sp.inner, 16, [&](int64_t b, int64_t e) {
      for (int64_t line = b; line < e; ++line) {
        int64_t o = line / sp.inner, i = line % sp.inner;
        const float* xs = xp + o * sp.len * sp.inner + i;
        float* ys = yp + o * sp.len * sp.inner + i;
        float best = -std::numeric_limits<float>::infinity();
        for (int64_t k = 0; k < sp.len; ++k) best = std::max(best, xs[k * sp.inner]);
        double total = 0;
        for (int64_t k = 0; k < sp.len; ++k) total += std::exp(xs[k * sp.inner] - best);
        if (log) {
          float lt = static_cast<float>(std::log(total));
          for (int64_t k = 0; k < sp.len; ++k) ys[k * sp.inner] = xs[k * sp.inner] - best - lt;
        } else {
          float inv = static_cast<float>(1.0 / total);
          for (int64_t k = 0; k < sp.len; ++k) ys[k * sp.inner] = std::exp(xs[k * sp.inner] - best) * inv;
        }
      }
    });
  };
}

} // namespace

std::optional<StepFn> reduceKernel(const Graph& g, ValueId out) {
  const Node& n = g.node(out);
  ValueId x = n.operands[0];
  if (n.type.dtype != DType::F32 || g.type(x).dtype != DType::F32) return std::nullopt;
  Shape s = *g.type(x).shape();
  if (numElements(s) == 0) return std::nullopt;
  auto axes = ops::normalizeAxes(n.attrs.axes, static_cast<int64_t>(s.size()), 0);
  if (!axes) return std::nullopt;
  switch (n.op) {
  case OpKind::Sum:
  case OpKind::Mean:
  case OpKind::Max:
  case OpKind::Min: {
    if (auto r = reducedRun(s, *axes)) return reduceStep(n.op, *r, x, out);
    Merged m = mergeDims(s, *axes);
    bool sum = n.op == OpKind::Sum || n.op == OpKind::Mean;
    if (sum && m.size.size() == 3 && m.reduced[0] && !m.reduced[1] && m.reduced[2])
      return outerInnerSumStep(n.op == OpKind::Mean, m, x, out);
    return generalReduceStep(n.op, m, numElements(*n.type.shape()), numElements(s), x, out);
  }
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
    return softmaxStep(n.op == OpKind::LogSoftmax, ops::splitAt(s, (*axes)[0]), x, out);
  default: return std::nullopt;
  }
}

} // namespace bdl::codegen
