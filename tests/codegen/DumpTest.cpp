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
  // The row sum closes the group as its root: relu's value is never stored.
  EXPECT_EQ(codegen::dumpFused(denseRelu()),
            "1 fused groups\n"
            "g0: nodes %4 %5 %6\n"
            "group [4, 5] reduced by v2\n"
            "  in0: f32[4, 5]\n"
            "  in1: f32[5]\n"
            "  v0 = add in0 in1 : f32[4, 5]\n"
            "  v1 = relu v0 : f32[4, 5]\n"
            "  v2 = sum axes=[1] v1 : f32[4] -> out\n");
  // Without fusion each element-wise node is a group of its own and the sum a kernel.
  std::string unfused = codegen::dumpFused(denseRelu(), false);
  EXPECT_NE(unfused.find("2 fused groups"), std::string::npos) << unfused;
  EXPECT_EQ(unfused.find("reduced by"), std::string::npos) << unfused;
}

TEST(JitDumps, LlvmAndPlan) {
  auto ir = codegen::dumpLlvm(denseRelu());
  ASSERT_TRUE(ir.ok()) << ir.error().message;
  EXPECT_NE(ir->find("define void @g0(ptr %args, i64 %begin, i64 %end)"), std::string::npos) << *ir;
  EXPECT_NE(ir->find(";   v2 = sum axes=[1] v1 : f32[4] -> out"), std::string::npos) << *ir;
  auto optimized = codegen::dumpLlvm(denseRelu(), true);
  ASSERT_TRUE(optimized.ok()) << optimized.error().message;
  EXPECT_NE(optimized->find("define void @g0"), std::string::npos);
  auto plan = codegen::dumpPlan(denseRelu());
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_NE(plan->find("plan: 2 steps, arena "), std::string::npos) << *plan;
  EXPECT_NE(plan->find("matmul %3 [gemv]"), std::string::npos) << *plan; // 4 rows
  EXPECT_NE(plan->find("group g0 [llvm] %4, %5, %6"), std::string::npos) << *plan;
  EXPECT_EQ(plan->find("sum %6 [kernel]"), std::string::npos) << *plan;
  auto unfused = codegen::dumpPlan(denseRelu(), false);
  ASSERT_TRUE(unfused.ok()) << unfused.error().message;
  EXPECT_NE(unfused->find("sum %6 [kernel]"), std::string::npos) << *unfused;
}

} // namespace
} // namespace bdl::codegentest
