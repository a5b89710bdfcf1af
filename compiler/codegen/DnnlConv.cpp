// Convolutions and their two gradients on oneDNN, with the implementation
// chosen by timing (see DnnlOps.h). oneDNN's own choice for `format_tag::any`
// is a heuristic that is sometimes far off on this kind of machine: for
// LeNet-5's second convolution it takes an AVX2 kernel with 8-channel blocks
// for the weight gradient although its AVX-512 kernel on NHWC is ~2x faster,
// and NHWC is also the faster forward layout for a single input channel.
// Measuring the few candidates once at compile time is cheaper than
// guessing; the choice is then fixed for the executable, so its numerics do
// not change from run to run (another machine, thread count or a cold
// compile on a busy machine may choose another kernel, whose rounding
// differs within f32 tolerance).
#include "compiler/codegen/ConvKernels.h"
#include "compiler/codegen/DnnlCommon.h"
#include "compiler/codegen/DnnlOps.h"
#include "compiler/codegen/KernelCache.h"

#include <oneapi/dnnl/dnnl_version.h>

#include <chrono>
#include <limits>
#include <sstream>
#include <unordered_map>

namespace bdl::codegen {

using namespace bdl::ir;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

// Convolutions under this much work keep oneDNN's first choice: timing
// costs compile time and their run time is small anyway.
constexpr double kTuneFlops = 2e6;
// Implementations tried per layout (oneDNN lists the fast ones first; the
// tail is GEMM-based and reference code).
constexpr int kImplsPerLayout = 4;

// The activation layouts oneDNN is asked for (weights are always `any`).
struct Layout {
  const char* name;
  tag activations;
};
constexpr Layout kLayouts[] = {{"any", tag::any}, {"nhwc", tag::nhwc}};
// The candidate that is not oneDNN: ConvKernels.h on the plan's layout.
constexpr int kDirect = static_cast<int>(std::size(kLayouts));

// A convolution as oneDNN sees it: the forward problem's x, w, y whatever
// the op computes, and which of them the op writes.
struct ConvSpec {
  OpKind op;
  Shape xs, ws, ys;
  ValueId x = 0, w = 0, y = 0;
  dnnl::memory::dims xd, wd, yd, strides, dil, padL, padR;
  int64_t groups = 1;
  double flops = 0;
};

std::optional<ConvSpec> convSpec(const Graph& g, ValueId out) {
  const Node& node = g.node(out);
  if (node.type.dtype != DType::F32) return std::nullopt;
  ConvSpec s;
  s.op = node.op;
  switch (node.op) {
  case OpKind::Conv2d:
    s.x = node.operands[0]; s.w = node.operands[1]; s.y = out;
    break;
  case OpKind::Conv2dGradInput: // (g, w) -> x
    s.y = node.operands[0]; s.w = node.operands[1]; s.x = out;
    break;
  case OpKind::Conv2dGradWeight: // (x, g) -> w
    s.x = node.operands[0]; s.y = node.operands[1]; s.w = out;
    break;
  default: return std::nullopt;
  }
  s.xs = *g.type(s.x).shape(); s.ws = *g.type(s.w).shape(); s.ys = *g.type(s.y).shape();
  if (numElements(s.xs) == 0 || numElements(s.ys) == 0 || numElements(s.ws) == 0) return std::nullopt;
  const Attrs& at = node.attrs;
  s.groups = at.count;
  s.strides = {at.stride[0], at.stride[1]};
  s.dil = {at.dilation[0] - 1, at.dilation[1] - 1};
  s.padL = {at.padding[0], at.padding[1]};
  // oneDNN wants the right padding that makes its output size formula exact.
  s.padR.resize(2);
  for (int i = 0; i < 2; ++i) {
    int64_t span = at.dilation[i] * (s.ws[2 + i] - 1) + 1;
    s.padR[i] = (s.ys[2 + i] - 1) * at.stride[i] + span - s.xs[2 + i] - at.padding[i];
  }
  s.xd = {s.xs[0], s.xs[1], s.xs[2], s.xs[3]};
  s.yd = {s.ys[0], s.ys[1], s.ys[2], s.ys[3]};
  s.wd = s.groups == 1 ? dnnl::memory::dims{s.ws[0], s.ws[1], s.ws[2], s.ws[3]}
                       : dnnl::memory::dims{s.groups, s.ws[0] / s.groups, s.ws[1], s.ws[2], s.ws[3]};
  s.flops = 2.0 * static_cast<double>(numElements(s.ys)) * static_cast<double>(s.ws[1] * s.ws[2] * s.ws[3]);
  return s;
}

// Two descriptors of the same bytes: equal, or both dense without blocks
// and with the same strides wherever a dimension has more than one element
// (NHWC and NCHW of a single channel).
bool sameBytes(const dnnl::memory::desc& a, const dnnl::memory::desc& b) {
  if (a == b) return true;
  const dnnl_memory_desc_t &x = a.data, &y = b.data;
  if (x.format_kind != dnnl_blocked || y.format_kind != dnnl_blocked || x.ndims != y.ndims) return false;
  if (x.format_desc.blocking.inner_nblks || y.format_desc.blocking.inner_nblks) return false;
  if (x.offset0 != y.offset0 || x.extra.flags || y.extra.flags || a.get_size() != b.get_size()) return false;
  for (int i = 0; i < x.ndims; ++i) {
    if (x.dims[i] != y.dims[i] || x.padded_dims[i] != y.padded_dims[i]) return false;
    if (x.dims[i] > 1 && x.format_desc.blocking.strides[i] != y.format_desc.blocking.strides[i]) return false;
  }
  return true;
}

// One tensor of a convolution: the plan's plain layout and the one the
// implementation wants; a reorder through `staging` bridges them when their
// bytes differ.
struct ConvTensor {
  dnnl::memory::desc plain, chosen;
  int arg = 0;
  ValueId value = 0;
  bool written = false;
  bool direct = true; // the primitive reads/writes the plan's buffer itself
  std::vector<float> staging;
  dnnl::reorder toChosen, toPlain;

  void prepare(const dnnl::engine& eng) {
    direct = sameBytes(chosen, plain);
    if (direct) return;
    staging.resize(chosen.get_size() / sizeof(float) + 1);
    if (written) toPlain = dnnl::reorder(dnnl::reorder::primitive_desc(eng, chosen, eng, plain));
    else toChosen = dnnl::reorder(dnnl::reorder::primitive_desc(eng, plain, eng, chosen));
  }
};

struct ConvPlan {
  dnnl::primitive prim;
  ConvTensor t[3]; // x, w, y
  double flops = 0;
};

// A candidate: a layout and the name of an implementation oneDNN offers
// for it. (Not its position in oneDNN's list: once a primitive is in
// oneDNN's cache, the list starts with that implementation and then has it
// again in its usual place.)
struct Candidate {
  int layout = 0;
  std::string impl;
  std::string name() const {
    if (layout == kDirect) return "kernel " + impl;
    return std::string("onednn ") + kLayouts[layout].name + " " + impl;
  }
};

// Calls f(pd, x, w, y descriptors, x, w, y argument ids) for each
// implementation oneDNN offers for `layout`, in its order, until f returns
// true. Throws dnnl::error.
template <typename F> void forEachImpl(const DnnlRuntime& rt, const ConvSpec& s, int layout, F&& f) {
  tag act = kLayouts[layout].activations;
  dnnl::memory::desc xa(s.xd, dt::f32, act), ya(s.yd, dt::f32, act), wa(s.wd, dt::f32, tag::any);
  auto alg = dnnl::algorithm::convolution_direct;
  dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, alg, xa, wa, ya, s.strides, s.dil, s.padL,
                                     s.padR);
  dnnl::convolution_forward::primitive_desc fpd(fd, rt.engine);
  switch (s.op) {
  case OpKind::Conv2d:
    do {
      if (f(fpd, fpd.src_desc(), fpd.weights_desc(), fpd.dst_desc(), DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST))
        return;
    } while (fpd.next_impl());
    return;
  case OpKind::Conv2dGradInput: {
    dnnl::convolution_backward_data::desc bd(alg, xa, wa, ya, s.strides, s.dil, s.padL, s.padR);
    dnnl::convolution_backward_data::primitive_desc pd(bd, rt.engine, fpd);
    do {
      if (f(pd, pd.diff_src_desc(), pd.weights_desc(), pd.diff_dst_desc(), DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS,
            DNNL_ARG_DIFF_DST))
        return;
    } while (pd.next_impl());
    return;
  }
  default: {
    dnnl::convolution_backward_weights::desc bd(alg, xa, wa, ya, s.strides, s.dil, s.padL, s.padR);
    dnnl::convolution_backward_weights::primitive_desc pd(bd, rt.engine, fpd);
    do {
      if (f(pd, pd.src_desc(), pd.diff_weights_desc(), pd.diff_dst_desc(), DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS,
            DNNL_ARG_DIFF_DST))
        return;
    } while (pd.next_impl());
    return;
  }
  }
}

// oneDNN's reference implementations are far slower than anything else and
// are never worth timing.
bool isReference(const std::string& impl) { return impl.rfind("ref", 0) == 0; }

DirectConvShape directShape(const ConvSpec& s) {
  return {s.xs[0], s.xs[1], s.xs[2], s.xs[3], s.ws[0], s.ws[2], s.ws[3], s.ys[2], s.ys[3], s.padL[0], s.padL[1]};
}

// The direct kernels take stride 1, no dilation, one group, and the weight
// gradient kernel up to kDirectConvMaxKw wide.
bool directApplies(const ConvSpec& s) {
  if (s.groups != 1 || s.strides != dnnl::memory::dims{1, 1} || s.dil != dnnl::memory::dims{0, 0}) return false;
  return s.op != OpKind::Conv2dGradWeight || s.ws[3] <= kDirectConvMaxKw;
}

StepFn directStep(const ConvSpec& s) {
  DirectConvShape shape = directShape(s);
  ValueId x = s.x, w = s.w, y = s.y;
  OpKind op = s.op;
  double flops = s.flops;
  return [shape, x, w, y, op, flops](RunContext& ctx) {
    int threads = flops < kParallelFlops ? 1 : ctx.threads;
    if (op == OpKind::Conv2d) directConvForward(shape, ctx.at<float>(x), ctx.at<float>(w), ctx.at<float>(y), threads);
    else if (op == OpKind::Conv2dGradInput)
      directConvGradInput(shape, ctx.at<float>(y), ctx.at<float>(w), ctx.at<float>(x), threads);
    else directConvGradWeight(shape, ctx.at<float>(x), ctx.at<float>(y), ctx.at<float>(w), threads);
  };
}

std::vector<Candidate> candidates(const DnnlRuntime& rt, const ConvSpec& s) {
  std::vector<Candidate> out;
  // oneDNN's list depends on the team size: list with the one of creation.
  CreationThreads team(rt.threads, s.flops);
  for (int layout = 0; layout < static_cast<int>(std::size(kLayouts)); ++layout) {
    int listed = 0;
    try {
      forEachImpl(rt, s, layout, [&](const dnnl::primitive_desc& pd, auto&&...) {
        std::string impl = pd.impl_info_str();
        for (const Candidate& c : out)
          if (c.layout == layout && c.impl == impl) return false;
        if (isReference(impl)) return false;
        out.push_back({layout, impl});
        return ++listed == kImplsPerLayout;
      });
    } catch (const dnnl::error&) {
      // oneDNN has no implementation for this layout: not a candidate.
    }
  }
  if (directApplies(s)) out.push_back({kDirect, "nchw direct"});
  return out;
}

// The plan of one candidate, or nullptr if oneDNN no longer lists it there.
std::shared_ptr<ConvPlan> buildPlan(const DnnlRuntime& rt, const ConvSpec& s, const Candidate& c) {
  auto plan = std::make_shared<ConvPlan>();
  plan->flops = s.flops;
  ConvTensor &tx = plan->t[0], &tw = plan->t[1], &ty = plan->t[2];
  tx.value = s.x; tw.value = s.w; ty.value = s.y;
  tx.written = s.op == OpKind::Conv2dGradInput;
  tw.written = s.op == OpKind::Conv2dGradWeight;
  ty.written = s.op == OpKind::Conv2d;
  tx.plain = dnnl::memory::desc(s.xd, dt::f32, tag::nchw);
  ty.plain = dnnl::memory::desc(s.yd, dt::f32, tag::nchw);
  tw.plain = dnnl::memory::desc(s.wd, dt::f32, s.groups == 1 ? tag::oihw : tag::goihw);
  bool found = false;
  try {
    CreationThreads team(rt.threads, s.flops);
    forEachImpl(rt, s, c.layout, [&](const dnnl::primitive_desc& pd, const dnnl::memory::desc& x,
                                     const dnnl::memory::desc& w, const dnnl::memory::desc& y, int xa, int wa, int ya) {
      if (pd.impl_info_str() != c.impl) return false;
      plan->prim = dnnl::primitive(pd);
      tx.chosen = x; tw.chosen = w; ty.chosen = y;
      tx.arg = xa; tw.arg = wa; ty.arg = ya;
      found = true;
      return true;
    });
    if (!found) return nullptr;
    for (ConvTensor& t : plan->t) t.prepare(rt.engine);
  } catch (const dnnl::error&) {
    return nullptr;
  }
  return plan;
}

StepFn planStep(const std::shared_ptr<DnnlRuntime>& rt, std::shared_ptr<ConvPlan> plan) {
  return [rt, plan](RunContext& ctx) {
    withThreads(ctx, plan->flops, [&] {
      std::unordered_map<int, dnnl::memory> args;
      for (ConvTensor& t : plan->t) {
        if (t.direct) {
          args[t.arg] = dnnl::memory(t.chosen, rt->engine, ctx.ptr[t.value]);
          continue;
        }
        dnnl::memory staged(t.chosen, rt->engine, t.staging.data());
        if (!t.written) {
          dnnl::memory plainMem(t.plain, rt->engine, ctx.ptr[t.value]);
          t.toChosen.execute(rt->stream, plainMem, staged);
        }
        args[t.arg] = staged;
      }
      plan->prim.execute(rt->stream, args);
      for (ConvTensor& t : plan->t)
        if (t.written && !t.direct) {
          dnnl::memory staged(t.chosen, rt->engine, t.staging.data()), plainMem(t.plain, rt->engine, ctx.ptr[t.value]);
          t.toPlain.execute(rt->stream, staged, plainMem);
        }
      rt->stream.wait();
    });
  };
}

// The step of a candidate, or nullopt if oneDNN no longer lists it.
std::optional<StepFn> candidateStep(const std::shared_ptr<DnnlRuntime>& rt, const ConvSpec& s, const Candidate& c) {
  if (c.layout == kDirect) return directStep(s);
  if (std::shared_ptr<ConvPlan> plan = buildPlan(*rt, s, c)) return planStep(rt, plan);
  return std::nullopt;
}

// Scratch x, w, y of the plan's sizes, and a context that points at them.
struct Scratch {
  std::vector<float> x, w, y;
  RunContext ctx;
  Scratch(const ConvSpec& s, int threads) {
    // Finite, non-zero data: a kernel's speed must not depend on it, but
    // denormals or NaNs could make it.
    x.assign(static_cast<size_t>(numElements(s.xs)), 0.5f);
    w.assign(static_cast<size_t>(numElements(s.ws)), 0.25f);
    y.assign(static_cast<size_t>(numElements(s.ys)), 0.125f);
    ctx.threads = threads;
    ctx.ptr.resize(std::max({s.x, s.w, s.y}) + 1);
    ctx.ptr[s.x] = x.data();
    ctx.ptr[s.w] = w.data();
    ctx.ptr[s.y] = y.data();
  }
};

// Seconds of one run of `step`, reorders included.
double timeOnce(const StepFn& step, RunContext& ctx) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  step(ctx);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The index of the fastest step: the best of up to five runs each (the
// first includes oneDNN's lazy initialisation and cold caches), taken in
// rounds over all of them so that a burst of load from other processes
// slows one round of every candidate rather than all runs of one; a
// candidate already twice as slow as the best is dropped after two rounds.
// On a busy machine (a descheduled thread stalls a team of two at every
// barrier) a run can take a hundred times its work, so the timing stops
// once kTimingBudget is spent after a complete round, or four times that
// within the first (then the candidates not yet run lose): a cold compile
// stays near a second however busy the machine, at the price of a choice
// that is as noisy as the machine.
size_t fastest(const std::vector<StepFn>& steps, RunContext& ctx) {
  using Clock = std::chrono::steady_clock;
  constexpr int kRounds = 5;
  constexpr std::chrono::milliseconds kTimingBudget{40};
  auto started = Clock::now();
  std::vector<double> best(steps.size(), std::numeric_limits<double>::infinity());
  size_t winner = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (size_t i = 0; i < steps.size(); ++i) {
      if (round == 0 && i > 0 && Clock::now() - started > 4 * kTimingBudget) return winner;
      if (round >= 2 && best[i] > 2 * best[winner]) continue;
      best[i] = std::min(best[i], timeOnce(steps[i], ctx));
      if (best[i] < best[winner]) winner = i;
    }
    if (Clock::now() - started > kTimingBudget) break;
  }
  return winner;
}

std::string choiceKey(const ConvSpec& s, const DnnlRuntime& rt, const HostTarget& host) {
  std::ostringstream os;
  auto dims = [&](const char* n, const dnnl::memory::dims& d) {
    os << n;
    for (int64_t v : d) os << ' ' << v;
    os << '\n';
  };
  os << "conv-choice 1\nonednn " << DNNL_VERSION_MAJOR << '.' << DNNL_VERSION_MINOR << '.' << DNNL_VERSION_PATCH
     << "\nop " << opName(s.op) << "\nthreads " << rt.threads << '\n';
  dims("x", s.xd);
  dims("w", s.wd);
  dims("y", s.yd);
  dims("stride", s.strides);
  dims("dilation", s.dil);
  dims("padl", s.padL);
  dims("padr", s.padR);
  return cacheKey(os.str(), host);
}

} // namespace

std::optional<ConvStep> dnnlConv(const std::shared_ptr<DnnlRuntime>& rt, const Graph& g, ValueId out,
                                 const ConvOptions& options) {
  std::optional<ConvSpec> s = convSpec(g, out);
  if (!s) return std::nullopt;
  std::vector<Candidate> cands = candidates(*rt, *s);
  if (cands.empty()) return std::nullopt;
  if (s->flops < kTuneFlops || !options.timing) {
    // oneDNN's first choice for `any`, as before choices were timed.
    for (const Candidate& c : cands)
      if (c.layout != kDirect)
        if (std::optional<StepFn> step = candidateStep(rt, *s, c)) return ConvStep{std::move(*step), c.name()};
    return std::nullopt;
  }
  std::string key = choiceKey(*s, *rt, options.host);
  if (options.cacheDir)
    if (std::optional<std::string> recorded = cacheLoad(*options.cacheDir, key))
      for (const Candidate& c : cands)
        if (c.name() == *recorded)
          if (std::optional<StepFn> step = candidateStep(rt, *s, c)) return ConvStep{std::move(*step), c.name()};
  std::vector<const Candidate*> built;
  std::vector<StepFn> steps;
  for (const Candidate& c : cands)
    if (std::optional<StepFn> step = candidateStep(rt, *s, c)) {
      built.push_back(&c);
      steps.push_back(std::move(*step));
    }
  if (steps.empty()) return std::nullopt;
  Scratch scratch(*s, rt->threads);
  int previous = omp_get_max_threads();
  omp_set_num_threads(rt->threads);
  size_t w = fastest(steps, scratch.ctx);
  omp_set_num_threads(previous);
  if (options.cacheDir) cacheStore(*options.cacheDir, key, built[w]->name());
  return ConvStep{std::move(steps[w]), built[w]->name()};
}

std::vector<std::string> dnnlConvCandidates(const std::shared_ptr<DnnlRuntime>& rt, const Graph& g, ValueId out) {
  std::vector<std::string> names;
  if (std::optional<ConvSpec> s = convSpec(g, out))
    for (const Candidate& c : candidates(*rt, *s)) names.push_back(c.name());
  return names;
}

std::optional<StepFn> dnnlConvCandidate(const std::shared_ptr<DnnlRuntime>& rt, const Graph& g, ValueId out,
                                        const std::string& candidate) {
  std::optional<ConvSpec> s = convSpec(g, out);
  if (!s) return std::nullopt;
  for (const Candidate& c : candidates(*rt, *s))
    if (c.name() == candidate) return candidateStep(rt, *s, c);
  return std::nullopt;
}

} // namespace bdl::codegen
