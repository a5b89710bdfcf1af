#include "compiler/codegen/Lowering.h"

#include "compiler/codegen/DnnlOps.h"
#include "compiler/codegen/Kernels.h"
#include "compiler/codegen/KernelCache.h"
#include "compiler/codegen/LlvmEmit.h"
#include "compiler/codegen/MemoryPlan.h"
#include "compiler/codegen/OrcCompiler.h"
#include "compiler/codegen/ReduceEmit.h"
#include "compiler/ir/OpRules.h"
#include "compiler/ir/ops/Common.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace bdl::codegen {

using namespace bdl::ir;

namespace {

bool swapsLastTwo(const Graph& g, const Node& n) {
  if (n.op != OpKind::Transpose || n.type.dtype != DType::F32) return false;
  int64_t r = n.type.rank();
  if (r < 2) return false;
  for (int64_t i = 0; i < r; ++i) {
    int64_t p = *ops::normalizeAxis(n.attrs.axes[i], r);
    int64_t want = i == r - 1 ? r - 2 : i == r - 2 ? r - 1 : i;
    if (p != want) return false;
  }
  return true;
}

// Transposes read only by matmuls: the product reads their operand with
// swapped strides instead.
std::vector<bool> foldedTransposes(const Graph& g) {
  std::vector<bool> folded(g.size(), false);
  for (ValueId v = 0; v < g.size(); ++v) folded[v] = swapsLastTwo(g, g.node(v));
  for (ValueId v = 0; v < g.size(); ++v)
    if (g.node(v).op != OpKind::MatMul)
      for (ValueId o : g.node(v).operands) folded[o] = false;
  for (const GraphOutput& o : g.outputs) folded[o.value] = false;
  return folded;
}

// The reference kernel on copies of the operands: slow, but any op runs.
StepFn fallbackStep(const Graph& g, ValueId id) {
  Node node = g.node(id);
  std::vector<TensorType> types;
  for (ValueId o : node.operands) types.push_back(g.type(o));
  return [node, types, id](RunContext& ctx) {
    std::vector<Tensor> in;
    for (size_t i = 0; i < types.size(); ++i) {
      Tensor t(types[i].dtype, *types[i].shape());
      if (t.bytes()) std::memcpy(t.rawData(), ctx.ptr[node.operands[i]], t.bytes());
      in.push_back(t);
    }
    Tensor r = evaluateOp(node, in);
    if (r.bytes()) std::memcpy(ctx.ptr[id], r.rawData(), r.bytes());
  };
}

struct GroupKernel {
  KernelFn fn = nullptr;
};

// A group's kernel over elements [b, e) on this thread.
void callGroup(const GroupKernel& kernel, const std::vector<ValueId>& args, RunContext& ctx, int64_t b, int64_t e) {
  void* a[64];
  std::vector<void*> big;
  void** ap = a;
  if (args.size() > 64) {
    big.resize(args.size());
    ap = big.data();
  }
  for (size_t i = 0; i < args.size(); ++i) ap[i] = ctx.ptr[args[i]];
  kernel.fn(ap, b, e);
}

StepFn groupStep(std::shared_ptr<GroupKernel> kernel, std::vector<ValueId> args, int64_t total, int64_t cost) {
  return [kernel, args, total, cost](RunContext& ctx) {
    if (total == 0) return;
    // Small loops are not worth waking a second thread.
    int t = total * cost >= (1 << 16) ? ctx.threads : 1;
    if (t <= 1) {
      callGroup(*kernel, args, ctx, 0, total);
      return;
    }
#pragma omp parallel num_threads(t)
    {
      int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
      int64_t b = total * id / nt / 16 * 16, e = id + 1 == nt ? total : total * (id + 1) / nt / 16 * 16;
      if (b < e) callGroup(*kernel, args, ctx, b, e);
    }
  };
}

// A reduction group over its work items (ReduceEmit.h): each thread a
// contiguous range of items; with partials, every output then combines its
// chunks' slots in chunk order, so the bits never depend on the thread count.
StepFn reduceGroupStep(std::shared_ptr<GroupKernel> kernel, std::vector<ValueId> args, ReduceLayout lay,
                       ValueId root, int64_t elements, int64_t cost) {
  return [kernel, args, lay, root, elements, cost](RunContext& ctx) {
    std::vector<float> part(lay.partials ? static_cast<size_t>(lay.items) : 0);
    std::vector<void*> a(args.size() + 1, nullptr);
    for (size_t i = 0; i < args.size(); ++i) a[i] = ctx.ptr[args[i]];
    a[args.size()] = part.data();
    int t = elements * cost >= (1 << 16) ? static_cast<int>(std::min<int64_t>(ctx.threads, lay.items)) : 1;
    if (t <= 1) {
      kernel->fn(a.data(), 0, lay.items);
    } else {
#pragma omp parallel num_threads(t)
      {
        int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
        int64_t b = lay.items * id / nt, e = lay.items * (id + 1) / nt;
        if (b < e) kernel->fn(a.data(), b, e);
      }
    }
    if (!lay.partials) return;
    float* y = ctx.at<float>(root);
    for (int64_t o = 0; o < lay.outputs; ++o) {
      const float* p = part.data() + o * lay.outputStride;
      if (lay.op == OpKind::Max || lay.op == OpKind::Min) {
        float acc = p[0];
        for (int64_t c = 1; c < lay.split; ++c) {
          float v = p[c * lay.chunkStride];
          acc = lay.op == OpKind::Max ? std::max(acc, v) : std::min(acc, v);
        }
        y[o] = acc;
      } else {
        double acc = 0;
        for (int64_t c = 0; c < lay.split; ++c) acc += p[c * lay.chunkStride];
        y[o] = static_cast<float>(acc * lay.scale);
      }
    }
  };
}

// For each product, the fused group that can run as its epilogue inside the
// batch-1 kernel (-1: none): the group is the product's only reader, has its
// shape, and reads nothing else but leaves, so it may run as soon as the
// product has (its own step would come later, at its last member).
std::vector<int> epilogueGroups(const Graph& g, const Fusion& f) {
  constexpr int kNone = -1, kOther = -2;
  std::vector<int> reader(g.size(), kNone); // the one group reading a value, or kOther
  for (ValueId v = 0; v < g.size(); ++v)
    for (ValueId o : g.node(v).operands) {
      int gi = f.groupOf[v] >= 0 ? f.groupOf[v] : kOther;
      reader[o] = reader[o] == kNone || reader[o] == gi ? gi : kOther;
    }
  for (const GraphOutput& o : g.outputs) reader[o.value] = kOther;
  std::vector<int> result(g.size(), kNone);
  for (ValueId v = 0; v < g.size(); ++v) {
    if (g.node(v).op != OpKind::MatMul || reader[v] < 0) continue;
    const FusedGroup& grp = f.groups[reader[v]];
    // A reduction's items are not the product's columns.
    if (grp.root || grp.shape != *g.type(v).shape()) continue;
    bool leavesOnly = true;
    for (ValueId in : grp.inputs) {
      OpKind op = g.node(in).op;
      leavesOnly &= in == v || op == OpKind::Input || op == OpKind::Parameter || op == OpKind::State ||
                    op == OpKind::Constant;
    }
    if (leavesOnly) result[v] = reader[v];
  }
  return result;
}

std::string valueList(const std::vector<ValueId>& vs) {
  std::string s;
  for (ValueId v : vs) s += (s.empty() ? "%" : ", %") + std::to_string(v);
  return s;
}

// A group reads an input of its own shape at each element's own index (its
// members are element-wise or broadcasts), so its one output can be stored
// over such an input, element by element, when the bytes match.
std::vector<ValueId> inPlaceInputs(const Graph& g, const FusedGroup& grp) {
  std::vector<ValueId> result;
  // A reduction root's output is smaller than the elements it reads.
  if (grp.outputs.size() != 1 || grp.root) return result;
  const TensorType& out = g.type(grp.outputs[0]);
  for (ValueId v : grp.inputs) {
    const TensorType& t = g.type(v);
    if (t.shape() && *t.shape() == grp.shape && dtypeSize(t.dtype) == dtypeSize(out.dtype)) result.push_back(v);
  }
  return result;
}

struct Resources {
  std::shared_ptr<DnnlRuntime> dnnl;
  std::unique_ptr<JitSession> jit;
};

} // namespace

std::string groupsModule(const Graph& g, const Fusion& fusion, const std::vector<std::optional<ValueId>>& writesOver) {
  std::vector<std::string> fns;
  for (size_t i = 0; i < fusion.groups.size(); ++i) {
    std::string canon = canonicalText(g, fusion.groups[i]);
    // The canonical text rides along as a comment: it is what the cache key
    // names, and it makes `dump --stage=llvm` readable.
    std::string comment;
    size_t start = 0;
    while (start < canon.size()) {
      size_t nl = canon.find('\n', start);
      comment += "; " + canon.substr(start, nl - start) + "\n";
      start = nl == std::string::npos ? canon.size() : nl + 1;
    }
    std::optional<ValueId> over = i < writesOver.size() ? writesOver[i] : std::nullopt;
    if (over) comment += "; in place: the output is written over %" + std::to_string(*over) + "\n";
    fns.push_back(comment + emitGroupFunction(g, fusion.groups[i], "g" + std::to_string(i), over));
  }
  return emitModule(fns);
}

Expected<Program> lower(const Graph& g, const LoweringOptions& options) {
  auto started = std::chrono::steady_clock::now();
  Program p;
  auto res = std::make_shared<Resources>();
  res->dnnl = makeDnnlRuntime(options.threads);
  Fusion fusion = fuseElementwise(g, options.fusion);
  std::vector<bool> folded = foldedTransposes(g);
  p.homes.resize(g.size());
  std::vector<std::shared_ptr<GroupKernel>> kernels(fusion.groups.size());
  std::vector<int> epilogueOf = epilogueGroups(g, fusion);
  std::vector<bool> runsAsEpilogue(fusion.groups.size(), false);
  std::vector<std::optional<size_t>> stepOfGroup(fusion.groups.size());

  auto arena = [&](ValueId v) {
    p.homes[v].kind = Home::Arena;
    p.homes[v].bytes = static_cast<size_t>(numElements(*g.type(v).shape())) * dtypeSize(g.type(v).dtype);
  };
  auto addStep = [&](std::string label, std::vector<ValueId> nodes, std::vector<ValueId> inputs,
                     std::vector<ValueId> outputs, StepFn fn) {
    for (ValueId o : outputs) arena(o);
    p.steps.push_back(Step{std::move(label), std::move(nodes), std::move(inputs), std::move(outputs), std::move(fn), {}, {}});
  };
  std::optional<ConvOptions> convOptions; // the host target is looked up at the first convolution
  auto matOperand = [&](ValueId v) {
    if (folded[v]) return MatOperand{g.node(v).operands[0], true};
    return MatOperand{v, false};
  };

  for (ValueId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    std::string tag = std::string(opName(n.op)) + " %" + std::to_string(id);
    if (int gi = fusion.groupOf[id]; gi >= 0) {
      const FusedGroup& grp = fusion.groups[gi];
      // A reduction root reads nothing but its group: the group runs where
      // its chain ends, which may come before nodes that the root follows.
      ValueId runsAt = grp.root ? grp.members[grp.members.size() - 2] : grp.members.back();
      if (runsAt != id || runsAsEpilogue[gi]) continue;
      kernels[gi] = std::make_shared<GroupKernel>();
      int64_t cost = static_cast<int64_t>(grp.members.size());
      StepFn run = grp.root ? reduceGroupStep(kernels[gi], kernelArguments(g, grp), reduceLayout(g, grp), *grp.root,
                                              numElements(grp.shape), cost)
                            : groupStep(kernels[gi], kernelArguments(g, grp), numElements(grp.shape), cost);
      addStep("group g" + std::to_string(gi) + " [llvm] " + valueList(grp.members), grp.members, grp.inputs,
              grp.outputs, std::move(run));
      p.steps.back().inPlaceInputs = inPlaceInputs(g, grp);
      stepOfGroup[gi] = p.steps.size() - 1;
      continue;
    }
    switch (n.op) {
    case OpKind::Input:
    case OpKind::Parameter:
    case OpKind::State: p.homes[id].kind = Home::Feed; continue;
    case OpKind::Constant:
      p.homes[id].kind = Home::Constant;
      p.homes[id].constant = n.value;
      continue;
    case OpKind::NumElements: {
      // A count fixed by the (concrete) shapes: a constant of the program.
      Tensor dummy(g.type(n.operands[0]).dtype, *g.type(n.operands[0]).shape());
      p.homes[id].kind = Home::Constant;
      p.homes[id].constant = evaluateOp(n, std::vector<Tensor>{dummy});
      continue;
    }
    case OpKind::Reshape:
    case OpKind::StateUpdate:
      p.homes[id].kind = Home::Alias;
      p.homes[id].aliasOf = n.op == OpKind::Reshape ? n.operands[0] : n.operands[1];
      continue;
    default: break;
    }
    if (folded[id]) continue; // Home::None: the matmul reads the operand
    std::optional<StepFn> fast;
    std::string engine;
    std::vector<ValueId> reads = n.operands;
    switch (n.op) {
    case OpKind::MatMul: {
      MatOperand a = matOperand(n.operands[0]), b = matOperand(n.operands[1]);
      reads = {a.value, b.value};
      if (int gi = epilogueOf[id]; gi >= 0 && !a.transposed && !b.transposed) {
        const FusedGroup& grp = fusion.groups[gi];
        auto kernel = std::make_shared<GroupKernel>();
        ColumnEpilogue epilogue = [kernel, args = kernelArguments(g, grp)](RunContext& ctx, int64_t c0, int64_t c1) {
          callGroup(*kernel, args, ctx, c0, c1);
        };
        if (std::optional<StepFn> fused = gemvKernel(g, id, a.value, b.value, std::move(epilogue))) {
          kernels[gi] = kernel;
          runsAsEpilogue[gi] = true;
          std::vector<ValueId> nodes = {id}, inputs = reads, outputs = {id};
          nodes.insert(nodes.end(), grp.members.begin(), grp.members.end());
          for (ValueId in : grp.inputs)
            if (in != id) inputs.push_back(in);
          outputs.insert(outputs.end(), grp.outputs.begin(), grp.outputs.end());
          addStep(tag + " [gemv] + group g" + std::to_string(gi) + " [llvm] " + valueList(grp.members), nodes, inputs,
                  outputs, std::move(*fused));
          continue;
        }
      }
      if (!a.transposed && !b.transposed && (fast = gemvKernel(g, id, a.value, b.value))) {
        engine = "gemv";
        break;
      }
      fast = dnnlMatMul(res->dnnl, g, id, a, b);
      engine = "onednn";
      break;
    }
    case OpKind::Conv2d:
    case OpKind::Conv2dGradInput:
    case OpKind::Conv2dGradWeight:
      if (!convOptions) {
        // BDL_CONV_TIMING=0 or 1 overrides the option, for every caller.
        const char* env = std::getenv("BDL_CONV_TIMING");
        const std::string timing = env ? env : "";
        const bool timed = timing == "1" || (timing != "0" && options.timeConvolutions);
        convOptions = ConvOptions{options.cacheDir, hostTarget(), timed};
      }
      if (std::optional<ConvStep> conv = dnnlConv(res->dnnl, g, id, *convOptions)) {
        fast = std::move(conv->run);
        engine = conv->choice;
      }
      break;
    case OpKind::MaxPool2d:
    case OpKind::MaxPool2dGrad:
    case OpKind::AvgPool2d:
    case OpKind::AvgPool2dGrad:
      fast = poolKernel(g, id);
      engine = "kernel";
      break;
    case OpKind::Sum:
    case OpKind::Mean:
    case OpKind::Max:
    case OpKind::Min:
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
      fast = reduceKernel(g, id);
      engine = "kernel";
      break;
    case OpKind::Transpose:
    case OpKind::Concat:
    case OpKind::Slice:
    case OpKind::Pad:
    case OpKind::Dropout:
    case OpKind::Embedding:
    case OpKind::EmbeddingGrad:
      fast = dataKernel(g, id);
      engine = "kernel";
      break;
    case OpKind::CrossEntropy:
    case OpKind::Nll:
    case OpKind::Accuracy:
    case OpKind::OneHot:
    case OpKind::Mse:
      fast = lossKernel(g, id);
      engine = "kernel";
      break;
    default: break;
    }
    if (!fast) {
      // A folded transpose must exist if the fallback reads it.
      for (ValueId o : n.operands)
        if (folded[o]) return makeError("internal error: folded transpose read by a fallback");
      reads = n.operands;
      addStep(tag + " [reference]", {id}, reads, {id}, fallbackStep(g, id));
    } else {
      addStep(tag + " [" + engine + "]", {id}, reads, {id}, std::move(*fast));
    }
  }

  // The plan first: a group whose output takes over an input's memory is
  // compiled to store where it loads.
  planMemory(g, p);
  std::vector<std::optional<ValueId>> writesOver(fusion.groups.size());
  for (size_t gi = 0; gi < fusion.groups.size(); ++gi)
    if (stepOfGroup[gi]) writesOver[gi] = p.steps[*stepOfGroup[gi]].writesOver;
  if (!fusion.groups.empty()) {
    p.llvmIr = groupsModule(g, fusion, writesOver);
    p.llvmGroups = static_cast<int>(fusion.groups.size());
    if (options.emitOnly) return p;
    std::string key = cacheKey(p.llvmIr, hostTarget());
    std::optional<std::string> object;
    if (options.cacheDir) object = cacheLoad(*options.cacheDir, key);
    p.cacheHit = object.has_value();
    if (!object) {
      auto built = compileToObject(p.llvmIr);
      if (!built) return built.error();
      object = std::move(*built);
      if (options.cacheDir) cacheStore(*options.cacheDir, key, *object);
    }
    auto session = JitSession::create();
    if (!session) return session.error();
    res->jit = std::move(*session);
    if (auto e = res->jit->addObject(*object)) return *e;
    for (size_t i = 0; i < kernels.size(); ++i) {
      auto fn = res->jit->lookup("g" + std::to_string(i));
      if (!fn) return fn.error();
      kernels[i]->fn = *fn;
    }
  }
  p.keepAlive = res;
  p.compileMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return p;
}

} // namespace bdl::codegen
