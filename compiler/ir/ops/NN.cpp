// Neural-network ops: conv2d (NCHW, OIHW, stride/padding/dilation/groups)
// and its two gradient ops, max/avg pooling and their gradients, dropout,
// embedding and its gradient. Shape rule, kernel and gradient of each op.
#include "compiler/ir/Random.h"
#include "compiler/ir/ops/Common.h"
#include "compiler/ir/ops/Families.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bdl::ir {

static Attrs convAttrs(const Conv2dOptions& o) {
  Attrs a;
  a.stride = o.stride;
  a.padding = o.padding;
  a.dilation = o.dilation;
  a.count = o.groups;
  return a;
}

static Attrs poolAttrs(const Pool2dOptions& o) {
  Attrs a;
  a.window = o.size;
  a.stride = {o.stride[0] ? o.stride[0] : o.size[0], o.stride[1] ? o.stride[1] : o.size[1]};
  a.padding = o.padding;
  return a;
}

Expected<ValueId> GraphBuilder::conv2d(ValueId x, ValueId w, Conv2dOptions opts) {
  return addOp(OpKind::Conv2d, {x, w}, convAttrs(opts));
}
Expected<ValueId> GraphBuilder::maxPool2d(ValueId x, Pool2dOptions opts) {
  return addOp(OpKind::MaxPool2d, {x}, poolAttrs(opts));
}
Expected<ValueId> GraphBuilder::avgPool2d(ValueId x, Pool2dOptions opts) {
  return addOp(OpKind::AvgPool2d, {x}, poolAttrs(opts));
}
Expected<ValueId> GraphBuilder::globalAvgPool(ValueId x) {
  if (x < graph().size() && type(x).rank() != 4)
    return makeError("global_avg_pool needs an [N, C, H, W] tensor, got " + type(x).toString(), 0);
  return mean(x, {2, 3}, false);
}
Expected<ValueId> GraphBuilder::dropout(ValueId x, double p, uint64_t seed,
                                        std::optional<ValueId> key) {
  Attrs a;
  a.alpha = p;
  a.seed = seed;
  return addOp(OpKind::Dropout, {x, key ? *key : stepCounter()}, a);
}

ValueId GraphBuilder::stepCounter() {
  if (auto existing = g_.findLeaf(OpKind::State, kStepCounterName)) return *existing;
  ValueId step = *state(kStepCounterName, scalarType(DType::I64), Initializer::zeros());
  ValueId next = *add(step, scalar(1, DType::I64));
  (void)*stateUpdate(step, next);
  return step;
}
Expected<ValueId> GraphBuilder::embedding(ValueId ids, ValueId table) {
  return addOp(OpKind::Embedding, {ids, table});
}

namespace ops {

namespace {
// Geometry of a 2-D window op on NCHW tensors.
struct Window {
  int64_t n, c, h, w;   // input
  int64_t oc, oh, ow;   // output channels and spatial size
  int64_t kh, kw;       // window / kernel
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t groups;
};

Expected<int64_t> outSize(const Dim& in, int64_t k, int64_t s, int64_t p, int64_t d,
                          std::string_view op, int operand, int dim) {
  if (in.isSymbolic())
    return makeError(std::string(op) + ": spatial dimension " + in.toString() +
                         " must be concrete",
                     operand, dim);
  if (k < 1 || s < 1 || p < 0 || d < 1)
    return makeError(std::string(op) + ": window, stride and dilation must be positive and "
                                       "padding non-negative");
  int64_t span = d * (k - 1) + 1;
  if (in.value + 2 * p < span)
    return makeError(std::string(op) + ": the window (" + std::to_string(span) +
                         ") is larger than the padded input (" +
                         std::to_string(in.value + 2 * p) + ") along dimension " +
                         std::to_string(dim),
                     operand, dim);
  return (in.value + 2 * p - span) / s + 1;
}

Expected<TensorType> inferConv(std::span<const TensorType> in, const Attrs& a) {
  const TensorType &x = in[0], &w = in[1];
  for (int i = 0; i < 2; ++i) {
    if (auto r = requireRank(in[i], i, 4, "conv2d"); !r)
      return makeError(r.error().message + (i == 0 ? " ([N, C, H, W])" : " ([O, I, kh, kw])"), i);
    if (auto f = requireFloat(in[i], i, "conv2d"); !f) return f.error();
  }
  if (x.dtype != w.dtype) return dtypeMismatch(x, 0, w, 1);
  int64_t groups = a.count;
  if (groups < 1) return makeError("conv2d: groups must be positive");
  if (w.dims[1].isSymbolic() || x.dims[1] != Dim::of(w.dims[1].value * groups))
    return makeError("conv2d: input channels " + x.dims[1].toString() + " of " + describe(x, 0) +
                         " do not match weight channels " + w.dims[1].toString() +
                         (groups == 1 ? std::string() : " x groups " + std::to_string(groups)) + " of " +
                         describe(w, 1),
                     1, 1);
  if (w.dims[0].isSymbolic() || w.dims[0].value % groups != 0)
    return makeError("conv2d: output channels " + w.dims[0].toString() +
                         " are not divisible by groups " + std::to_string(groups),
                     1, 0);
  Dims out = {x.dims[0], w.dims[0]};
  for (int i = 0; i < 2; ++i) {
    if (w.dims[2 + i].isSymbolic()) return makeError("conv2d: kernel size must be concrete", 1);
    auto o = outSize(x.dims[2 + i], w.dims[2 + i].value, a.stride[i], a.padding[i],
                     a.dilation[i], "conv2d", 0, 2 + i);
    if (!o) return o.error();
    out.push_back(Dim::of(*o));
  }
  return TensorType{x.dtype, out};
}

Expected<TensorType> inferPool(OpKind op, const TensorType& x, const Attrs& a) {
  std::string_view name = opName(op);
  if (auto r = requireRank(x, 0, 4, name); !r)
    return makeError(r.error().message + " ([N, C, H, W])", 0);
  if (auto f = requireFloat(x, 0, name); !f) return f.error();
  Dims out = {x.dims[0], x.dims[1]};
  for (int i = 0; i < 2; ++i) {
    if (a.padding[i] * 2 > a.window[i])
      return makeError(std::string(name) + ": padding must be at most half the window");
    auto o = outSize(x.dims[2 + i], a.window[i], a.stride[i], a.padding[i], 1, name, 0, 2 + i);
    if (!o) return o.error();
    out.push_back(Dim::of(*o));
  }
  return TensorType{x.dtype, out};
}

Window windowOf(const Shape& x, const Shape& y, int64_t kh, int64_t kw, const Attrs& a,
                int64_t groups) {
  return Window{x[0], x[1], x[2], x[3], y[1], y[2], y[3], kh, kw,
                a.stride[0], a.stride[1], a.padding[0], a.padding[1],
                a.dilation[0], a.dilation[1], groups};
}

// Calls f(yIndex, xIndex, wIndex, count) for every run of `count` taps of a
// grouped convolution (or a pooling window with c == oc, groups == c) that
// fall inside the input: output positions yIndex + t read input position
// xIndex + t * sw through kernel element wIndex, for t < count. Runs keep the
// inner loops free of bounds checks.
template <typename F> void forEachTapRun(const Window& g, F&& f) {
  int64_t cin = g.c / g.groups, cout = g.oc / g.groups;
  auto ceilDiv = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t o = 0; o < g.oc; ++o)
      for (int64_t ci = 0; ci < cin; ++ci) {
        int64_t c = (o / cout) * cin + ci;
        for (int64_t i = 0; i < g.kh; ++i)
          for (int64_t j = 0; j < g.kw; ++j) {
            int64_t wIndex = ((o * cin + ci) * g.kh + i) * g.kw + j;
            // Output columns whose input column ox*sw - pw + j*dw is in [0, w).
            int64_t shift = j * g.dw - g.pw;
            int64_t ox0 = std::max<int64_t>(0, ceilDiv(-shift, g.sw));
            int64_t ox1 = std::min<int64_t>(g.ow, ceilDiv(g.w - shift, g.sw));
            if (ox0 >= ox1) continue;
            for (int64_t oy = 0; oy < g.oh; ++oy) {
              int64_t iy = oy * g.sh - g.ph + i * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              int64_t yRow = ((n * g.oc + o) * g.oh + oy) * g.ow;
              int64_t xRow = ((n * g.c + c) * g.h + iy) * g.w;
              f(yRow + ox0, xRow + ox0 * g.sw + shift, wIndex, ox1 - ox0);
            }
          }
      }
}

// The same taps one at a time: f(yIndex, xIndex, wIndex).
template <typename F> void forEachTap(const Window& g, F&& f) {
  forEachTapRun(g, [&](int64_t yi, int64_t xi, int64_t wi, int64_t count) {
    for (int64_t t = 0; t < count; ++t) f(yi + t, xi + t * g.sw, wi);
  });
}
} // namespace

Expected<TensorType> inferNN(OpKind op, std::span<const TensorType> in, const Attrs& a) {
  switch (op) {
  case OpKind::Conv2d: return inferConv(in, a);
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d: return inferPool(op, in[0], a);
  case OpKind::Conv2dGradInput:
  case OpKind::Conv2dGradWeight:
  case OpKind::AvgPool2dGrad:
  case OpKind::EmbeddingGrad: return TensorType{in[op == OpKind::EmbeddingGrad ? 1 : 0].dtype, a.shape};
  case OpKind::MaxPool2dGrad: return in[0];
  case OpKind::Dropout:
    if (auto f = requireFloat(in[0], 0, "dropout"); !f) return f.error();
    if (!(a.alpha >= 0 && a.alpha < 1))
      return makeError("dropout: p = " + std::to_string(a.alpha) + " must be in [0, 1)");
    if (in.size() == 2 && (in[1].rank() != 0 || !requireInteger(in[1], 1, "dropout")))
      return makeError("dropout: the key must be an integer scalar, got " + describe(in[1], 1), 1);
    return in[0];
  case OpKind::Embedding: {
    if (auto i = requireInteger(in[0], 0, "embedding"); !i) return i.error();
    if (auto r = requireRank(in[1], 1, 2, "embedding"); !r)
      return makeError(r.error().message + " ([rows, features])", 1);
    if (auto f = requireFloat(in[1], 1, "embedding"); !f) return f.error();
    Dims out = in[0].dims;
    out.push_back(in[1].dims[1]);
    return TensorType{in[1].dtype, out};
  }
  default: return makeError("not an nn op");
  }
}

Tensor runNN(const Node& n, std::span<const Tensor> in) {
  Shape out = concreteShape(n.type);
  std::vector<double> y(static_cast<size_t>(numElements(out)), 0.0);
  const Attrs& a = n.attrs;
  switch (n.op) {
  case OpKind::Conv2d: {
    std::vector<double> x = toDoubles(in[0]), w = toDoubles(in[1]);
    const Shape& ws = in[1].shape();
    Window win = windowOf(in[0].shape(), out, ws[2], ws[3], a, a.count);
    forEachTapRun(win, [&](int64_t yi, int64_t xi, int64_t wi, int64_t count) {
      double wv = w[wi];
      double* yp = y.data() + yi;
      const double* xp = x.data() + xi;
      for (int64_t t = 0; t < count; ++t) yp[t] += wv * xp[t * win.sw];
    });
    break;
  }
  case OpKind::Conv2dGradInput: { // in: g, w; out: x's shape
    std::vector<double> g = toDoubles(in[0]), w = toDoubles(in[1]);
    const Shape& ws = in[1].shape();
    Window win = windowOf(out, in[0].shape(), ws[2], ws[3], a, a.count);
    forEachTapRun(win, [&](int64_t yi, int64_t xi, int64_t wi, int64_t count) {
      double wv = w[wi];
      const double* gp = g.data() + yi;
      double* xp = y.data() + xi;
      for (int64_t t = 0; t < count; ++t) xp[t * win.sw] += wv * gp[t];
    });
    break;
  }
  case OpKind::Conv2dGradWeight: { // in: x, g; out: w's shape
    std::vector<double> x = toDoubles(in[0]), g = toDoubles(in[1]);
    Window win = windowOf(in[0].shape(), in[1].shape(), out[2], out[3], a, a.count);
    forEachTapRun(win, [&](int64_t yi, int64_t xi, int64_t wi, int64_t count) {
      const double* gp = g.data() + yi;
      const double* xp = x.data() + xi;
      double acc = 0;
      for (int64_t t = 0; t < count; ++t) acc += gp[t] * xp[t * win.sw];
      y[wi] += acc;
    });
    break;
  }
  case OpKind::MaxPool2d:
  case OpKind::MaxPool2dGrad: {
    // Each output's window maximum (first one on ties); the gradient routes to it.
    std::vector<double> x = toDoubles(in[0]);
    const Shape ys = n.op == OpKind::MaxPool2d ? out : in[1].shape();
    Window win = windowOf(in[0].shape(), ys, a.window[0], a.window[1], a, ys[1]);
    win.dh = win.dw = 1;
    std::vector<int64_t> arg(static_cast<size_t>(numElements(ys)), -1);
    forEachTap(win, [&](int64_t yi, int64_t xi, int64_t) {
      if (arg[yi] < 0 || x[xi] > x[arg[yi]]) arg[yi] = xi;
    });
    if (n.op == OpKind::MaxPool2d) {
      for (size_t i = 0; i < y.size(); ++i) y[i] = x[arg[i]];
    } else {
      std::vector<double> g = toDoubles(in[1]);
      for (size_t i = 0; i < arg.size(); ++i) y[arg[i]] += g[i];
    }
    break;
  }
  case OpKind::AvgPool2d:
  case OpKind::AvgPool2dGrad: {
    // Padding counts in the divisor (PyTorch's count_include_pad = true).
    bool fwd = n.op == OpKind::AvgPool2d;
    std::vector<double> v = toDoubles(in[0]);
    const Shape xs = fwd ? in[0].shape() : out, ys = fwd ? out : in[0].shape();
    Window win = windowOf(xs, ys, a.window[0], a.window[1], a, xs[1]);
    win.dh = win.dw = 1;
    double scale = 1.0 / static_cast<double>(a.window[0] * a.window[1]);
    forEachTap(win, [&](int64_t yi, int64_t xi, int64_t) {
      if (fwd) y[yi] += v[xi] * scale;
      else y[xi] += v[yi] * scale;
    });
    break;
  }
  case OpKind::Dropout: {
    std::vector<double> x = toDoubles(in[0]);
    uint64_t key = mix64(a.seed);
    if (in.size() == 2) key = mix64(key ^ static_cast<uint64_t>(toDoubles(in[1])[0]));
    double keepScale = 1.0 / (1.0 - a.alpha);
    for (size_t i = 0; i < y.size(); ++i)
      y[i] = randomUniform(key, i) >= a.alpha ? x[i] * keepScale : 0.0;
    break;
  }
  case OpKind::Embedding:
  case OpKind::EmbeddingGrad: {
    bool fwd = n.op == OpKind::Embedding;
    std::vector<double> ids = toDoubles(in[0]), v = toDoubles(in[1]);
    int64_t rows = fwd ? in[1].shape()[0] : out[0];
    int64_t width = fwd ? in[1].shape()[1] : out[1];
    for (size_t i = 0; i < ids.size(); ++i) {
      int64_t id = static_cast<int64_t>(ids[i]);
      if (id < 0 || id >= rows)
        throw DataError("embedding: id " + std::to_string(id) + " is outside [0, " +
                        std::to_string(rows) + ")");
      for (int64_t k = 0; k < width; ++k) {
        if (fwd) y[i * width + k] = v[id * width + k];
        else y[id * width + k] += v[i * width + k];
      }
    }
    break;
  }
  default: BDL_IR_CHECK(false, "not an nn op");
  }
  return fromDoubles(n.type.dtype, out, y);
}

OperandGrads gradNN(GraphBuilder& b, const Node& n, ValueId, ValueId g) {
  const ValueId x = n.operands[0];
  switch (n.op) {
  case OpKind::Conv2d: {
    ValueId w = n.operands[1];
    Attrs ai = n.attrs, aw = n.attrs;
    ai.shape = b.type(x).dims;
    aw.shape = b.type(w).dims;
    return {must(b.addOp(OpKind::Conv2dGradInput, {g, w}, ai)),
            must(b.addOp(OpKind::Conv2dGradWeight, {x, g}, aw))};
  }
  case OpKind::MaxPool2d: return {must(b.addOp(OpKind::MaxPool2dGrad, {x, g}, n.attrs))};
  case OpKind::AvgPool2d: {
    Attrs a = n.attrs;
    a.shape = b.type(x).dims;
    return {must(b.addOp(OpKind::AvgPool2dGrad, {g}, a))};
  }
  case OpKind::Dropout: {
    // The same (seed, key) gives the same mask, so dropout of g is its gradient.
    std::vector<ValueId> ops = n.operands;
    ops[0] = g;
    OperandGrads out = {must(b.addOp(OpKind::Dropout, ops, n.attrs))};
    if (ops.size() == 2) out.push_back(std::nullopt);
    return out;
  }
  case OpKind::Embedding: {
    Attrs a;
    a.shape = b.type(n.operands[1]).dims;
    return {std::nullopt, must(b.addOp(OpKind::EmbeddingGrad, {x, g}, a))};
  }
  default: return OperandGrads(n.operands.size());
  }
}

} // namespace ops
} // namespace bdl::ir
