// The memory plan of the LeNet-5 training graph: no two values alive at the
// same step share bytes, reuse makes the arena smaller than the sum of its
// buffers; and checkAgainstReference names the first step that differs.
#include "compiler/codegen/JitExecutable.h"
#include "compiler/ir/Specialize.h"
#include "compiler/passes/Autodiff.h"
#include "tests/codegen/TestSupport.h"
#include "tests/sema/SemaSupport.h"

#include <gtest/gtest.h>

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;
using codegen::Home;

ValueId rootOf(const codegen::Program& p, ValueId v) {
  while (p.homes[v].kind == Home::Alias) v = p.homes[v].aliasOf;
  return v;
}

TEST(JitPlan, LiveValuesNeverOverlapAndBuffersAreReused) {
  auto e = test::elaborateFile(test::sourceDir() / "examples/fashion_lenet.bdl", "LeNet5");
  ASSERT_TRUE(e->graph) << e->errors();
  GraphBuilder b(std::move(*e->graph));
  ValueId labels = *b.input("labels", {DType::I64, {Dim::sym("N")}});
  ASSERT_TRUE(b.output("loss", *b.crossEntropy(b.graph().findOutput("out").value(), labels)).ok());
  auto training = passes::buildTrainingGraph(b.finish());
  ASSERT_TRUE(training.ok());
  Graph g = *specialize(*training, {{"N", 16}});
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.cacheDir = "-";
  auto exe = exec::compile(g, opts);
  ASSERT_TRUE(exe.ok()) << exe.error().message;
  const codegen::Program& p = dynamic_cast<const codegen::JitExecutable&>(**exe).program();

  size_t end = p.steps.size();
  std::vector<size_t> def(g.size(), end), last(g.size(), 0);
  for (size_t s = 0; s < p.steps.size(); ++s) {
    for (ValueId v : p.steps[s].outputs) def[v] = std::min(def[v], s), last[v] = std::max(last[v], s);
    for (ValueId v : p.steps[s].inputs) last[rootOf(p, v)] = std::max(last[rootOf(p, v)], s);
  }
  for (const GraphOutput& o : g.outputs) last[rootOf(p, o.value)] = end;
  size_t total = 0, biggest = 0;
  std::vector<ValueId> arena;
  for (ValueId v = 0; v < g.size(); ++v)
    if (p.homes[v].kind == Home::Arena) {
      arena.push_back(v);
      total += p.homes[v].bytes;
      biggest = std::max(biggest, p.homes[v].bytes);
      EXPECT_EQ(p.homes[v].offset % 64, 0u);
      EXPECT_LE(p.homes[v].offset + p.homes[v].bytes, p.arenaBytes);
    }
  ASSERT_GT(arena.size(), 10u);
  // The one sharing allowed: a step's output written over the whole block
  // of an input that dies at that step, element for element.
  auto handedOver = [&](ValueId from, ValueId to) {
    if (def[to] == end || last[from] != def[to]) return false;
    const codegen::Step& st = p.steps[def[to]];
    return st.writesOver && rootOf(p, *st.writesOver) == from && st.outputs.size() == 1 && st.outputs[0] == to &&
           p.homes[from].offset == p.homes[to].offset && p.homes[from].bytes == p.homes[to].bytes;
  };
  int overlaps = 0, inPlace = 0;
  for (size_t i = 0; i < arena.size(); ++i)
    for (size_t j = i + 1; j < arena.size(); ++j) {
      ValueId a = arena[i], c = arena[j];
      bool liveTogether = def[a] <= last[c] && def[c] <= last[a];
      const auto &ha = p.homes[a], &hc = p.homes[c];
      bool share = ha.offset < hc.offset + hc.bytes && hc.offset < ha.offset + ha.bytes;
      if (liveTogether && share && (handedOver(a, c) || handedOver(c, a))) {
        ++inPlace;
      } else if (liveTogether && share) {
        ++overlaps;
        ADD_FAILURE() << "%" << a << " and %" << c << " overlap while both live";
      }
    }
  EXPECT_EQ(overlaps, 0);
  EXPECT_GT(inPlace, 0) << "element-wise groups write over inputs that die there";
  EXPECT_GE(p.arenaBytes, biggest);
  EXPECT_LT(p.arenaBytes, total * 3 / 4) << "liveness lets buffers share the arena";
  // And the plan computes the right thing.
  expectSameAsReference(g, randomFeeds(g, 1, 10));
}

// A column sum of [1e8, 1, -1e8] in f32 loses the 1 that the reference's
// double arithmetic keeps: a real f32 difference the check mode must name.
TEST(JitCheckMode, NamesTheFirstStepThatDiffers) {
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F32, dimsOf({3, 4})});
  ValueId s = *b.sum(*b.relu(x), {0});
  ASSERT_TRUE(b.output("s", *b.tanh(s)).ok());
  Graph g = b.finish();
  Tensor t(DType::F32, {3, 4});
  float values[] = {1e8f, 1e8f, 1e8f, 1e8f, 1, 1, 1, 1, -1e8f, -1e8f, -1e8f, -1e8f};
  std::copy(values, values + 12, t.data<float>());
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.cacheDir = "-";
  opts.checkAgainstReference = true;
  auto exe = exec::compile(g, opts);
  ASSERT_TRUE(exe.ok());
  // Inputs on which both agree pass.
  auto fine = (*exe)->run({{"x", randomTensor(DType::F32, {3, 4}, 2)}});
  EXPECT_TRUE(fine.ok()) << fine.error().message;
  // relu keeps the negative row at 0, so the sum is 1e8 + 1 in both: agree.
  auto same = (*exe)->run({{"x", t}});
  EXPECT_TRUE(same.ok()) << same.error().message;
  // Without relu the f32 column sum loses the 1.
  GraphBuilder b2;
  ValueId x2 = *b2.input("x", {DType::F32, dimsOf({3, 4})});
  ASSERT_TRUE(b2.output("s", *b2.tanh(*b2.sum(*b2.mul(x2, b2.scalar(1.0, DType::F32)), {0}))).ok());
  auto exe2 = exec::compile(b2.finish(), opts);
  ASSERT_TRUE(exe2.ok());
  auto differs = (*exe2)->run({{"x", t}});
  ASSERT_FALSE(differs.ok());
  EXPECT_NE(differs.error().message.find("sum"), std::string::npos) << differs.error().message;
  // The sum closes the product's group as its root: one step.
  EXPECT_NE(differs.error().message.find("step 0 (group g0 [llvm]"), std::string::npos) << differs.error().message;
}

// Each step is checked on the values the jit holds, not on a reference chain
// of its own: where a value sits within rounding of relu's kink, the two
// chains may take different branches and a later step amplify that past any
// tolerance, though every kernel is right (a distributed MLP hit it: a
// pre-activation of 6e-8 in the jit and -1e-7 in the reference, then a
// weight gradient 1e-3 apart).
TEST(JitCheckMode, ComparesEachStepOnTheJitsOwnInputs) {
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F32, dimsOf({3, 4})});
  ValueId s = *b.sum(x, {0}); // f32: 1 + 1e-8 - 1 = 0; the reference keeps the 1e-8
  ASSERT_TRUE(b.output("y", *b.mul(*b.relu(s), b.scalar(1e6, DType::F32))).ok());
  Tensor t(DType::F32, {3, 4});
  float values[] = {1, 1, 1, 1, 1e-8f, 1e-8f, 1e-8f, 1e-8f, -1, -1, -1, -1};
  std::copy(values, values + 12, t.data<float>());
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.cacheDir = "-";
  opts.checkAgainstReference = true;
  Graph g = b.finish();
  auto exe = exec::compile(g, opts);
  ASSERT_TRUE(exe.ok());
  auto r = (*exe)->run({{"x", t}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  // The reference engine takes the other branch: the difference is real
  // rounding, not a wrong kernel.
  exec::EngineOptions reference;
  reference.engine = exec::Engine::Reference;
  auto ref = exec::compile(g, reference);
  ASSERT_TRUE(ref.ok());
  auto want = (*ref)->run({{"x", t}});
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(r->outputs.at("y").span<float>()[0], 0.0f);
  EXPECT_GT(want->outputs.at("y").span<float>()[0], 1e-3f);
}

} // namespace
} // namespace bdl::codegentest
