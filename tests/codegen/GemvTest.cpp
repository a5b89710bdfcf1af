// The batch-1 product kernel (GemvKernel.cpp) against the reference
// interpreter: every row count it takes (1 to 4), column counts that fill
// whole 128-column tiles, single 16-column vectors, a scalar tail, or none of
// them, and W large enough to be split over two threads at odd boundaries.
#include "tests/codegen/TestSupport.h"

#include <gtest/gtest.h>

#include <map>

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;

Graph product(int64_t m, int64_t k, int64_t n) {
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F32, dimsOf({m, k})});
  ValueId w = *b.input("w", {DType::F32, dimsOf({k, n})});
  (void)b.output("y", *b.matmul(x, w));
  return b.finish();
}

TEST(JitGemv, MatchesTheReferenceForEveryRowCountAndColumnTail) {
  const int64_t columns[] = {1, 10, 16, 17, 100, 128, 130, 256, 300};
  for (int64_t m = 1; m <= 4; ++m)
    for (int64_t k : {1, 37, 784})
      for (int64_t n : columns)
        for (int threads : {1, 2}) {
          SCOPED_TRACE("m=" + std::to_string(m) + " k=" + std::to_string(k) + " n=" + std::to_string(n) +
                       " threads=" + std::to_string(threads));
          Graph g = product(m, k, n);
          auto plan = codegen::dumpPlan(g);
          ASSERT_TRUE(plan.ok()) << plan.error().message;
          ASSERT_NE(plan->find("[gemv]"), std::string::npos) << *plan; // the path under test
          interp::Feeds feeds = {{"x", randomTensor(DType::F32, {m, k}, 11)},
                                 {"w", randomTensor(DType::F32, {k, n}, 12)}};
          expectSameAsReference(g, feeds, 2e-5, {.threads = threads});
        }
}

TEST(JitGemv, FiveRowsGoToOneDnn) {
  auto plan = codegen::dumpPlan(product(5, 8, 8));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->find("[gemv]"), std::string::npos) << *plan;
}

} // namespace
} // namespace bdl::codegentest

namespace bdl::codegentest {
namespace {

// relu(x @ W + b) for one row: the bias and relu run inside the product's
// step, on the columns each thread has just written.
Graph denseRow(int64_t k, int64_t n, bool productIsAnOutput) {
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F32, dimsOf({1, k})});
  ValueId w = *b.input("w", {DType::F32, dimsOf({k, n})});
  ValueId bias = *b.input("b", {DType::F32, dimsOf({n})});
  ValueId product = *b.matmul(x, w);
  (void)b.output("y", *b.relu(*b.add(product, bias)));
  if (productIsAnOutput) (void)b.output("product", product);
  return b.finish();
}

interp::Feeds denseRowFeeds(int64_t k, int64_t n) {
  return {{"x", randomTensor(DType::F32, {1, k}, 21)},
          {"w", randomTensor(DType::F32, {k, n}, 22)},
          {"b", randomTensor(DType::F32, {n}, 23)}};
}

TEST(JitGemv, BiasAndActivationRunAsTheProductsEpilogue) {
  for (int64_t n : {10, 16, 130, 256})
    for (int threads : {1, 2}) {
      SCOPED_TRACE("n=" + std::to_string(n) + " threads=" + std::to_string(threads));
      Graph g = denseRow(784, n, false);
      auto plan = codegen::dumpPlan(g);
      ASSERT_TRUE(plan.ok()) << plan.error().message;
      EXPECT_NE(plan->find("[gemv] + group g0 [llvm]"), std::string::npos) << *plan;
      EXPECT_NE(plan->find("plan: 1 steps"), std::string::npos) << *plan;
      expectSameAsReference(g, denseRowFeeds(784, n), 2e-5, {.threads = threads});
      expectSameAsReference(g, denseRowFeeds(784, n), 2e-5, {.threads = threads, .check = true});
    }
}

TEST(JitGemv, NoEpilogueWhenTheProductIsReadElsewhereOrTheGroupWaitsForAnotherStep) {
  auto plan = codegen::dumpPlan(denseRow(64, 32, true));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->find("+ group"), std::string::npos) << *plan;
  expectSameAsReference(denseRow(64, 32, true), denseRowFeeds(64, 32));

  // The group also reads another product's result: it must wait for it.
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F32, dimsOf({1, 8})});
  ValueId w1 = *b.input("w1", {DType::F32, dimsOf({8, 16})});
  ValueId w2 = *b.input("w2", {DType::F32, dimsOf({8, 16})});
  ValueId p1 = *b.matmul(x, w1), p2 = *b.matmul(x, w2);
  (void)b.output("y", *b.mul(p1, p2));
  Graph g = b.finish();
  auto plan2 = codegen::dumpPlan(g);
  ASSERT_TRUE(plan2.ok()) << plan2.error().message;
  EXPECT_EQ(plan2->find("+ group"), std::string::npos) << *plan2;
  expectSameAsReference(g, {{"x", randomTensor(DType::F32, {1, 8}, 1)},
                            {"w1", randomTensor(DType::F32, {8, 16}, 2)},
                            {"w2", randomTensor(DType::F32, {8, 16}, 3)}});
}

} // namespace
} // namespace bdl::codegentest

namespace bdl::codegentest {
namespace {

// One row and a big W: W's rows are summed in two halves fixed by k alone,
// so 1, 2, 3 or 4 threads (4 also split the columns) give the same bits.
TEST(JitGemv, OneRowGivesTheSameBitsForAnyThreadCount) {
  for (int64_t n : {130, 256, 300}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    Graph g = denseRow(784, n, true);
    interp::Feeds feeds = denseRowFeeds(784, n);
    std::map<std::string, Tensor> first;
    for (int threads : {1, 2, 3, 4}) {
      SCOPED_TRACE("threads=" + std::to_string(threads));
      for (const auto& [name, value] : jitOutputs(g, feeds, threads)) {
        auto [it, inserted] = first.emplace(name, value);
        if (!inserted) {
          EXPECT_EQ(relativeDifference(value, it->second), 0.0) << "output " << name;
        }
      }
    }
    expectSameAsReference(g, feeds, 2e-5, {.threads = 4});
  }
}

} // namespace
} // namespace bdl::codegentest
