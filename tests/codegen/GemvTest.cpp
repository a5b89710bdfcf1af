// The batch-1 product kernel (GemvKernel.cpp) against the reference
// interpreter: every row count it takes (1 to 4), column counts that fill
// whole 128-column tiles, single 16-column vectors, a scalar tail, or none of
// them, and W large enough to be split over two threads at odd boundaries.
#include "tests/codegen/TestSupport.h"

#include <gtest/gtest.h>

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
