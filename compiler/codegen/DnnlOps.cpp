#include "compiler/codegen/DnnlOps.h"

#include "compiler/codegen/DnnlCommon.h"
#include "compiler/ir/ops/Common.h"

namespace bdl::codegen {

using namespace bdl::ir;
using dt = dnnl::memory::data_type;

std::shared_ptr<DnnlRuntime> makeDnnlRuntime(int threads) { return std::make_shared<DnnlRuntime>(std::max(1, threads)); }

namespace {

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

} // namespace bdl::codegen
