// Every op, forward and backward, on the Jit against the reference
// interpreter: the cases of tests/ir/GradientTest.cpp in f32 (size-1, odd
// and broadcast shapes), each run with fusion on (1 thread) and off (2
// threads); the training graph's loss, output and every gradient compared.
#include "compiler/ir/ops/Common.h"
#include "tests/codegen/TestSupport.h"

#include <gtest/gtest.h>

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;
using P = ParamSpec;
using Ids = std::vector<ValueId>;

TEST(JitOps, UnaryElementwise) {
  const P any{{3, 5}}, pos{{3, 5}, 0.2, 2.0}, kink{{2, 7}, -1, 1};
  checkOp("neg", {any}, [](GraphBuilder& b, const Ids& p) { return b.neg(p[0]); });
  checkOp("exp", {any}, [](GraphBuilder& b, const Ids& p) { return b.exp(p[0]); });
  checkOp("log", {pos}, [](GraphBuilder& b, const Ids& p) { return b.log(p[0]); });
  checkOp("sqrt", {pos}, [](GraphBuilder& b, const Ids& p) { return b.sqrt(p[0]); });
  checkOp("rsqrt", {pos}, [](GraphBuilder& b, const Ids& p) { return b.rsqrt(p[0]); });
  checkOp("abs", {kink}, [](GraphBuilder& b, const Ids& p) { return b.abs(p[0]); });
  checkOp("tanh", {any}, [](GraphBuilder& b, const Ids& p) { return b.tanh(p[0]); });
  checkOp("sigmoid", {any}, [](GraphBuilder& b, const Ids& p) { return b.sigmoid(p[0]); });
  checkOp("relu", {kink}, [](GraphBuilder& b, const Ids& p) { return b.relu(p[0]); });
  checkOp("leaky_relu", {kink},
                 [](GraphBuilder& b, const Ids& p) { return b.leakyRelu(p[0], 0.2); });
  checkOp("elu", {kink}, [](GraphBuilder& b, const Ids& p) { return b.elu(p[0], 0.7); });
  checkOp("gelu", {{{4, 3}, -3, 3}},
                 [](GraphBuilder& b, const Ids& p) { return b.gelu(p[0]); });
  checkOp("softplus", {{{1, 9}, -4, 4}},
                 [](GraphBuilder& b, const Ids& p) { return b.softplus(p[0]); });
}

TEST(JitOps, ValuesUsedManyTimesAccumulate) {
  checkOp("fan-out", {{{2, 3}}, {{3}}}, [](GraphBuilder& b, const Ids& p) {
    ValueId sq = *b.mul(p[0], p[0]);
    ValueId e = *b.exp(*b.mul(p[0], p[1]));
    return b.add(*b.add(sq, e), *b.sum(*b.tanh(p[0]), {0}, true));
  });
}

TEST(JitOps, BinaryElementwiseWithBroadcasting) {
  struct Case {
    Shape a, b;
  };
  const std::vector<Case> shapes = {{{3, 4}, {3, 4}}, {{3, 1, 5}, {4, 5}}, {{2, 3}, {}},
                                    {{1}, {7}},       {{5, 1}, {1, 6}}};
  for (const Case& c : shapes) {
    std::string s = shapeToString(c.a) + "," + shapeToString(c.b);
    checkOp("add" + s, {{c.a}, {c.b}},
                   [](GraphBuilder& b, const Ids& p) { return b.add(p[0], p[1]); });
    checkOp("sub" + s, {{c.a}, {c.b}},
                   [](GraphBuilder& b, const Ids& p) { return b.sub(p[0], p[1]); });
    checkOp("mul" + s, {{c.a}, {c.b}},
                   [](GraphBuilder& b, const Ids& p) { return b.mul(p[0], p[1]); });
    checkOp("div" + s, {{c.a}, {c.b, 0.5, 2.0}},
                   [](GraphBuilder& b, const Ids& p) { return b.div(p[0], p[1]); });
    checkOp("pow" + s, {{c.a, 0.3, 2.0}, {c.b, -1.5, 1.5}},
                   [](GraphBuilder& b, const Ids& p) { return b.pow(p[0], p[1]); });
    checkOp("maximum" + s, {{c.a}, {c.b}},
                   [](GraphBuilder& b, const Ids& p) { return b.maximum(p[0], p[1]); });
    checkOp("minimum" + s, {{c.a}, {c.b}},
                   [](GraphBuilder& b, const Ids& p) { return b.minimum(p[0], p[1]); });
  }
}

TEST(JitOps, WhereAndComparisons) {
  checkOp("where", {{{3, 4}}, {{4}}, {{3, 1}}}, [](GraphBuilder& b, const Ids& p) {
    ValueId c = *b.greater(p[0], p[1]); // no gradient through the condition
    return b.where(c, p[1], p[2]);
  });
  checkOp("cast-roundtrip", {{{2, 3}}}, [](GraphBuilder& b, const Ids& p) {
    return b.mul(p[0], *b.cast(*b.less(p[0], b.scalar(0.0, DType::F32)), DType::F32));
  });
}

TEST(JitOps, Linalg) {
  EXPECT_EQ(0, checkOp("matmul", {{{3, 4}}, {{4, 5}}},
                 [](GraphBuilder& b, const Ids& p) { return b.matmul(p[0], p[1]); }).referenceSteps);
  EXPECT_EQ(0, checkOp("matmul-1x1", {{{1, 1}}, {{1, 3}}},
                 [](GraphBuilder& b, const Ids& p) { return b.matmul(p[0], p[1]); }).referenceSteps);
  EXPECT_EQ(0, checkOp("matmul-batched", {{{2, 3, 4}}, {{4, 5}}},
                 [](GraphBuilder& b, const Ids& p) { return b.matmul(p[0], p[1]); }).referenceSteps);
  EXPECT_EQ(0, checkOp("matmul-batch-broadcast", {{{2, 1, 3, 4}}, {{3, 4, 2}}},
                 [](GraphBuilder& b, const Ids& p) { return b.matmul(p[0], p[1]); }).referenceSteps);
  EXPECT_EQ(0, checkOp("transpose", {{{2, 3, 4}}},
                 [](GraphBuilder& b, const Ids& p) { return b.transpose(p[0], {2, 0, 1}); }).referenceSteps);
  EXPECT_EQ(0, checkOp("transpose-default", {{{2, 5}}},
                 [](GraphBuilder& b, const Ids& p) { return b.transpose(p[0]) ; }).referenceSteps);
}

TEST(JitOps, ShapeOps) {
  EXPECT_EQ(0, checkOp("reshape", {{{2, 6}}}, [](GraphBuilder& b, const Ids& p) {
    return b.reshape(p[0], {Dim::of(3), Dim::of(-1), Dim::of(2)});
  }).referenceSteps);
  EXPECT_EQ(0, checkOp("flatten", {{{2, 3, 4}}},
                 [](GraphBuilder& b, const Ids& p) { return b.flatten(p[0], 1); }).referenceSteps);
  EXPECT_EQ(0, checkOp("concat", {{{2, 3}}, {{2, 1}}, {{2, 2}}}, [](GraphBuilder& b, const Ids& p) {
    return b.concat({p[0], p[1], p[2]}, 1);
  }).referenceSteps);
  EXPECT_EQ(0, checkOp("concat-axis0", {{{1, 3}}, {{2, 3}}},
                 [](GraphBuilder& b, const Ids& p) { return b.concat({p[0], p[1]}, 0); }).referenceSteps);
  EXPECT_EQ(0, checkOp("slice", {{{3, 7}}},
                 [](GraphBuilder& b, const Ids& p) { return b.slice(p[0], 1, 2, 5); }).referenceSteps);
  EXPECT_EQ(0, checkOp("slice-negative", {{{5, 2}}},
                 [](GraphBuilder& b, const Ids& p) { return b.slice(p[0], 0, -3, -1); }).referenceSteps);
  EXPECT_EQ(0, checkOp("broadcast_to", {{{3, 1}}}, [](GraphBuilder& b, const Ids& p) {
    return b.broadcastTo(p[0], dimsOf({2, 3, 4}));
  }).referenceSteps);
  EXPECT_EQ(0, checkOp("pad", {{{2, 3}}},
                 [](GraphBuilder& b, const Ids& p) { return b.pad(p[0], 1, 1, 2) ; }).referenceSteps);
}

TEST(JitOps, Reductions) {
  for (bool keep : {false, true}) {
    std::string k = keep ? "-keepdims" : "";
    checkOp("sum-all" + k, {{{3, 4}}},
                   [keep](GraphBuilder& b, const Ids& p) { return b.sum(p[0], {}, keep); });
    checkOp("sum-axis" + k, {{{3, 4, 5}}},
                   [keep](GraphBuilder& b, const Ids& p) { return b.sum(p[0], {0, 2}, keep); });
    checkOp("mean" + k, {{{3, 5}}},
                   [keep](GraphBuilder& b, const Ids& p) { return b.mean(p[0], {-1}, keep); });
    checkOp("max" + k, {{{4, 5}}},
                   [keep](GraphBuilder& b, const Ids& p) { return b.max(p[0], {1}, keep); });
    checkOp("min" + k, {{{4, 1, 3}}},
                   [keep](GraphBuilder& b, const Ids& p) { return b.min(p[0], {0, 1}, keep); });
  }
  checkOp("softmax", {{{3, 5}, -2, 2}},
                 [](GraphBuilder& b, const Ids& p) { return b.softmax(p[0]); });
  checkOp("softmax-axis0", {{{4, 2, 3}, -2, 2}},
                 [](GraphBuilder& b, const Ids& p) { return b.softmax(p[0], 0); });
  checkOp("log_softmax", {{{3, 5}, -2, 2}},
                 [](GraphBuilder& b, const Ids& p) { return b.logSoftmax(p[0]); });
  checkOp("log_softmax-size1", {{{3, 1}, -2, 2}},
                 [](GraphBuilder& b, const Ids& p) { return b.logSoftmax(p[0], 1); });
}

TEST(JitOps, Convolution) {
  EXPECT_EQ(0, checkOp("conv2d", {{{2, 3, 5, 6}}, {{4, 3, 3, 2}}},
                 [](GraphBuilder& b, const Ids& p) { return b.conv2d(p[0], p[1]); }).referenceSteps);
  EXPECT_EQ(0, checkOp("conv2d-stride-pad-dilation", {{{2, 3, 7, 6}}, {{4, 3, 3, 2}}},
                 [](GraphBuilder& b, const Ids& p) {
                   return b.conv2d(p[0], p[1], {{2, 1}, {1, 1}, {1, 2}, 1});
                 }).referenceSteps);
  EXPECT_EQ(0, checkOp("conv2d-wide-stride-pad", {{{1, 2, 5, 7}}, {{3, 2, 2, 3}}},
                 [](GraphBuilder& b, const Ids& p) {
                   return b.conv2d(p[0], p[1], {{1, 3}, {0, 2}, {2, 1}, 1});
                 }).referenceSteps);
  EXPECT_EQ(0, checkOp("conv2d-groups", {{{1, 4, 5, 5}}, {{6, 2, 3, 3}}},
                 [](GraphBuilder& b, const Ids& p) {
                   return b.conv2d(p[0], p[1], {{1, 1}, {0, 0}, {1, 1}, 2});
                 }).referenceSteps);
  EXPECT_EQ(0, checkOp("conv2d-1x1", {{{1, 1, 1, 1}}, {{1, 1, 1, 1}}},
                 [](GraphBuilder& b, const Ids& p) { return b.conv2d(p[0], p[1]); }).referenceSteps);
}

TEST(JitOps, Pooling) {
  EXPECT_EQ(0, checkOp("max_pool2d", {{{2, 3, 6, 7}}},
                 [](GraphBuilder& b, const Ids& p) { return b.maxPool2d(p[0], {{2, 2}}); }).referenceSteps);
  // 2x2 windows: rows of more than 16 input columns, an odd width (the
  // last column is in no window), LeNet's plane, and ties (relu's zeros:
  // the gradient goes to the first maximum in window order).
  for (const Shape& s : std::vector<Shape>{{2, 3, 8, 37}, {2, 6, 28, 28}, {1, 2, 4, 10}})
    EXPECT_EQ(0, checkOp("max_pool2d-2x2-" + shapeToString(s), {{s}},
                   [](GraphBuilder& b, const Ids& p) { return b.maxPool2d(p[0], {{2, 2}}); }).referenceSteps);
  EXPECT_EQ(0, checkOp("max_pool2d-2x2-ties", {{{2, 3, 6, 20}}}, [](GraphBuilder& b, const Ids& p) {
    return b.maxPool2d(*b.relu(p[0]), {{2, 2}});
  }).referenceSteps);
  EXPECT_EQ(0, checkOp("max_pool2d-overlap-pad", {{{1, 2, 5, 5}}}, [](GraphBuilder& b, const Ids& p) {
    return b.maxPool2d(p[0], {{3, 3}, {2, 2}, {1, 1}});
  }).referenceSteps);
  EXPECT_EQ(0, checkOp("avg_pool2d", {{{2, 3, 6, 7}}},
                 [](GraphBuilder& b, const Ids& p) { return b.avgPool2d(p[0], {{2, 3}}); }).referenceSteps);
  EXPECT_EQ(0, checkOp("avg_pool2d-pad", {{{1, 2, 5, 5}}}, [](GraphBuilder& b, const Ids& p) {
    return b.avgPool2d(p[0], {{3, 3}, {2, 2}, {1, 1}});
  }).referenceSteps);
  EXPECT_EQ(0, checkOp("global_avg_pool", {{{2, 3, 4, 5}}},
                 [](GraphBuilder& b, const Ids& p) { return b.globalAvgPool(p[0]); }).referenceSteps);
}

TEST(JitOps, DropoutAndEmbedding) {
  EXPECT_EQ(std::string::npos, checkOp("dropout", {{{4, 6}}},
                 [](GraphBuilder& b, const Ids& p) { return b.dropout(p[0], 0.3, 7); }).referenceOps.find("dropout"));
  EXPECT_EQ(std::string::npos, checkOp("dropout-keyed", {{{4, 6}}}, [](GraphBuilder& b, const Ids& p) {
    return b.dropout(p[0], 0.5, 7, b.scalar(3, DType::I64));
  }).referenceOps.find("dropout"));
  EXPECT_EQ(std::string::npos, checkOp("embedding", {{{5, 4}}}, [](GraphBuilder& b, const Ids& p) {
    ValueId ids = b.constant(ir::ops::fromDoubles(DType::I64, {2, 3}, {0, 4, 2, 2, 1, 4}));
    return b.embedding(ids, p[0]);
  }).referenceOps.find("embedding"));
}

TEST(JitOps, Losses) {
  auto labels = [](GraphBuilder& b) {
    return b.constant(ir::ops::fromDoubles(DType::I64, {3}, {4, 0, 2}));
  };
  checkOp("cross_entropy", {{{3, 5}, -2, 2}}, [&](GraphBuilder& b, const Ids& p) {
    return b.crossEntropy(p[0], labels(b));
  });
  checkOp("nll", {{{3, 5}, -2, 2}}, [&](GraphBuilder& b, const Ids& p) {
    return b.nll(*b.logSoftmax(p[0]), labels(b));
  });
  checkOp("mse", {{{3, 2}}, {{3, 2}}},
                 [](GraphBuilder& b, const Ids& p) { return b.mse(p[0], p[1]); });
  checkOp("bce_with_logits", {{{2, 3}, -3, 3}, {{2, 3}, 0, 1}},
                 [](GraphBuilder& b, const Ids& p) { return b.bceWithLogits(p[0], p[1]); });
}

} // namespace
} // namespace bdl::codegentest

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;
using Ids = std::vector<ValueId>;

// The ops of the example models' training graphs run on oneDNN, LLVM or the
// f32 kernels, never on the reference fallback.
TEST(JitOps, TrainingOpsTakeFastPaths) {
  auto dense = checkOp("dense-relu-softmax", {{{5, 7}}, {{7, 3}}, {{3}}}, [](GraphBuilder& b, const Ids& p) {
    ValueId h = *b.relu(*b.add(*b.matmul(p[0], p[1]), p[2]));
    return b.logSoftmax(h);
  });
  EXPECT_EQ(dense.referenceSteps, 0);
  EXPECT_GT(dense.fusedGroups, 0);
  auto conv = checkOp("conv-pool", {{{2, 3, 8, 8}}, {{4, 3, 3, 3}}}, [](GraphBuilder& b, const Ids& p) {
    ValueId c = *b.relu(*b.conv2d(p[0], p[1], {{1, 1}, {1, 1}, {1, 1}, 1}));
    return b.mean(*b.maxPool2d(c, {{2, 2}}), {1, 2, 3});
  });
  EXPECT_EQ(conv.referenceSteps, 0);
  auto ce = checkOp("cross-entropy", {{{6, 5}, -2, 2}}, [](GraphBuilder& b, const Ids& p) {
    ValueId labels = b.constant(ir::ops::fromDoubles(DType::I64, {6}, {4, 0, 2, 1, 1, 3}));
    return b.crossEntropy(p[0], labels);
  });
  EXPECT_EQ(ce.referenceSteps, 0);
}

} // namespace
} // namespace bdl::codegentest

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;

// f64 and integer graphs have no fast path yet: every node runs on the
// reference kernel inside the plan, and the results must still be exact.
TEST(JitOps, GraphsOutsideF32RunOnTheReferenceKernels) {
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F64, dimsOf({3, 4})});
  ValueId w = *b.parameter("w", {DType::F64, dimsOf({4, 2})}, Initializer::uniform(-1, 1));
  ValueId i = *b.input("i", {DType::I64, dimsOf({3})});
  ValueId y = *b.tanh(*b.matmul(x, w));
  ValueId k = *b.mul(*b.add(i, b.scalar(2, DType::I64)), i);
  ASSERT_TRUE(b.output("y", y).ok());
  ASSERT_TRUE(b.output("k", k).ok());
  ASSERT_TRUE(b.output("kf", *b.sum(*b.cast(k, DType::F32))).ok());
  Graph g = b.finish();
  auto stats = expectSameAsReference(g, randomFeeds(g, 4, 100), 1e-12);
  EXPECT_GE(stats.referenceSteps, 4);
}

} // namespace
} // namespace bdl::codegentest
