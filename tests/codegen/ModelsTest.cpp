// The example models compiled from their .bdl source (examples/fashion_mlp.bdl,
// examples/fashion_lenet.bdl): training graph (loss, logits and every
// parameter gradient) and evaluation graph on the Jit against the reference.
#include "compiler/exec/Executable.h"
#include "compiler/ir/Specialize.h"
#include "compiler/passes/Autodiff.h"
#include "tests/codegen/TestSupport.h"
#include "tests/sema/SemaSupport.h"

#include <gtest/gtest.h>

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;

// forward + cross_entropy(out, labels) as the train jobs write it.
Graph withLoss(Graph forward) {
  GraphBuilder b(std::move(forward));
  ValueId labels = *b.input("labels", {DType::I64, {Dim::sym("N")}});
  ValueId logits = b.graph().findOutput("out").value();
  EXPECT_TRUE(b.output("loss", *b.crossEntropy(logits, labels)).ok());
  return b.finish();
}

void checkModel(const std::string& file, const std::string& model, int64_t batch) {
  SCOPED_TRACE(model);
  auto e = test::elaborateFile(test::sourceDir() / file, model);
  ASSERT_TRUE(e->graph) << e->errors();
  Graph forward = withLoss(std::move(*e->graph));
  auto training = passes::buildTrainingGraph(forward);
  ASSERT_TRUE(training.ok()) << training.error().message;
  auto concrete = specialize(*training, {{"N", batch}});
  ASSERT_TRUE(concrete.ok()) << concrete.error().message;
  interp::Feeds feeds = randomFeeds(*concrete, 5, 10);
  for (bool fusion : {true, false}) {
    SCOPED_TRACE(fusion ? "fusion" : "no fusion");
    codegen::JitStats stats = expectSameAsReference(*concrete, feeds, 2e-4, {fusion, 2, false});
    EXPECT_EQ(stats.referenceSteps, 0) << stats.referenceOps;
    EXPECT_GT(stats.arenaBytes, 0u);
  }
  auto eval = specialize(passes::buildEvalGraph(forward), {{"N", 1}});
  ASSERT_TRUE(eval.ok());
  expectSameAsReference(*eval, randomFeeds(*eval, 6, 10), 2e-4, {true, 1, false});
  expectSameAsReference(*eval, randomFeeds(*eval, 7, 10), 2e-4, {true, 2, false}); // products split by columns
}

TEST(JitModels, FashionMlpTrainingAndEval) { checkModel("examples/fashion_mlp.bdl", "MLP", 128); } // the benchmark's batch
TEST(JitModels, FashionLeNetTrainingAndEval) { checkModel("examples/fashion_lenet.bdl", "LeNet5", 8); }

// Every layer of std.nn (conv, batch norm with its running statistics,
// residual block, max pool, layer norm, dropout with the step counter,
// dense) for a few SGD steps: each engine updates its own copy of the
// parameters and carries its own states, and they stay together.
TEST(JitModels, EveryStandardLibraryLayerTrainsLikeTheReference) {
  std::string src = R"(import std.nn

model Everything(x: f32[N, 3, 8, 8]) -> f32[N, 10] {
  c = nn.Conv2D(x, 8, 3, padding = 1)
  bn = nn.BatchNorm(c)
  r = nn.Residual(bn)
  p = nn.MaxPool(r)
  f = flatten(p)
  ln = nn.LayerNorm(f)
  d = nn.Dropout(ln, p = 0.25)
  return nn.Dense(d, 10, act = identity)
}
)";
  auto e = test::elaborateText(src, "Everything");
  ASSERT_TRUE(e->graph) << e->errors();
  auto training = passes::buildTrainingGraph(withLoss(std::move(*e->graph)));
  ASSERT_TRUE(training.ok()) << training.error().message;
  Graph g = *specialize(*training, {{"N", 4}});
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.threads = 2;
  opts.cacheDir = "-";
  auto exe = exec::compile(g, opts);
  ASSERT_TRUE(exe.ok()) << exe.error().message;
  EXPECT_EQ(codegen::jitStats(**exe)->referenceOps.find("dropout"), std::string::npos);
  RecordProperty("reference_ops", codegen::jitStats(**exe)->referenceOps);
  interp::Feeds ref = randomFeeds(g, 11, 10), jit = ref;
  for (int step = 0; step < 4; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    auto want = interp::run(g, ref);
    auto got = (*exe)->run(jit);
    ASSERT_TRUE(want.ok() && got.ok());
    ASSERT_EQ(got->stateUpdates.size(), 7u) << "six running statistics and the step counter";
    for (const auto& [name, t] : want->stateUpdates) {
      EXPECT_LE(relativeDifference(got->stateUpdates.at(name), t), 1e-3) << name;
      ref[name] = t;
      jit[name] = got->stateUpdates.at(name);
    }
    EXPECT_LE(relativeDifference(got->outputs.at("loss"), want->outputs.at("loss")), 1e-3);
    for (ValueId p : g.leaves(OpKind::Parameter)) {
      const std::string& name = g.node(p).name;
      const std::string grad = passes::gradientOutputName(name);
      EXPECT_LE(relativeDifference(got->outputs.at(grad), want->outputs.at(grad)), 1e-3) << grad;
      for (auto* side : {&ref, &jit}) {
        const Tensor& gr = (side == &ref ? *want : *got).outputs.at(grad);
        Tensor next = (*side)[name].clone();
        for (int64_t i = 0; i < next.numel(); ++i) next.data<float>()[i] -= 0.1f * gr.data<float>()[i];
        (*side)[name] = next;
      }
    }
  }
}

} // namespace
} // namespace bdl::codegentest
