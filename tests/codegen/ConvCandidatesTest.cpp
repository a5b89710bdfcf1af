// Every candidate implementation of every convolution (forward and both
// gradients) against the reference kernel: the compile-time timing may pick
// any of them on some machine, so each must be right on its own. Odd sizes,
// 1/3/6/16 channels, padding, strides, dilation, groups, rows wider than one
// 16-float vector; then the timed choice and its record in the cache.
#include "compiler/codegen/DnnlOps.h"
#include "compiler/codegen/JitExecutable.h"
#include "compiler/ir/OpRules.h"
#include "compiler/passes/Autodiff.h"
#include "tests/codegen/TestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <omp.h>
#include <unistd.h>

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;

struct Case {
  std::string name;
  Shape x, w;
  Conv2dOptions o;
};

// The training graph of sum(conv2d(p0, p1) * r): one node of each
// convolution op.
Graph convTraining(const Case& c) {
  GraphBuilder b;
  ValueId x = *b.parameter("p0", TensorType{DType::F32, dimsOf(c.x)}, Initializer::zeros());
  ValueId w = *b.parameter("p1", TensorType{DType::F32, dimsOf(c.w)}, Initializer::zeros());
  ValueId y = *b.conv2d(x, w, c.o);
  ValueId r = b.constant(randomTensor(DType::F32, *b.type(y).shape(), 99));
  EXPECT_TRUE(b.output("loss", *b.sum(*b.mul(y, r))).ok());
  return *passes::buildTrainingGraph(b.finish());
}

bool isConv(OpKind k) { return k == OpKind::Conv2d || k == OpKind::Conv2dGradInput || k == OpKind::Conv2dGradWeight; }

// Runs every candidate of every convolution of `c` with `threads` and
// returns how many ran.
int checkCandidates(const Case& c, int threads) {
  SCOPED_TRACE(c.name + ", " + std::to_string(threads) + " threads");
  Graph g = convTraining(c);
  auto rt = codegen::makeDnnlRuntime(threads);
  int previous = omp_get_max_threads();
  omp_set_num_threads(threads);
  int ran = 0;
  for (ValueId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (!isConv(n.op)) continue;
    SCOPED_TRACE(std::string(opName(n.op)));
    std::vector<Tensor> in;
    for (size_t i = 0; i < n.operands.size(); ++i)
      in.push_back(randomTensor(DType::F32, *g.type(n.operands[i]).shape(), 11 + i));
    Tensor expected = evaluateOp(n, in);
    std::vector<std::string> names = codegen::dnnlConvCandidates(rt, g, id);
    EXPECT_FALSE(names.empty());
    bool direct = c.o.groups == 1 && c.o.stride == std::array<int64_t, 2>{1, 1} &&
                  c.o.dilation == std::array<int64_t, 2>{1, 1} && (n.op != OpKind::Conv2dGradWeight || c.w[3] <= 7);
    EXPECT_EQ(direct, std::find(names.begin(), names.end(), "kernel nchw direct") != names.end());
    for (const std::string& name : names) {
      SCOPED_TRACE(name);
      auto step = codegen::dnnlConvCandidate(rt, g, id, name);
      if (!step) {
        ADD_FAILURE() << "listed but not built";
        continue;
      }
      codegen::RunContext ctx;
      ctx.threads = threads;
      ctx.ptr.assign(g.size(), nullptr);
      std::vector<Tensor> copies = in; // a step must not write its operands
      for (size_t i = 0; i < n.operands.size(); ++i) ctx.ptr[n.operands[i]] = copies[i].rawData();
      Tensor out(DType::F32, expected.shape());
      // NaN everywhere first: an element the step does not write fails.
      for (int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
      ctx.ptr[id] = out.rawData();
      (*step)(ctx);
      EXPECT_LT(relativeDifference(out, expected), 1e-5);
      for (size_t i = 0; i < n.operands.size(); ++i)
        EXPECT_EQ(0, std::memcmp(copies[i].rawData(), in[i].rawData(), in[i].bytes()));
      ++ran;
    }
  }
  omp_set_num_threads(previous);
  return ran;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"lenet1", {3, 1, 28, 28}, {6, 1, 5, 5}, {{1, 1}, {2, 2}, {1, 1}, 1}},
      {"lenet2", {2, 6, 14, 14}, {16, 6, 5, 5}, {}},
      {"rgb-odd", {2, 3, 9, 7}, {4, 3, 3, 2}, {{1, 1}, {1, 0}, {1, 1}, 1}},
      {"wide-rows", {1, 2, 5, 37}, {9, 2, 3, 7}, {{1, 1}, {1, 3}, {1, 1}, 1}},
      {"kernel-1x1", {2, 16, 3, 3}, {5, 16, 1, 1}, {}},
      {"kernel-8-wide", {1, 3, 4, 20}, {2, 3, 2, 8}, {}},
      {"more-padding-than-kernel", {1, 1, 3, 4}, {3, 1, 2, 2}, {{1, 1}, {3, 2}, {1, 1}, 1}},
      {"stride", {2, 3, 9, 8}, {4, 3, 3, 3}, {{2, 3}, {1, 1}, {1, 1}, 1}},
      {"dilation", {1, 6, 9, 9}, {6, 6, 3, 3}, {{1, 1}, {2, 2}, {2, 2}, 1}},
      {"groups", {2, 4, 6, 6}, {6, 2, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 2}},
      {"one-pixel", {1, 1, 1, 1}, {1, 1, 1, 1}, {}},
  };
  return all;
}

TEST(JitConvCandidates, EveryCandidateMatchesTheReference) {
  for (const Case& c : cases()) {
    EXPECT_GT(checkCandidates(c, 1), 0);
    EXPECT_GT(checkCandidates(c, 2), 0);
  }
}

// A convolution large enough to be timed: its choice is recorded in the
// cache, a second compile takes it from there (without timing), and both
// executables agree with the reference.
TEST(JitConvCandidates, TimedChoiceIsRecordedAndReused) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("bdl-conv-choice-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  Case c{"timed", {8, 6, 14, 14}, {16, 6, 5, 5}, {}};
  Graph g = convTraining(c);
  interp::Feeds feeds = interp::initialParameters(g, 0);
  feeds["p0"] = randomTensor(DType::F32, c.x, 7);
  feeds["p1"] = randomTensor(DType::F32, c.w, 8);
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.threads = 2;
  opts.cacheDir = dir.string();
  auto labels = [](const exec::Executable& exe) {
    std::vector<std::string> out;
    for (const codegen::Step& s : dynamic_cast<const codegen::JitExecutable&>(exe).program().steps)
      if (s.label.find("conv2d") == 0) out.push_back(s.label);
    return out;
  };
  auto first = exec::compile(g, opts);
  ASSERT_TRUE(first.ok()) << first.error().message;
  size_t entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_GE(entries, 3u); // a choice per convolution, and the fused groups' object
  auto second = exec::compile(g, opts);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(labels(**first), labels(**second));
  EXPECT_EQ(labels(**first).size(), 3u);
  expectSameAsReference(g, feeds, 2e-4, {true, 2, false});
  std::filesystem::remove_all(dir);
}

// BDL_CONV_TIMING=0: no timing, oneDNN's own pick for its blocked layouts.
TEST(JitConvCandidates, WithoutTimingOneDnnChooses) {
  Graph g = convTraining({"untimed", {8, 6, 14, 14}, {16, 6, 5, 5}, {}});
  auto rt = codegen::makeDnnlRuntime(2);
  codegen::ConvOptions opts;
  opts.timing = false;
  int convs = 0;
  for (ValueId id = 0; id < g.size(); ++id) {
    if (!isConv(g.node(id).op)) continue;
    auto step = codegen::dnnlConv(rt, g, id, opts);
    ASSERT_TRUE(step.has_value());
    EXPECT_EQ(step->choice.rfind("onednn any ", 0), 0u) << step->choice;
    ++convs;
  }
  EXPECT_EQ(convs, 3);
}

} // namespace
} // namespace bdl::codegentest
