// The texts behind `bdlc dump --stage=fused|llvm|plan`: stable group text
// with values renumbered, LLVM IR that names each group's function, and a
// plan that states its steps and peak.
#include "tests/codegen/TestSupport.h"

#include <gtest/gtest.h>

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;

Graph denseRelu() {
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F32, dimsOf({4, 3})});
  ValueId w = *b.parameter("w", {DType::F32, dimsOf({3, 5})}, Initializer::zeros());
  ValueId bias = *b.parameter("b", {DType::F32, dimsOf({5})}, Initializer::zeros());
  ValueId h = *b.relu(*b.add(*b.matmul(x, w), bias));
  EXPECT_TRUE(b.output("y", *b.sum(h, {1})).ok());
  return b.finish();
}

TEST(JitDumps, FusedGroupsPrintStably) {
  EXPECT_EQ(codegen::dumpFused(denseRelu()),
            "1 fused groups\n"
            "g0: nodes %4 %5\n"
            "group [4, 5]\n"
            "  in0: f32[4, 5]\n"
            "  in1: f32[5]\n"
            "  v0 = add in0 in1 : f32[4, 5]\n"
            "  v1 = relu v0 : f32[4, 5] -> out\n");
  // Without fusion each element-wise node is a group of its own.
  EXPECT_NE(codegen::dumpFused(denseRelu(), false).find("2 fused groups"), std::string::npos);
}

TEST(JitDumps, LlvmAndPlan) {
  auto ir = codegen::dumpLlvm(denseRelu());
  ASSERT_TRUE(ir.ok()) << ir.error().message;
  EXPECT_NE(ir->find("define void @g0(ptr %args, i64 %begin, i64 %end)"), std::string::npos) << *ir;
  EXPECT_NE(ir->find(";   v1 = relu v0 : f32[4, 5] -> out"), std::string::npos) << *ir;
  auto optimized = codegen::dumpLlvm(denseRelu(), true);
  ASSERT_TRUE(optimized.ok()) << optimized.error().message;
  EXPECT_NE(optimized->find("define void @g0"), std::string::npos);
  auto plan = codegen::dumpPlan(denseRelu());
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_NE(plan->find("plan: 3 steps, arena "), std::string::npos) << *plan;
  EXPECT_NE(plan->find("matmul %3 [gemv]"), std::string::npos) << *plan; // 4 rows
  EXPECT_NE(plan->find("group g0 [llvm] %4, %5"), std::string::npos) << *plan;
  EXPECT_NE(plan->find("sum %6 [kernel]"), std::string::npos) << *plan;
}

} // namespace
} // namespace bdl::codegentest
