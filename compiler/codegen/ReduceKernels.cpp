// Sum, mean, max and min over axes, softmax and log_softmax along one axis
// (f32). Reductions handle every axis set that merges into one reduced run
// [outer, reduced, inner]; others fall back to the reference kernel.
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
    auto r = reducedRun(s, *axes);
    if (!r) return std::nullopt;
    return reduceStep(n.op, *r, x, out);
  }
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
    return softmaxStep(n.op == OpKind::LogSoftmax, ops::splitAt(s, (*axes)[0]), x, out);
  default: return std::nullopt;
  }
}

} // namespace bdl::codegen
