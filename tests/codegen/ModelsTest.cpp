// The example models compiled from their .bdl source (examples/fashion_mlp.bdl,
// examples/fashion_lenet.bdl): training graph (loss, logits and every
// parameter gradient) and evaluation graph on the Jit against the reference.
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

TEST(JitModels, FashionMlpTrainingAndEval) { checkModel("examples/fashion_mlp.bdl", "MLP", 32); }
TEST(JitModels, FashionLeNetTrainingAndEval) { checkModel("examples/fashion_lenet.bdl", "LeNet5", 8); }

} // namespace
} // namespace bdl::codegentest
