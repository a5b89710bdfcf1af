// The interpreter's contract (feeds checked, errors as values, integer and
// bool ops, empty tensors, dropout's mask) and parameter initialisation
// (values depend only on seed, name and shape).
#include "compiler/interp/Interpreter.h"
#include "compiler/ir/Initializers.h"
#include "tests/ir/TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>

namespace bdl::irtest {
namespace {

using namespace bdl::ir;

TensorType ty(DType d, const Shape& s) { return {d, dimsOf(s)}; }

TEST(Interpreter, ChecksFeeds) {
  GraphBuilder b;
  ValueId x = *b.input("x", ty(DType::F32, {2, 3}));
  ASSERT_TRUE(b.output("y", *b.exp(x)).ok());
  Graph g = b.finish();
  auto missing = interp::run(g, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("'x'"), std::string::npos);
  auto wrong = interp::run(g, {{"x", Tensor(DType::F32, {3, 2})}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("f32[3, 2]"), std::string::npos) << wrong.error().message;
  EXPECT_FALSE(interp::run(g, {{"x", Tensor(DType::F64, {2, 3})}}).ok());
  EXPECT_TRUE(interp::run(g, {{"x", Tensor(DType::F32, {2, 3})}}).ok());
}

TEST(Interpreter, RefusesSymbolicGraphsAndReportsBadLabels) {
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F32, {Dim::sym("N"), Dim::of(3)}});
  ASSERT_TRUE(b.output("y", *b.relu(x)).ok());
  EXPECT_FALSE(interp::run(b.finish(), {{"x", Tensor(DType::F32, {2, 3})}}).ok());

  GraphBuilder c;
  ValueId logits = *c.input("logits", ty(DType::F32, {2, 3}));
  ValueId labels = *c.input("labels", ty(DType::I64, {2}));
  ASSERT_TRUE(c.output("loss", *c.crossEntropy(logits, labels)).ok());
  auto r = interp::run(c.finish(), {{"logits", Tensor(DType::F32, {2, 3})},
                                    {"labels", makeTensor(DType::I64, {2}, {1, 3})}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("label 3 of row 1"), std::string::npos) << r.error().message;
}

TEST(Interpreter, IntegerBoolAndEmptyTensors) {
  GraphBuilder b;
  ValueId i = *b.input("i", ty(DType::I64, {4}));
  ValueId j = *b.input("j", ty(DType::I32, {4}));
  ValueId e = *b.input("e", ty(DType::F32, {0, 3}));
  ValueId jj = *b.cast(j, DType::I64);
  ValueId sum = *b.add(i, jj);
  ValueId lt = *b.less(i, jj);
  ValueId pick = *b.where(lt, i, jj);
  ValueId oh = *b.oneHot(i, 5, DType::I32);
  ASSERT_TRUE(b.output("sum", sum).ok());
  ASSERT_TRUE(b.output("lt", lt).ok());
  ASSERT_TRUE(b.output("pick", pick).ok());
  ASSERT_TRUE(b.output("oh", *b.sum(oh, {0})).ok());
  ASSERT_TRUE(b.output("esum", *b.sum(e, {0})).ok());
  ASSERT_TRUE(b.output("emm", *b.matmul(e, *b.input("w", ty(DType::F32, {3, 2})))).ok());
  ASSERT_TRUE(b.output("esoft", *b.softmax(e)).ok());
  auto r = interp::run(b.finish(), {{"i", makeTensor(DType::I64, {4}, {1, 5, -2, 4})},
                                    {"j", makeTensor(DType::I32, {4}, {2, 3, -2, 0})},
                                    {"e", Tensor(DType::F32, {0, 3})},
                                    {"w", Tensor(DType::F32, {3, 2})}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(values(r->outputs.at("sum")), (std::vector<double>{3, 8, -4, 4}));
  EXPECT_EQ(r->outputs.at("lt").dtype(), DType::Bool);
  EXPECT_EQ(values(r->outputs.at("lt")), (std::vector<double>{1, 0, 0, 0}));
  EXPECT_EQ(values(r->outputs.at("pick")), (std::vector<double>{1, 3, -2, 0}));
  EXPECT_EQ(values(r->outputs.at("oh")), (std::vector<double>{0, 1, 0, 0, 1}));
  EXPECT_EQ(values(r->outputs.at("esum")), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(r->outputs.at("emm").shape(), (Shape{0, 2}));
  EXPECT_EQ(r->outputs.at("esoft").numel(), 0);
}

TEST(Interpreter, DropoutMaskIsSeededScaledAndKeyed) {
  auto run = [](double p, uint64_t seed, int64_t key) {
    GraphBuilder b;
    ValueId x = *b.input("x", ty(DType::F64, {4000}));
    ValueId k = b.scalar(static_cast<double>(key), DType::I64);
    EXPECT_TRUE(b.output("y", *b.dropout(x, p, seed, k)).ok());
    Tensor ones = makeTensor(DType::F64, {4000}, std::vector<double>(4000, 1.0));
    return values(interp::run(b.finish(), {{"x", ones}})->outputs.at("y"));
  };
  std::vector<double> y = run(0.25, 5, 0);
  int zeros = 0;
  for (double v : y) {
    if (v == 0) ++zeros;
    else EXPECT_DOUBLE_EQ(v, 1.0 / 0.75);
  }
  EXPECT_NEAR(zeros / 4000.0, 0.25, 0.03);
  EXPECT_EQ(run(0.25, 5, 0), y);  // deterministic
  EXPECT_NE(run(0.25, 5, 1), y);  // another step's key: another mask
  EXPECT_NE(run(0.25, 6, 0), y);  // another seed: another mask
  EXPECT_EQ(run(0.0, 5, 0), std::vector<double>(4000, 1.0));
}

TEST(Interpreter, KeylessDropoutDrawsANewMaskEachStep) {
  GraphBuilder b;
  ValueId x = *b.input("x", ty(DType::F64, {64}));
  ASSERT_TRUE(b.output("y", *b.dropout(x, 0.5, 3)).ok());
  ASSERT_TRUE(b.output("z", *b.dropout(x, 0.5, 3)).ok()); // shares the step counter
  Graph g = b.finish();
  EXPECT_EQ(g.leaves(OpKind::State).size(), 1u);
  interp::Feeds feeds = interp::initialParameters(g, 0);
  feeds["x"] = makeTensor(DType::F64, {64}, std::vector<double>(64, 1.0));
  auto step0 = interp::run(g, feeds);
  ASSERT_TRUE(step0.ok()) << step0.error().message;
  EXPECT_EQ(values(step0->outputs.at("y")), values(step0->outputs.at("z")));
  feeds[GraphBuilder::kStepCounterName] = step0->stateUpdates.at(GraphBuilder::kStepCounterName);
  EXPECT_EQ(values(feeds[GraphBuilder::kStepCounterName]), std::vector<double>{1});
  auto step1 = interp::run(g, feeds);
  ASSERT_TRUE(step1.ok());
  EXPECT_NE(values(step1->outputs.at("y")), values(step0->outputs.at("y")));
}

TEST(Initializers, DependOnlyOnSeedNameAndShape) {
  const Shape shape{64, 32};
  Tensor a = initialValue(Initializer::glorotUniform(), DType::F32, shape, 42, "h1.W");
  Tensor b = initialValue(Initializer::glorotUniform(), DType::F32, shape, 42, "h1.W");
  EXPECT_EQ(values(a), values(b));
  EXPECT_NE(values(initialValue(Initializer::glorotUniform(), DType::F32, shape, 42, "h2.W")),
            values(a));
  EXPECT_NE(values(initialValue(Initializer::glorotUniform(), DType::F32, shape, 43, "h1.W")),
            values(a));
  EXPECT_NE(values(initialValue(Initializer::glorotUniform(), DType::F32, {32, 64}, 42, "h1.W")),
            values(a));
}

TEST(Initializers, AddingALayerLeavesTheOthersUnchanged) {
  auto mlp = [](bool extraLayer) {
    GraphBuilder b;
    ValueId x = *b.input("x", ty(DType::F32, {2, 8}));
    auto dense = [&](ValueId in, const std::string& name, int64_t i, int64_t o) {
      ValueId w = *b.parameter(name + ".W", ty(DType::F32, {i, o}), Initializer::heNormal());
      ValueId bias = *b.parameter(name + ".b", ty(DType::F32, {o}), Initializer::zeros());
      return *b.relu(*b.add(*b.matmul(in, w), bias));
    };
    ValueId h = dense(x, "h1", 8, 16);
    if (extraLayer) h = dense(h, "extra", 16, 16);
    EXPECT_TRUE(b.output("y", dense(h, "out", 16, 4)).ok());
    return interp::initialParameters(b.finish(), 7);
  };
  interp::Feeds small = mlp(false), big = mlp(true);
  EXPECT_EQ(big.size(), small.size() + 2);
  for (const auto& [name, value] : small) EXPECT_EQ(values(big.at(name)), values(value)) << name;
}

double meanOf(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}
double stdOf(const std::vector<double>& v) {
  double m = meanOf(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}

TEST(Initializers, DistributionsAndFans) {
  EXPECT_EQ(fansOf({784, 256}).in, 784);
  EXPECT_EQ(fansOf({784, 256}).out, 256);
  EXPECT_EQ(fansOf({16, 6, 5, 5}).in, 150);
  EXPECT_EQ(fansOf({16, 6, 5, 5}).out, 400);
  EXPECT_EQ(fansOf({10}).in, 10);

  auto draw = [](Initializer init, const Shape& shape) {
    return values(initialValue(init, DType::F64, shape, 1, "p"));
  };
  std::vector<double> gu = draw(Initializer::glorotUniform(), {300, 200});
  double bound = std::sqrt(6.0 / 500);
  for (double v : gu) ASSERT_LE(std::fabs(v), bound);
  EXPECT_NEAR(stdOf(gu), bound / std::sqrt(3.0), 0.01 * bound);
  EXPECT_NEAR(stdOf(draw(Initializer::glorotNormal(), {300, 200})), std::sqrt(2.0 / 500), 2e-3);
  std::vector<double> hu = draw(Initializer::heUniform(), {64, 6, 5, 5});
  for (double v : hu) ASSERT_LE(std::fabs(v), std::sqrt(6.0 / 150));
  EXPECT_NEAR(stdOf(draw(Initializer::heNormal(), {64, 6, 5, 5})), std::sqrt(2.0 / 150), 3e-3);
  std::vector<double> n = draw(Initializer::normal(3, 0.5), {100, 100});
  EXPECT_NEAR(meanOf(n), 3, 0.02);
  EXPECT_NEAR(stdOf(n), 0.5, 0.02);
  std::vector<double> u = draw(Initializer::uniform(-2, 1), {100, 100});
  for (double v : u) ASSERT_TRUE(v >= -2 && v < 1);
  EXPECT_NEAR(meanOf(u), -0.5, 0.05);
  EXPECT_EQ(draw(Initializer::zeros(), {3}), std::vector<double>(3, 0.0));
  EXPECT_EQ(draw(Initializer::ones(), {3}), std::vector<double>(3, 1.0));
  EXPECT_EQ(draw(Initializer::constant(0.25), {2}), std::vector<double>(2, 0.25));
  EXPECT_TRUE(draw(Initializer::glorotUniform(), {0, 5}).empty());
}

} // namespace
} // namespace bdl::irtest
