#include "compiler/codegen/JitExecutable.h"

#include "compiler/codegen/Lowering.h"
#include "compiler/codegen/KernelCache.h"
#include "compiler/ir/OpRules.h"
#include "compiler/ir/Printer.h"
#include "compiler/ir/ops/Common.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <omp.h>

namespace bdl::codegen {

using namespace bdl::ir;

JitExecutable::JitExecutable(Graph graph, Program program, const exec::EngineOptions& options)
    : graph_(std::move(graph)), program_(std::move(program)), options_(options) {
  if (program_.arenaBytes > 0) arena_ = std::aligned_alloc(64, (program_.arenaBytes + 63) / 64 * 64);
  homes_.assign(graph_.size(), nullptr);
  std::vector<bool> fedRoot(graph_.size(), false);
  char* base = static_cast<char*>(arena_);
  for (ValueId v = 0; v < graph_.size(); ++v) {
    const ValueHome& h = program_.homes[v];
    switch (h.kind) {
    case Home::None: break;
    case Home::Arena: homes_[v] = base + h.offset; break;
    case Home::Constant: homes_[v] = const_cast<void*>(h.constant.rawData()); break;
    case Home::Alias: // an alias's target comes first in the graph's order
      homes_[v] = homes_[h.aliasOf];
      fedRoot[v] = fedRoot[h.aliasOf];
      if (fedRoot[v]) feedAliases_.push_back(v);
      break;
    case Home::Feed:
      feeds_.push_back(v);
      fedRoot[v] = true;
      break;
    }
    if (graph_.node(v).op == OpKind::StateUpdate) stateUpdates_.push_back(v);
  }
  if (const char* p = std::getenv("BDL_JIT_PROFILE"); p && *p && *p != '0') profile_.assign(program_.steps.size(), 0.0);
}

JitExecutable::~JitExecutable() {
  std::free(arena_);
  if (profile_.empty()) return;
  // BDL_JIT_PROFILE=1: where the time went, slowest steps first.
  std::vector<size_t> order(profile_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return profile_[a] > profile_[b]; });
  double total = 0;
  for (double t : profile_) total += t;
  std::fprintf(stderr, "jit profile: %.3f s in %zu steps\n", total, profile_.size());
  for (size_t i : order)
    std::fprintf(stderr, "  %6.2f%%  %8.3f ms  %s\n", total > 0 ? 100 * profile_[i] / total : 0.0, profile_[i] * 1e3,
                 program_.steps[i].label.c_str());
}

std::optional<Error> JitExecutable::bind(const interp::Feeds& feeds, RunContext& ctx) {
  ctx.ptr = homes_;
  ctx.threads = std::max(1, options_.threads);
  for (ValueId v : feeds_) {
    const Tensor* t = nullptr;
    if (std::optional<Error> bad = interp::checkFeed(graph_.node(v), feeds, t)) return *bad;
    // Steps never write a feed: reading the caller's bytes in place is safe.
    ctx.ptr[v] = const_cast<void*>(t->rawData());
  }
  for (ValueId v : feedAliases_) ctx.ptr[v] = ctx.ptr[program_.homes[v].aliasOf];
  return std::nullopt;
}

static Tensor copyOut(const TensorType& type, const void* p) {
  Tensor t(type.dtype, *type.shape());
  if (t.bytes()) std::memcpy(t.rawData(), p, t.bytes());
  return t;
}

std::optional<Error> JitExecutable::referenceOf(const RunContext& ctx, size_t step, const std::vector<Tensor>& written,
                                               std::map<ValueId, Tensor>& out) const {
  // Each step is checked on the values the jit holds when it starts, not on
  // a reference chain of its own: f32 rounding differs by design (oneDNN's
  // blocking, FMA), and where a value sits within rounding of a kink (relu's
  // 0, a max) the two chains can take different branches, which later steps
  // (a product with large activations) amplify past any tolerance.
  // What a value read here must still hold is known exactly (bit for bit):
  // what its step wrote (and the check passed), or the feed as bound; a
  // change in between is a write into memory the value owns.
  const Step& st = program_.steps[step];
  std::optional<Error> clobbered;
  std::map<ValueId, Tensor> local;
  std::function<const Tensor&(ValueId)> valueOf = [&](ValueId v) -> const Tensor& {
    auto it = local.find(v);
    if (it != local.end()) return it->second;
    Tensor t;
    if (ctx.ptr[v]) {
      t = copyOut(graph_.type(v), ctx.ptr[v]);
      ValueId root = v;
      while (program_.homes[root].kind == Home::Alias) root = program_.homes[root].aliasOf;
      const Tensor& w = written[root];
      if (!clobbered && w.defined() && t.bytes() == w.bytes() && std::memcmp(t.rawData(), w.rawData(), t.bytes()) != 0)
        clobbered = makeError("jit: value " + printNode(graph_, root) +
                              " changed between the step that wrote it and step " + std::to_string(step) + " (" +
                              st.label + ") that reads it: a write into its memory (memory plan, or another thread)");
    } else {
      // Not materialised outside this step: a transpose folded into a product.
      const Node& n = graph_.node(v);
      std::vector<Tensor> in;
      for (ValueId o : n.operands) in.push_back(valueOf(o));
      t = evaluateOp(n, in);
    }
    return local.emplace(v, std::move(t)).first->second;
  };
  for (ValueId v : st.nodes) {
    const Node& n = graph_.node(v);
    std::vector<Tensor> in;
    for (ValueId o : n.operands) in.push_back(valueOf(o));
    Tensor r = evaluateOp(n, in);
    local[v] = r; // later members of a group read it
    out.emplace(v, std::move(r));
  }
  return clobbered;
}

std::optional<Error> JitExecutable::check(RunContext& ctx, size_t step, const std::map<ValueId, Tensor>& reference) {
  const Step& st = program_.steps[step];
  for (ValueId v : st.outputs) {
    std::vector<double> got = ops::toDoubles(copyOut(graph_.type(v), ctx.ptr[v]));
    std::vector<double> want = ops::toDoubles(reference.at(v));
    double scale = 1;
    for (double w : want) scale = std::max(scale, std::fabs(w));
    for (size_t i = 0; i < got.size(); ++i) {
      double diff = std::fabs(got[i] - want[i]);
      bool bothNan = std::isnan(got[i]) && std::isnan(want[i]);
      if (!bothNan && !(diff <= 1e-3 * scale))
        return makeError("jit differs from the reference at step " + std::to_string(step) + " (" + st.label +
                         "): value " + printNode(graph_, v) + " element " + std::to_string(i) + " is " +
                         std::to_string(got[i]) + ", reference " + std::to_string(want[i]));
    }
  }
  return std::nullopt;
}

Expected<interp::RunResult> JitExecutable::run(const interp::Feeds& feeds) {
  RunContext ctx;
  if (auto e = bind(feeds, ctx)) return *e;
  omp_set_num_threads(ctx.threads); // oneDNN's OpenMP regions use this
  // Check mode: every value as written by its step (or bound), by value id.
  std::vector<Tensor> written;
  if (options_.checkAgainstReference) {
    written.resize(graph_.size());
    for (ValueId v = 0; v < graph_.size(); ++v)
      if (program_.homes[v].kind == Home::Feed) written[v] = copyOut(graph_.type(v), ctx.ptr[v]);
  }
  try {
    for (size_t s = 0; s < program_.steps.size(); ++s) {
      // The reference kernels on this step's inputs, before the step runs.
      std::map<ValueId, Tensor> reference;
      if (options_.checkAgainstReference)
        if (auto e = referenceOf(ctx, s, written, reference)) return *e;
      if (!profile_.empty()) {
        auto t0 = std::chrono::steady_clock::now();
        program_.steps[s].run(ctx);
        profile_[s] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      } else {
        program_.steps[s].run(ctx);
      }
      if (options_.checkAgainstReference) {
        if (auto e = check(ctx, s, reference)) return *e;
        for (ValueId v : program_.steps[s].outputs) written[v] = copyOut(graph_.type(v), ctx.ptr[v]);
      }
    }
  } catch (const DataError& e) {
    return makeError(e.what());
  } catch (const InternalError& e) {
    return makeError(std::string("internal error: ") + e.what());
  }
  interp::RunResult result;
  for (const GraphOutput& o : graph_.outputs) result.outputs[o.name] = copyOut(graph_.type(o.value), ctx.ptr[o.value]);
  for (ValueId v : stateUpdates_) {
    const Node& n = graph_.node(v);
    result.stateUpdates[graph_.node(n.operands[0]).name] = copyOut(n.type, ctx.ptr[v]);
  }
  return result;
}

Expected<std::unique_ptr<exec::Executable>> compileJit(Graph graph, const exec::EngineOptions& options) {
  for (const Node& n : graph.nodes)
    if (!n.type.isConcrete())
      return makeError("cannot compile a graph with symbolic type " + n.type.toString() + "; specialize it first");
  LoweringOptions lo;
  lo.fusion = options.fusion;
  lo.threads = std::max(1, options.threads);
  lo.timeConvolutions = options.timeConvolutions;
  if (options.cacheDir != "-") lo.cacheDir = options.cacheDir.empty() ? defaultCacheDir() : std::filesystem::path(options.cacheDir);
  Expected<Program> p = [&]() -> Expected<Program> {
    try {
      return lower(graph, lo);
    } catch (const InternalError& e) {
      return makeError(std::string("internal error: ") + e.what());
    }
  }();
  if (!p) return p.error();
  return std::unique_ptr<exec::Executable>(new JitExecutable(std::move(graph), std::move(*p), options));
}

std::optional<JitStats> jitStats(const exec::Executable& exe) {
  auto* j = dynamic_cast<const JitExecutable*>(&exe);
  if (!j) return std::nullopt;
  const Program& p = j->program();
  JitStats s;
  s.arenaBytes = p.arenaBytes;
  s.steps = static_cast<int>(p.steps.size());
  s.fusedGroups = p.llvmGroups;
  for (const Step& st : p.steps)
    if (st.label.find("[reference]") != std::string::npos) {
      ++s.referenceSteps;
      s.referenceOps += st.label + "\n";
    }
  s.cacheHit = p.cacheHit;
  s.compileMs = p.compileMs;
  return s;
}

} // namespace bdl::codegen
