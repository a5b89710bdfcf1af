#include "compiler/codegen/DnnlOps.h"

#include "compiler/ir/ops/Common.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <omp.h>
#include <unordered_map>

namespace bdl::codegen {

using namespace bdl::ir;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

class DnnlRuntime {
public:
  explicit DnnlRuntime(int threads) : threads(threads) {}
  int threads;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

std::shared_ptr<DnnlRuntime> makeDnnlRuntime(int threads) { return std::make_shared<DnnlRuntime>(std::max(1, threads)); }

namespace {

// Below this much work a product runs on one thread: waking the other
// OpenMP thread costs more than it saves (batch-1 inference).
constexpr double kParallelFlops = 2e6;

// Runs `f` with oneDNN's OpenMP team sized for `flops` of work.
template <typename F> void withThreads(const RunContext& ctx, double flops, F&& f) {
  bool narrow = ctx.threads > 1 && flops < kParallelFlops;
  if (narrow) omp_set_num_threads(1);
  f();
  if (narrow) omp_set_num_threads(ctx.threads);
}

// oneDNN fixes a primitive's thread count when it is created (its kernels
// then open `omp parallel num_threads(n)` whatever the caller's setting), so
// the team size must be right at creation: one thread for small work.
class CreationThreads {
public:
  CreationThreads(int threads, double flops) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(flops < kParallelFlops ? 1 : threads);
  }
  ~CreationThreads() { omp_set_num_threads(previous_); }

private:
  int previous_;
};

dnnl::memory::dims dimsOf(std::initializer_list<int64_t> d) { return dnnl::memory::dims(d); }

// The descriptor of a logical [batch, rows, cols] (or [rows, cols]) matrix
// stored row-major, or stored transposed.
dnnl::memory::desc matrixDesc(int64_t batch, int64_t rows, int64_t cols, bool transposed, bool withBatch) {
  if (!withBatch)
    return {dimsOf({rows, cols}), dt::f32, transposed ? dimsOf({1, rows}) : dimsOf({cols, 1})};
  return {dimsOf({batch, rows, cols}), dt::f32,
          transposed ? dimsOf({rows * cols, 1, rows}) : dimsOf({rows * cols, cols, 1})};
}

struct MatMulPlan {
  dnnl::matmul prim;
  dnnl::memory::desc a, b, c;
  std::vector<int64_t> offA, offB; // per batch step, in elements (loop form)
  int64_t strideC = 0;
};

} // namespace

std::optional<StepFn> dnnlMatMul(const std::shared_ptr<DnnlRuntime>& rt, const Graph& g, ValueId out,
                                 MatOperand a, MatOperand b) {
  if (g.type(out).dtype != DType::F32) return std::nullopt;
  Shape so = *g.type(out).shape();
  Shape sa = *g.type(a.value).shape(), sb = *g.type(b.value).shape();
  if (a.transposed) std::swap(sa[sa.size() - 1], sa[sa.size() - 2]);
  if (b.transposed) std::swap(sb[sb.size() - 1], sb[sb.size() - 2]);
  size_t r = so.size();
  int64_t m = so[r - 2], n = so[r - 1], k = sa.back();
  if (m == 0 || n == 0 || k == 0) return std::nullopt;
  Shape batch(so.begin(), so.end() - 2);
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  int64_t nb = numElements(batch);
  auto plan = std::make_shared<MatMulPlan>();
  bool fullA = numElements(ba) == nb, fullB = numElements(bb) == nb;
  bool oneB = numElements(bb) == 1;
  int64_t rowsA = m;
  if (nb == 1 || (oneB && !a.transposed && fullA)) {
    // One 2-D product: a's batch folds into its rows when b is shared.
    rowsA = m * nb;
    plan->a = matrixDesc(1, rowsA, k, a.transposed, false);
    plan->b = matrixDesc(1, k, n, b.transposed, false);
    plan->c = matrixDesc(1, rowsA, n, false, false);
    plan->offA = {0};
    plan->offB = {0};
  } else if (fullA && fullB) {
    plan->a = matrixDesc(nb, m, k, a.transposed, true);
    plan->b = matrixDesc(nb, k, n, b.transposed, true);
    plan->c = matrixDesc(nb, m, n, false, true);
    plan->offA = {0};
    plan->offB = {0};
  } else {
    // Broadcast batches: one 2-D product per batch entry.
    plan->a = matrixDesc(1, m, k, a.transposed, false);
    plan->b = matrixDesc(1, k, n, b.transposed, false);
    plan->c = matrixDesc(1, m, n, false, false);
    for (int64_t i : ops::broadcastIndex(ba, batch)) plan->offA.push_back(i * m * k);
    for (int64_t i : ops::broadcastIndex(bb, batch)) plan->offB.push_back(i * k * n);
    plan->strideC = m * n;
  }
  double flops = 2.0 * static_cast<double>(nb) * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  try {
    CreationThreads team(rt->threads, flops);
    dnnl::matmul::desc d(plan->a, plan->b, plan->c);
    dnnl::matmul::primitive_desc pd(d, rt->engine);
    plan->prim = dnnl::matmul(pd);
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
  return [rt, plan, out, a, b, flops](RunContext& ctx) {
    withThreads(ctx, flops, [&] {
    float* pa = ctx.at<float>(a.value);
    float* pb = ctx.at<float>(b.value);
    float* pc = ctx.at<float>(out);
    for (size_t i = 0; i < plan->offA.size(); ++i) {
      dnnl::memory ma(plan->a, rt->engine, pa + plan->offA[i]);
      dnnl::memory mb(plan->b, rt->engine, pb + plan->offB[i]);
      dnnl::memory mc(plan->c, rt->engine, pc + plan->strideC * static_cast<int64_t>(i));
      plan->prim.execute(rt->stream, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
    }
    rt->stream.wait();
    });
  };
}

namespace {

// One tensor of a convolution: the plan's plain NCHW/OIHW layout and the
// layout the primitive chose (blocked, for the AVX-512 kernels); a reorder
// through `staging` bridges them when they differ.
struct ConvTensor {
  dnnl::memory::desc plain, chosen;
  int arg = 0;
  ValueId value = 0;
  bool written = false;
  std::vector<float> staging;
  dnnl::reorder toChosen, toPlain;

  void prepare(const dnnl::engine& eng) {
    if (chosen == plain) return;
    staging.resize(chosen.get_size() / sizeof(float) + 1);
    if (written) toPlain = dnnl::reorder(dnnl::reorder::primitive_desc(eng, chosen, eng, plain));
    else toChosen = dnnl::reorder(dnnl::reorder::primitive_desc(eng, plain, eng, chosen));
  }
};

struct ConvPlan {
  dnnl::primitive prim;
  ConvTensor t[3]; // x, w, y
};
} // namespace

std::optional<StepFn> dnnlConv(const std::shared_ptr<DnnlRuntime>& rt, const Graph& g, ValueId out) {
  const Node& node = g.node(out);
  if (node.type.dtype != DType::F32) return std::nullopt;
  const Attrs& at = node.attrs;
  // Shapes of input x, weight w and result y of the forward convolution.
  Shape xs, ws, ys;
  auto plan = std::make_shared<ConvPlan>();
  ConvTensor &tx = plan->t[0], &tw = plan->t[1], &ty = plan->t[2];
  switch (node.op) {
  case OpKind::Conv2d:
    xs = *g.type(node.operands[0]).shape(); ws = *g.type(node.operands[1]).shape(); ys = *node.type.shape();
    tx.value = node.operands[0]; tw.value = node.operands[1]; ty.value = out; ty.written = true;
    break;
  case OpKind::Conv2dGradInput: // (g, w) -> x
    ys = *g.type(node.operands[0]).shape(); ws = *g.type(node.operands[1]).shape(); xs = *node.type.shape();
    ty.value = node.operands[0]; tw.value = node.operands[1]; tx.value = out; tx.written = true;
    break;
  case OpKind::Conv2dGradWeight: // (x, g) -> w
    xs = *g.type(node.operands[0]).shape(); ys = *g.type(node.operands[1]).shape(); ws = *node.type.shape();
    tx.value = node.operands[0]; ty.value = node.operands[1]; tw.value = out; tw.written = true;
    break;
  default: return std::nullopt;
  }
  if (numElements(xs) == 0 || numElements(ys) == 0 || numElements(ws) == 0) return std::nullopt;
  int64_t groups = at.count;
  dnnl::memory::dims strides = {at.stride[0], at.stride[1]};
  dnnl::memory::dims dil = {at.dilation[0] - 1, at.dilation[1] - 1};
  dnnl::memory::dims padL = {at.padding[0], at.padding[1]};
  // oneDNN wants the right padding that makes its output size formula exact.
  dnnl::memory::dims padR(2);
  for (int i = 0; i < 2; ++i) {
    int64_t span = at.dilation[i] * (ws[2 + i] - 1) + 1;
    padR[i] = (ys[2 + i] - 1) * at.stride[i] + span - xs[2 + i] - at.padding[i];
  }
  dnnl::memory::dims xd = {xs[0], xs[1], xs[2], xs[3]}, yd = {ys[0], ys[1], ys[2], ys[3]};
  dnnl::memory::dims wd = groups == 1 ? dnnl::memory::dims{ws[0], ws[1], ws[2], ws[3]}
                                      : dnnl::memory::dims{groups, ws[0] / groups, ws[1], ws[2], ws[3]};
  tx.plain = dnnl::memory::desc(xd, dt::f32, tag::nchw);
  ty.plain = dnnl::memory::desc(yd, dt::f32, tag::nchw);
  tw.plain = dnnl::memory::desc(wd, dt::f32, groups == 1 ? tag::oihw : tag::goihw);
  // Measured on LeNet-5 (1 thread): the blocked AVX-512 kernels take
  // 0.1 / 0.4 / 0.23-0.43 ms for forward / data / weights where plain NCHW
  // runs the im2col GEMM path at 0.2 / 0.8 / 1.1 ms; the reorders this
  // needs cost ~0.8 ms per training step, less than they save.
  dnnl::memory::desc xa(xd, dt::f32, tag::any), ya(yd, dt::f32, tag::any), wa(wd, dt::f32, tag::any);
  double flops = 2.0 * static_cast<double>(numElements(ys)) * static_cast<double>(ws[1] * ws[2] * ws[3]);
  try {
    CreationThreads team(rt->threads, flops);
    auto alg = dnnl::algorithm::convolution_direct;
    dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, alg, xa, wa, ya, strides, dil, padL, padR);
    dnnl::convolution_forward::primitive_desc fpd(fd, rt->engine);
    switch (node.op) {
    case OpKind::Conv2d:
      plan->prim = dnnl::convolution_forward(fpd);
      tx.chosen = fpd.src_desc(); tw.chosen = fpd.weights_desc(); ty.chosen = fpd.dst_desc();
      tx.arg = DNNL_ARG_SRC; tw.arg = DNNL_ARG_WEIGHTS; ty.arg = DNNL_ARG_DST;
      break;
    case OpKind::Conv2dGradInput: {
      dnnl::convolution_backward_data::desc bd(alg, xa, wa, ya, strides, dil, padL, padR);
      dnnl::convolution_backward_data::primitive_desc bpd(bd, rt->engine, fpd);
      plan->prim = dnnl::convolution_backward_data(bpd);
      tx.chosen = bpd.diff_src_desc(); tw.chosen = bpd.weights_desc(); ty.chosen = bpd.diff_dst_desc();
      tx.arg = DNNL_ARG_DIFF_SRC; tw.arg = DNNL_ARG_WEIGHTS; ty.arg = DNNL_ARG_DIFF_DST;
      break;
    }
    default: {
      dnnl::convolution_backward_weights::desc bd(alg, xa, wa, ya, strides, dil, padL, padR);
      dnnl::convolution_backward_weights::primitive_desc bpd(bd, rt->engine, fpd);
      plan->prim = dnnl::convolution_backward_weights(bpd);
      tx.chosen = bpd.src_desc(); tw.chosen = bpd.diff_weights_desc(); ty.chosen = bpd.diff_dst_desc();
      tx.arg = DNNL_ARG_SRC; tw.arg = DNNL_ARG_DIFF_WEIGHTS; ty.arg = DNNL_ARG_DIFF_DST;
      break;
    }
    }
    for (ConvTensor& t : plan->t) t.prepare(rt->engine);
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
  return [rt, plan, flops](RunContext& ctx) {
    withThreads(ctx, flops, [&] {
    std::unordered_map<int, dnnl::memory> args;
    std::vector<std::pair<ConvTensor*, dnnl::memory>> writeBack;
    for (ConvTensor& t : plan->t) {
      dnnl::memory plainMem(t.plain, rt->engine, ctx.ptr[t.value]);
      if (t.chosen == t.plain) {
        args[t.arg] = plainMem;
        continue;
      }
      dnnl::memory staged(t.chosen, rt->engine, t.staging.data());
      if (t.written) writeBack.emplace_back(&t, plainMem);
      else t.toChosen.execute(rt->stream, plainMem, staged);
      args[t.arg] = staged;
    }
    plan->prim.execute(rt->stream, args);
    for (auto& [t, plainMem] : writeBack) {
      dnnl::memory staged(t->chosen, rt->engine, t->staging.data());
      t->toPlain.execute(rt->stream, staged, plainMem);
    }
    rt->stream.wait();
    });
  };
}

} // namespace bdl::codegen
