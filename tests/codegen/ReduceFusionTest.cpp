// Reductions as fusion roots: sum, mean, max and min over every axis
// pattern (inner, outer, both around a kept one, all, size-1 axes only),
// with size-1 and odd sizes, broadcast operands in the chain, a chain
// member that is also read elsewhere, and runs long enough to be cut into
// chunks or column blocks: fused against the reference, in check mode,
// and bit for bit the same for 1, 2 and 3 threads.
#include "tests/codegen/TestSupport.h"

#include <gtest/gtest.h>

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;

enum class Kind { Sum, Mean, Max, Min };

struct Case {
  Shape shape;
  std::vector<int64_t> axes;
  bool keepdims = false;
};

// r = reduce(a * b - c) with b broadcast along the last axis and c along the
// first; `alsoOutput` makes the chain's value a graph output too.
Graph reduceGraph(Kind kind, const Case& c, bool alsoOutput) {
  GraphBuilder b;
  Shape bShape = c.shape, cShape = c.shape;
  if (!bShape.empty()) bShape.erase(bShape.begin());
  if (!cShape.empty()) cShape.back() = 1;
  ValueId x = *b.input("a", {DType::F32, dimsOf(c.shape)});
  ValueId y = *b.input("b", {DType::F32, dimsOf(bShape)});
  ValueId z = *b.input("c", {DType::F32, dimsOf(cShape)});
  ValueId chain = *b.sub(*b.mul(x, y), z);
  Expected<ValueId> r = kind == Kind::Sum    ? b.sum(chain, c.axes, c.keepdims)
                        : kind == Kind::Mean ? b.mean(chain, c.axes, c.keepdims)
                        : kind == Kind::Max  ? b.max(chain, c.axes, c.keepdims)
                                             : b.min(chain, c.axes, c.keepdims);
  EXPECT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(b.output("r", *r).ok());
  if (alsoOutput) {
    EXPECT_TRUE(b.output("t", chain).ok());
  }
  return b.finish();
}

const char* kindName(Kind k) {
  return k == Kind::Sum ? "sum" : k == Kind::Mean ? "mean" : k == Kind::Max ? "max" : "min";
}

void expectFusedAndRight(Kind kind, const Case& c, bool alsoOutput, double tolerance = 2e-5) {
  SCOPED_TRACE(std::string(kindName(kind)) + " of " + shapeToString(c.shape) + " axes " +
               std::to_string(c.axes.size()) + (c.keepdims ? " keepdims" : "") + (alsoOutput ? " +output" : ""));
  Graph g = reduceGraph(kind, c, alsoOutput);
  EXPECT_NE(codegen::dumpFused(g).find("reduced by"), std::string::npos) << codegen::dumpFused(g);
  interp::Feeds feeds = randomFeeds(g, c.shape.size() * 31 + c.axes.size());
  expectSameAsReference(g, feeds, tolerance, {.threads = 1});
  expectSameAsReference(g, feeds, tolerance, {.threads = 2, .check = true});
  expectSameAsReference(g, feeds, tolerance, {.fusion = false, .threads = 2});
  std::map<std::string, Tensor> first = jitOutputs(g, feeds, 1);
  for (int threads : {2, 3}) {
    std::map<std::string, Tensor> got = jitOutputs(g, feeds, threads);
    for (const auto& [name, value] : got)
      EXPECT_EQ(relativeDifference(value, first.at(name)), 0.0) << name << " at " << threads << " threads";
  }
}

const Kind kKinds[] = {Kind::Sum, Kind::Mean, Kind::Max, Kind::Min};

TEST(JitReduceFusion, EveryKindAndAxisPattern) {
  const std::vector<Case> cases = {
      {{5, 7}, {1}},           {{5, 7}, {0}},          {{5, 7}, {}},          {{5, 7}, {0, 1}, true},
      {{3, 1, 5, 4}, {0, 2}},  {{3, 1, 5, 4}, {1}},    {{3, 1, 5, 4}, {3}, true},
      {{2, 3, 4, 5}, {0, 2}},  {{2, 3, 4, 5}, {1, 3}}, {{2, 3, 4, 5}, {1, 2}, true},
      {{1}, {0}},              {{1, 1}, {1}},          {{33}, {0}},           {{17, 1}, {-2}},
  };
  for (Kind k : kKinds)
    for (const Case& c : cases) expectFusedAndRight(k, c, false);
}

TEST(JitReduceFusion, ChainMemberReadElsewhereIsWrittenInTheSamePass) {
  for (Kind k : kKinds) {
    expectFusedAndRight(k, {{5, 7}, {1}}, true);
    expectFusedAndRight(k, {{6, 9}, {0}}, true);
    expectFusedAndRight(k, {{2, 3, 4, 5}, {0, 2}}, true);
  }
}

// A product reads the chain before the sum does (as autodiff orders a dense
// layer's backward pass): the sum still becomes the group's root and runs
// with the group, before the product.
TEST(JitReduceFusion, RootOfAGroupAlreadyReadByAProduct) {
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F32, dimsOf({6, 5})});
  ValueId bias = *b.input("b", {DType::F32, dimsOf({5})});
  ValueId w = *b.input("w", {DType::F32, dimsOf({5, 3})});
  ValueId t = *b.relu(*b.add(x, bias));
  ASSERT_TRUE(b.output("y", *b.matmul(t, w)).ok());
  ASSERT_TRUE(b.output("s", *b.sum(t, {0})).ok());
  Graph g = b.finish();
  std::string fused = codegen::dumpFused(g);
  EXPECT_NE(fused.find("reduced by v2"), std::string::npos) << fused;
  auto plan = codegen::dumpPlan(g);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_LT(plan->find("group g0 [llvm] %3, %4, %6"), plan->find("matmul %5")) << *plan;
  interp::Feeds feeds = randomFeeds(g, 5);
  expectSameAsReference(g, feeds, 2e-5, {.threads = 2, .check = true});
}

// Long runs: one reduced run in chunks combined in order (3 rows of 40,000,
// all of 70,001), many reduced rows in chunks of rows (a conv bias gradient
// over N, H and W; 40 rows of 2,050 twice), a kept inner axis in column
// blocks (3 x 3,001 over axis 0).
TEST(JitReduceFusion, LongRunsInChunksGiveTheSameBitsForAnyThreadCount) {
  for (Kind k : kKinds) {
    expectFusedAndRight(k, {{3, 40000}, {1}}, false, 1e-4);
    expectFusedAndRight(k, {{70001}, {}}, true, 1e-4);
    expectFusedAndRight(k, {{3, 3001}, {0}}, false, 1e-4);
    expectFusedAndRight(k, {{40, 2, 2050}, {0, 2}}, false, 1e-4);
    expectFusedAndRight(k, {{130, 3, 28, 28}, {0, 2, 3}, true}, true, 1e-4);
  }
}

// Forward and backward: the gradients broadcast the reduced value back into
// a chain, which must read it, not recompute it.
TEST(JitReduceFusion, TrainingGraphs) {
  using Ids = std::vector<ValueId>;
  checkOp("mean of squares", {{{4, 9}}, {{9}}, {{4, 1}}}, [](GraphBuilder& b, const Ids& p) {
    ValueId d = *b.sub(*b.mul(p[0], p[1]), p[2]);
    return b.mean(*b.mul(d, d));
  });
  checkOp("row max minus", {{{5, 7}}}, [](GraphBuilder& b, const Ids& p) {
    ValueId t = *b.tanh(p[0]);
    return b.sub(t, *b.max(t, {1}, true));
  });
  checkOp("bias gradient", {{{6, 3}}, {{3}}}, [](GraphBuilder& b, const Ids& p) {
    return b.sum(*b.relu(*b.add(p[0], p[1])), {0});
  });
}

} // namespace
} // namespace bdl::codegentest
