// Autodiff's training and evaluation graphs (state updates, dropout, unused
// parameters) and the simplify passes: each test fails if its pass does
// nothing, and checks the results are unchanged.
#include "compiler/interp/Interpreter.h"
#include "compiler/ir/Verifier.h"
#include "compiler/passes/Autodiff.h"
#include "compiler/passes/CommonSubexpressions.h"
#include "compiler/passes/ConstantFold.h"
#include "compiler/passes/DeadCode.h"
#include "tests/ir/TestUtil.h"

#include <gtest/gtest.h>

namespace bdl::irtest {
namespace {

using namespace bdl::ir;

TensorType f32(const Shape& s) { return {DType::F32, dimsOf(s)}; }

size_t countOps(const Graph& g, OpKind op) {
  size_t n = 0;
  for (const Node& node : g.nodes) n += node.op == op;
  return n;
}

std::vector<double> runOutput(const Graph& g, const interp::Feeds& feeds, const std::string& out) {
  auto r = interp::run(g, feeds);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? values(r->outputs.at(out)) : std::vector<double>{};
}

// x -> dense -> dropout -> mse, plus a running-mean state updated from the
// batch mean, and a parameter the loss does not use.
Graph modelWithStateAndDropout() {
  GraphBuilder b;
  ValueId x = *b.input("x", f32({4, 3}));
  ValueId t = *b.input("t", f32({4, 2}));
  ValueId w = *b.parameter("W", f32({3, 2}), Initializer::glorotUniform());
  *b.parameter("unused", f32({5}), Initializer::ones());
  ValueId running = *b.state("bn.mean", f32({3}), Initializer::zeros());
  ValueId batchMean = *b.mean(x, {0});
  ValueId momentum = b.scalar(0.9, DType::F32);
  ValueId updated = *b.add(*b.mul(running, momentum), *b.mul(batchMean, *b.sub(b.scalar(1, DType::F32), momentum)));
  EXPECT_TRUE(b.stateUpdate(running, updated).ok());
  ValueId y = *b.dropout(*b.matmul(x, w), 0.5, 11);
  EXPECT_TRUE(b.output("y", y).ok());
  EXPECT_TRUE(b.output("loss", *b.mse(y, t)).ok());
  return b.finish();
}

interp::Feeds modelFeeds(const Graph& g) {
  interp::Feeds feeds = interp::initialParameters(g, 1);
  feeds["x"] = randomTensor(DType::F32, {4, 3}, 1);
  feeds["t"] = randomTensor(DType::F32, {4, 2}, 2);
  return feeds;
}

TEST(Autodiff, TrainingGraphKeepsForwardStateUpdatesAndAddsEveryGradient) {
  Graph forward = modelWithStateAndDropout();
  auto training = passes::buildTrainingGraph(forward);
  ASSERT_TRUE(training.ok()) << training.error().message;
  EXPECT_TRUE(verifyGraph(*training).empty());
  EXPECT_EQ(countOps(*training, OpKind::StateUpdate), 2u) << "bn.mean and rng:step";
  EXPECT_EQ(countOps(*training, OpKind::Dropout), 2u) << "forward and its gradient";
  interp::Feeds feeds = modelFeeds(forward);
  auto r = interp::run(*training, feeds);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->outputs.count("grad:W"), 1u);
  EXPECT_EQ(values(r->outputs.at("grad:unused")), std::vector<double>(5, 0.0));
  ASSERT_EQ(r->stateUpdates.count("bn.mean"), 1u);
  EXPECT_EQ(values(r->stateUpdates.at("rng:step")), std::vector<double>{1});
  std::vector<double> x = values(feeds["x"]), mean = values(r->stateUpdates.at("bn.mean"));
  for (int c = 0; c < 3; ++c) {
    double m = (x[c] + x[3 + c] + x[6 + c] + x[9 + c]) / 4;
    EXPECT_NEAR(mean[c], 0.1 * m, 1e-6);
  }
}

TEST(Autodiff, EvalGraphHasNoDropoutAndNoStateUpdates) {
  Graph forward = modelWithStateAndDropout();
  Graph eval = passes::buildEvalGraph(forward);
  EXPECT_TRUE(verifyGraph(eval).empty());
  EXPECT_EQ(countOps(eval, OpKind::Dropout), 0u);
  EXPECT_EQ(countOps(eval, OpKind::StateUpdate), 0u);
  interp::Feeds feeds = modelFeeds(forward);
  auto r = interp::run(eval, feeds);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stateUpdates.empty());
  // y = x @ W exactly (dropout is the identity).
  std::vector<double> x = values(feeds["x"]), w = values(feeds["W"]), y = values(r->outputs.at("y"));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += x[i * 3 + k] * w[k * 2 + j];
      EXPECT_NEAR(y[i * 2 + j], s, 1e-5);
    }
}

TEST(Autodiff, RejectsMissingOrNonScalarLoss) {
  GraphBuilder b;
  ValueId x = *b.parameter("p", f32({2}), Initializer::zeros());
  ASSERT_TRUE(b.output("loss", x).ok());
  Graph g = b.finish();
  EXPECT_FALSE(passes::buildTrainingGraph(g).ok());
  EXPECT_FALSE(passes::buildTrainingGraph(g, "nope").ok());
}

TEST(ConstantFold, FoldsConstantSubtreesAndShapeCounts) {
  GraphBuilder b;
  ValueId x = *b.input("x", f32({2, 3}));
  ValueId c = *b.mul(b.scalar(2, DType::F32), b.scalar(3, DType::F32));
  ValueId count = *b.numElements(x, {1}, DType::F32);
  ValueId y = *b.add(*b.mul(x, c), count);
  ASSERT_TRUE(b.output("y", y).ok());
  Graph g = b.finish();
  Graph folded = passes::foldConstants(g);
  EXPECT_TRUE(verifyGraph(folded).empty());
  ASSERT_EQ(folded.node(c).op, OpKind::Constant);
  EXPECT_EQ(values(folded.node(c).value), std::vector<double>{6});
  ASSERT_EQ(folded.node(count).op, OpKind::Constant);
  EXPECT_EQ(values(folded.node(count).value), std::vector<double>{3});
  EXPECT_NE(folded.node(y).op, OpKind::Constant); // depends on an input
  interp::Feeds feeds{{"x", randomTensor(DType::F32, {2, 3}, 5)}};
  EXPECT_EQ(runOutput(folded, feeds, "y"), runOutput(g, feeds, "y"));
  Graph cleaned = passes::eliminateDeadCode(folded);
  EXPECT_LT(cleaned.size(), folded.size());
  EXPECT_EQ(runOutput(cleaned, feeds, "y"), runOutput(g, feeds, "y"));
}

TEST(CommonSubexpressions, MergesEqualNodesOnly) {
  GraphBuilder b;
  ValueId x = *b.input("x", f32({2, 3}));
  ValueId e1 = *b.exp(x), e2 = *b.exp(x);
  ValueId s0 = *b.sum(e1, {0}), s1 = *b.sum(e2, {1}); // different attributes: kept apart
  ValueId k1 = b.scalar(2, DType::F32), k2 = b.scalar(2, DType::F32), k3 = b.scalar(3, DType::F32);
  ValueId y = *b.add(*b.mul(e1, k1), *b.mul(e2, k2));
  ASSERT_TRUE(b.output("y", y).ok());
  ASSERT_TRUE(b.output("s0", s0).ok());
  ASSERT_TRUE(b.output("s1", s1).ok());
  ASSERT_TRUE(b.output("k3", k3).ok());
  Graph g = b.finish();
  Graph cse = passes::eliminateCommonSubexpressions(g);
  EXPECT_TRUE(verifyGraph(cse).empty());
  EXPECT_EQ(countOps(cse, OpKind::Exp), 1u);
  EXPECT_EQ(countOps(cse, OpKind::Mul), 1u);
  EXPECT_EQ(countOps(cse, OpKind::Sum), 2u);
  EXPECT_EQ(countOps(cse, OpKind::Constant), 2u); // 2 and 3
  const Node& add = cse.node(*cse.findOutput("y"));
  EXPECT_EQ(add.operands[0], add.operands[1]);
  interp::Feeds feeds{{"x", randomTensor(DType::F32, {2, 3}, 5)}};
  for (const char* out : {"y", "s0", "s1", "k3"})
    EXPECT_EQ(runOutput(cse, feeds, out), runOutput(g, feeds, out)) << out;
}

TEST(CommonSubexpressions, NeverMergesNamedLeavesOrStateUpdates) {
  GraphBuilder b;
  ValueId p = *b.parameter("a", f32({2}), Initializer::zeros());
  ValueId q = *b.parameter("b", f32({2}), Initializer::zeros());
  ValueId s = *b.state("s", f32({2}), Initializer::zeros());
  ASSERT_TRUE(b.stateUpdate(s, *b.add(p, q)).ok());
  Graph cse = passes::eliminateCommonSubexpressions(b.finish());
  EXPECT_EQ(countOps(cse, OpKind::Parameter), 2u);
  EXPECT_EQ(countOps(cse, OpKind::StateUpdate), 1u);
}

TEST(DeadCode, RemovesUnusedNodesKeepsInterfaceAndEffects) {
  GraphBuilder b;
  ValueId x = *b.input("x", f32({3}));
  *b.input("unused_input", f32({1}));
  ValueId s = *b.state("s", f32({3}), Initializer::zeros());
  ValueId dead = *b.exp(*b.neg(x));
  ValueId y = *b.tanh(x);
  ASSERT_TRUE(b.stateUpdate(s, *b.add(s, x)).ok());
  ASSERT_TRUE(b.output("y", y).ok());
  Graph g = b.finish();
  Graph live = passes::eliminateDeadCode(g);
  EXPECT_TRUE(verifyGraph(live).empty());
  EXPECT_EQ(live.size(), g.size() - 2);
  EXPECT_EQ(countOps(live, OpKind::Exp), 0u);
  EXPECT_EQ(countOps(live, OpKind::Neg), 0u);
  EXPECT_EQ(countOps(live, OpKind::StateUpdate), 1u);
  EXPECT_TRUE(live.findLeaf(OpKind::Input, "unused_input").has_value());
  EXPECT_EQ(live.node(*live.findOutput("y")).op, OpKind::Tanh);
  (void)dead;
}

TEST(Passes, SimplifiedTrainingGraphGivesTheSameGradients) {
  Graph forward = modelWithStateAndDropout();
  Graph training = *passes::buildTrainingGraph(forward);
  Graph simple = passes::eliminateDeadCode(
      passes::eliminateCommonSubexpressions(passes::foldConstants(training)));
  EXPECT_TRUE(verifyGraph(simple).empty());
  EXPECT_LT(simple.size(), training.size());
  interp::Feeds feeds = modelFeeds(forward);
  for (const char* out : {"loss", "grad:W", "y"})
    EXPECT_EQ(runOutput(simple, feeds, out), runOutput(training, feeds, out)) << out;
}

} // namespace
} // namespace bdl::irtest
