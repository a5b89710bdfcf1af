// Every differentiable op, forward and backward: the gradient autodiff
// builds is compared with central finite differences in f64, on small
// random shapes including size-1 and odd sizes and broadcasting cases.
#include "compiler/passes/Autodiff.h"
#include "tests/ir/TestUtil.h"

#include <gtest/gtest.h>

namespace bdl::irtest {
namespace {

using namespace bdl::ir;
using P = ParamSpec;
using Ids = std::vector<ValueId>;

TEST(Gradient, UnaryElementwise) {
  const P any{{3, 5}}, pos{{3, 5}, 0.2, 2.0}, kink{{2, 7}, -1, 1, true};
  checkGradients("neg", {any}, [](GraphBuilder& b, const Ids& p) { return b.neg(p[0]); });
  checkGradients("exp", {any}, [](GraphBuilder& b, const Ids& p) { return b.exp(p[0]); });
  checkGradients("log", {pos}, [](GraphBuilder& b, const Ids& p) { return b.log(p[0]); });
  checkGradients("sqrt", {pos}, [](GraphBuilder& b, const Ids& p) { return b.sqrt(p[0]); });
  checkGradients("rsqrt", {pos}, [](GraphBuilder& b, const Ids& p) { return b.rsqrt(p[0]); });
  checkGradients("abs", {kink}, [](GraphBuilder& b, const Ids& p) { return b.abs(p[0]); });
  checkGradients("tanh", {any}, [](GraphBuilder& b, const Ids& p) { return b.tanh(p[0]); });
  checkGradients("sigmoid", {any}, [](GraphBuilder& b, const Ids& p) { return b.sigmoid(p[0]); });
  checkGradients("relu", {kink}, [](GraphBuilder& b, const Ids& p) { return b.relu(p[0]); });
  checkGradients("leaky_relu", {kink},
                 [](GraphBuilder& b, const Ids& p) { return b.leakyRelu(p[0], 0.2); });
  checkGradients("elu", {kink}, [](GraphBuilder& b, const Ids& p) { return b.elu(p[0], 0.7); });
  checkGradients("gelu", {{{4, 3}, -3, 3}},
                 [](GraphBuilder& b, const Ids& p) { return b.gelu(p[0]); });
  checkGradients("softplus", {{{1, 9}, -4, 4}},
                 [](GraphBuilder& b, const Ids& p) { return b.softplus(p[0]); });
}

TEST(Gradient, ValuesUsedManyTimesAccumulate) {
  checkGradients("fan-out", {{{2, 3}}, {{3}}}, [](GraphBuilder& b, const Ids& p) {
    ValueId sq = *b.mul(p[0], p[0]);
    ValueId e = *b.exp(*b.mul(p[0], p[1]));
    return b.add(*b.add(sq, e), *b.sum(*b.tanh(p[0]), {0}, true));
  });
}

TEST(Gradient, BinaryElementwiseWithBroadcasting) {
  struct Case {
    Shape a, b;
  };
  const std::vector<Case> shapes = {{{3, 4}, {3, 4}}, {{3, 1, 5}, {4, 5}}, {{2, 3}, {}},
                                    {{1}, {7}},       {{5, 1}, {1, 6}}};
  for (const Case& c : shapes) {
    std::string s = shapeToString(c.a) + "," + shapeToString(c.b);
    checkGradients("add" + s, {{c.a}, {c.b}},
                   [](GraphBuilder& b, const Ids& p) { return b.add(p[0], p[1]); });
    checkGradients("sub" + s, {{c.a}, {c.b}},
                   [](GraphBuilder& b, const Ids& p) { return b.sub(p[0], p[1]); });
    checkGradients("mul" + s, {{c.a}, {c.b}},
                   [](GraphBuilder& b, const Ids& p) { return b.mul(p[0], p[1]); });
    checkGradients("div" + s, {{c.a}, {c.b, 0.5, 2.0}},
                   [](GraphBuilder& b, const Ids& p) { return b.div(p[0], p[1]); });
    checkGradients("pow" + s, {{c.a, 0.3, 2.0}, {c.b, -1.5, 1.5}},
                   [](GraphBuilder& b, const Ids& p) { return b.pow(p[0], p[1]); });
    checkGradients("maximum" + s, {{c.a}, {c.b}},
                   [](GraphBuilder& b, const Ids& p) { return b.maximum(p[0], p[1]); });
    checkGradients("minimum" + s, {{c.a}, {c.b}},
                   [](GraphBuilder& b, const Ids& p) { return b.minimum(p[0], p[1]); });
  }
}

TEST(Gradient, WhereAndComparisons) {
  checkGradients("where", {{{3, 4}}, {{4}}, {{3, 1}}}, [](GraphBuilder& b, const Ids& p) {
    ValueId c = *b.greater(p[0], p[1]); // no gradient through the condition
    return b.where(c, p[1], p[2]);
  });
  checkGradients("cast-roundtrip", {{{2, 3}}}, [](GraphBuilder& b, const Ids& p) {
    return b.mul(p[0], *b.cast(*b.less(p[0], b.scalar(0.0, DType::F64)), DType::F64));
  });
}

// Casts between float types pass the gradient through, rounded to the
// narrower type (finite differences through f32 rounding would be noise).
TEST(Gradient, CastBetweenFloatTypes) {
  GraphBuilder b;
  ValueId p = *b.parameter("p", {DType::F64, dimsOf({3})}, Initializer::zeros());
  Tensor r = makeTensor(DType::F64, {3}, {0.1, -2.5, 1.0 / 3.0});
  ValueId y = *b.cast(*b.cast(p, DType::F32), DType::F64);
  ASSERT_TRUE(b.output("loss", *b.sum(*b.mul(y, b.constant(r)))).ok());
  auto t = passes::buildTrainingGraph(b.finish());
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto out = interp::run(*t, {{"p", makeTensor(DType::F64, {3}, {1, 2, 3})}});
  ASSERT_TRUE(out.ok());
  std::vector<double> g = values(out->outputs.at("grad:p"));
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(g[i], values(r)[i], 1e-7);
}

TEST(Gradient, Linalg) {
  checkGradients("matmul", {{{3, 4}}, {{4, 5}}},
                 [](GraphBuilder& b, const Ids& p) { return b.matmul(p[0], p[1]); });
  checkGradients("matmul-1x1", {{{1, 1}}, {{1, 3}}},
                 [](GraphBuilder& b, const Ids& p) { return b.matmul(p[0], p[1]); });
  checkGradients("matmul-batched", {{{2, 3, 4}}, {{4, 5}}},
                 [](GraphBuilder& b, const Ids& p) { return b.matmul(p[0], p[1]); });
  checkGradients("matmul-batch-broadcast", {{{2, 1, 3, 4}}, {{3, 4, 2}}},
                 [](GraphBuilder& b, const Ids& p) { return b.matmul(p[0], p[1]); });
  checkGradients("transpose", {{{2, 3, 4}}},
                 [](GraphBuilder& b, const Ids& p) { return b.transpose(p[0], {2, 0, 1}); });
  checkGradients("transpose-default", {{{2, 5}}},
                 [](GraphBuilder& b, const Ids& p) { return b.transpose(p[0]); });
}

TEST(Gradient, ShapeOps) {
  checkGradients("reshape", {{{2, 6}}}, [](GraphBuilder& b, const Ids& p) {
    return b.reshape(p[0], {Dim::of(3), Dim::of(-1), Dim::of(2)});
  });
  checkGradients("flatten", {{{2, 3, 4}}},
                 [](GraphBuilder& b, const Ids& p) { return b.flatten(p[0], 1); });
  checkGradients("concat", {{{2, 3}}, {{2, 1}}, {{2, 2}}}, [](GraphBuilder& b, const Ids& p) {
    return b.concat({p[0], p[1], p[2]}, 1);
  });
  checkGradients("concat-axis0", {{{1, 3}}, {{2, 3}}},
                 [](GraphBuilder& b, const Ids& p) { return b.concat({p[0], p[1]}, 0); });
  checkGradients("slice", {{{3, 7}}},
                 [](GraphBuilder& b, const Ids& p) { return b.slice(p[0], 1, 2, 5); });
  checkGradients("slice-negative", {{{5, 2}}},
                 [](GraphBuilder& b, const Ids& p) { return b.slice(p[0], 0, -3, -1); });
  checkGradients("broadcast_to", {{{3, 1}}}, [](GraphBuilder& b, const Ids& p) {
    return b.broadcastTo(p[0], dimsOf({2, 3, 4}));
  });
  checkGradients("pad", {{{2, 3}}},
                 [](GraphBuilder& b, const Ids& p) { return b.pad(p[0], 1, 1, 2); });
}

TEST(Gradient, Reductions) {
  for (bool keep : {false, true}) {
    std::string k = keep ? "-keepdims" : "";
    checkGradients("sum-all" + k, {{{3, 4}}},
                   [keep](GraphBuilder& b, const Ids& p) { return b.sum(p[0], {}, keep); });
    checkGradients("sum-axis" + k, {{{3, 4, 5}}},
                   [keep](GraphBuilder& b, const Ids& p) { return b.sum(p[0], {0, 2}, keep); });
    checkGradients("mean" + k, {{{3, 5}}},
                   [keep](GraphBuilder& b, const Ids& p) { return b.mean(p[0], {-1}, keep); });
    checkGradients("max" + k, {{{4, 5}}},
                   [keep](GraphBuilder& b, const Ids& p) { return b.max(p[0], {1}, keep); });
    checkGradients("min" + k, {{{4, 1, 3}}},
                   [keep](GraphBuilder& b, const Ids& p) { return b.min(p[0], {0, 1}, keep); });
  }
  checkGradients("softmax", {{{3, 5}, -2, 2}},
                 [](GraphBuilder& b, const Ids& p) { return b.softmax(p[0]); });
  checkGradients("softmax-axis0", {{{4, 2, 3}, -2, 2}},
                 [](GraphBuilder& b, const Ids& p) { return b.softmax(p[0], 0); });
  checkGradients("log_softmax", {{{3, 5}, -2, 2}},
                 [](GraphBuilder& b, const Ids& p) { return b.logSoftmax(p[0]); });
  checkGradients("log_softmax-size1", {{{3, 1}, -2, 2}},
                 [](GraphBuilder& b, const Ids& p) { return b.logSoftmax(p[0], 1); });
}

TEST(Gradient, Convolution) {
  checkGradients("conv2d", {{{2, 3, 5, 6}}, {{4, 3, 3, 2}}},
                 [](GraphBuilder& b, const Ids& p) { return b.conv2d(p[0], p[1]); });
  checkGradients("conv2d-stride-pad-dilation", {{{2, 3, 7, 6}}, {{4, 3, 3, 2}}},
                 [](GraphBuilder& b, const Ids& p) {
                   return b.conv2d(p[0], p[1], {{2, 1}, {1, 1}, {1, 2}, 1});
                 });
  checkGradients("conv2d-wide-stride-pad", {{{1, 2, 5, 7}}, {{3, 2, 2, 3}}},
                 [](GraphBuilder& b, const Ids& p) {
                   return b.conv2d(p[0], p[1], {{1, 3}, {0, 2}, {2, 1}, 1});
                 });
  checkGradients("conv2d-groups", {{{1, 4, 5, 5}}, {{6, 2, 3, 3}}},
                 [](GraphBuilder& b, const Ids& p) {
                   return b.conv2d(p[0], p[1], {{1, 1}, {0, 0}, {1, 1}, 2});
                 });
  checkGradients("conv2d-1x1", {{{1, 1, 1, 1}}, {{1, 1, 1, 1}}},
                 [](GraphBuilder& b, const Ids& p) { return b.conv2d(p[0], p[1]); });
}

TEST(Gradient, Pooling) {
  checkGradients("max_pool2d", {{{2, 3, 6, 7}}},
                 [](GraphBuilder& b, const Ids& p) { return b.maxPool2d(p[0], {{2, 2}}); });
  checkGradients("max_pool2d-overlap-pad", {{{1, 2, 5, 5}}}, [](GraphBuilder& b, const Ids& p) {
    return b.maxPool2d(p[0], {{3, 3}, {2, 2}, {1, 1}});
  });
  checkGradients("avg_pool2d", {{{2, 3, 6, 7}}},
                 [](GraphBuilder& b, const Ids& p) { return b.avgPool2d(p[0], {{2, 3}}); });
  checkGradients("avg_pool2d-pad", {{{1, 2, 5, 5}}}, [](GraphBuilder& b, const Ids& p) {
    return b.avgPool2d(p[0], {{3, 3}, {2, 2}, {1, 1}});
  });
  checkGradients("global_avg_pool", {{{2, 3, 4, 5}}},
                 [](GraphBuilder& b, const Ids& p) { return b.globalAvgPool(p[0]); });
}

TEST(Gradient, DropoutAndEmbedding) {
  checkGradients("dropout", {{{4, 6}}},
                 [](GraphBuilder& b, const Ids& p) { return b.dropout(p[0], 0.3, 7); });
  checkGradients("dropout-keyed", {{{4, 6}}}, [](GraphBuilder& b, const Ids& p) {
    return b.dropout(p[0], 0.5, 7, b.scalar(3, DType::I64));
  });
  checkGradients("embedding", {{{5, 4}}}, [](GraphBuilder& b, const Ids& p) {
    ValueId ids = b.constant(makeTensor(DType::I64, {2, 3}, {0, 4, 2, 2, 1, 4}));
    return b.embedding(ids, p[0]);
  });
}

TEST(Gradient, Losses) {
  auto labels = [](GraphBuilder& b) {
    return b.constant(makeTensor(DType::I64, {3}, {4, 0, 2}));
  };
  checkGradients("cross_entropy", {{{3, 5}, -2, 2}}, [&](GraphBuilder& b, const Ids& p) {
    return b.crossEntropy(p[0], labels(b));
  });
  checkGradients("nll", {{{3, 5}, -2, 2}}, [&](GraphBuilder& b, const Ids& p) {
    return b.nll(*b.logSoftmax(p[0]), labels(b));
  });
  checkGradients("mse", {{{3, 2}}, {{3, 2}}},
                 [](GraphBuilder& b, const Ids& p) { return b.mse(p[0], p[1]); });
  checkGradients("bce_with_logits", {{{2, 3}, -3, 3}, {{2, 3}, 0, 1}},
                 [](GraphBuilder& b, const Ids& p) { return b.bceWithLogits(p[0], p[1]); });
}

} // namespace
} // namespace bdl::irtest
