// The embedding API as a host program uses it: only include/bdl.
#include "bdl/bdl.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

namespace {

std::string sourceDir() {
  const char* dir = std::getenv("BDL_SOURCE_DIR");
  return dir ? dir : BDL_TEST_SOURCE_DIR;
}

const char* kSmall = R"(
def Dense(x: f32[N, I], units: int, act: fn = relu) -> f32[N, units] {
  param W: f32[I, units] = glorot_uniform()
  param b: f32[units] = zeros()
  return act(x @ W + b)
}
model Small(x: f32[N, 3]) -> f32[N, 2] {
  h = Dense(x, 4, act = tanh)
  return Dense(h, 2, act = identity)
}
)";

bdl::Tensor filled(bdl::Shape shape, float start) {
  bdl::Tensor t(bdl::DType::F32, shape);
  float v = start;
  for (float& x : t.span<float>()) x = (v += 0.1f);
  return t;
}

} // namespace

TEST(Api, CompilesAFileAndListsModelsAndParameters) {
  auto program = bdl::Program::compileFile(sourceDir() + "/examples/fashion_mlp.bdl");
  ASSERT_TRUE(program) << program.error().rendered;
  EXPECT_EQ(program->models(), std::vector<std::string>{"MLP"});
  auto mlp = program->model("MLP");
  ASSERT_TRUE(mlp) << mlp.error().rendered;
  EXPECT_EQ(mlp->parameterCount(), 235146);
  ASSERT_EQ(mlp->parameters().size(), 6u);
  EXPECT_EQ(mlp->parameters()[0].name, "h1.W");
  EXPECT_EQ(mlp->parameters()[0].shape, (bdl::Shape{784, 256}));
  ASSERT_EQ(mlp->inputs().size(), 1u);
  EXPECT_EQ(mlp->inputs()[0].dims, (std::vector<std::string>{"N", "784"}));
}

TEST(Api, ErrorsAreValuesWithLocatedDiagnostics) {
  auto bad = bdl::Program::compileString("bad.bdl", "model M(x: f32[N, 4]) -> f32[N, 4] {\n  return x @ x\n}\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, bdl::Error::Kind::UserInput);
  ASSERT_FALSE(bad.error().diagnostics.empty());
  const bdl::Message& first = bad.error().diagnostics[0];
  EXPECT_EQ(first.file, "bad.bdl");
  EXPECT_EQ(first.line, 2u);
  EXPECT_EQ(first.column, 10u);
  EXPECT_NE(bad.error().rendered.find("bad.bdl:2:10: error: matmul"), std::string::npos) << bad.error().rendered;
  EXPECT_EQ(bad.error().rendered.find("\033["), std::string::npos);

  auto missing = bdl::Program::compileFile("/no/such/file.bdl");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot read '/no/such/file.bdl'"), std::string::npos);

  auto program = bdl::Program::compileString("small.bdl", kSmall);
  ASSERT_TRUE(program) << program.error().rendered;
  auto none = program->model("Nope");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("no model named 'Nope'"), std::string::npos);
}

TEST(Api, ForwardRunsTheEvaluationGraph) {
  auto program = bdl::Program::compileString("small.bdl", kSmall);
  ASSERT_TRUE(program) << program.error().rendered;
  auto model = program->model("Small");
  ASSERT_TRUE(model);
  bdl::TensorMap params = model->initialize(7);
  ASSERT_EQ(params.size(), 4u);
  bdl::Tensor x = filled({5, 3}, 0);
  auto out = model->forward({{"x", x}}, params);
  ASSERT_TRUE(out) << out.error().message;
  const bdl::Tensor& y = out->at("out");
  EXPECT_EQ(y.shape(), (bdl::Shape{5, 2}));
  // By hand: tanh(x @ W1 + b1) @ W2 + b2 for the first row.
  const bdl::Tensor &w1 = params.at("h.W"), &w2 = params.at("out.W");
  float h[4];
  for (int j = 0; j < 4; ++j) {
    float s = 0;
    for (int i = 0; i < 3; ++i) s += x.data<float>()[i] * w1.data<float>()[i * 4 + j];
    h[j] = std::tanh(s);
  }
  for (int k = 0; k < 2; ++k) {
    float s = 0;
    for (int j = 0; j < 4; ++j) s += h[j] * w2.data<float>()[j * 2 + k];
    EXPECT_NEAR(y.data<float>()[k], s, 1e-5);
  }
  auto wrong = model->forward({{"x", filled({5, 4}, 0)}}, params);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("input 'x' must be f32[N, 3], got f32[5, 4]"), std::string::npos)
      << wrong.error().message;
}

TEST(Api, GradientsMatchFiniteDifferences) {
  auto program = bdl::Program::compileString("small.bdl", kSmall);
  ASSERT_TRUE(program);
  auto model = program->model("Small");
  ASSERT_TRUE(model);
  bdl::TensorMap params = model->initialize(3);
  bdl::Tensor x = filled({4, 3}, -0.3f);
  bdl::Tensor labels(bdl::DType::I64, {4});
  for (int i = 0; i < 4; ++i) labels.data<int64_t>()[i] = i % 2;
  auto g = model->gradients({{"x", x}, {"labels", labels}}, params);
  ASSERT_TRUE(g) << g.error().message;
  ASSERT_EQ(g->gradients.size(), 4u);
  // Central differences on a few weights of the first layer.
  for (int k : {0, 5, 11}) {
    bdl::TensorMap plus = params, minus = params;
    plus["h.W"] = params.at("h.W").clone();
    minus["h.W"] = params.at("h.W").clone();
    const float eps = 1e-2f;
    plus["h.W"].data<float>()[k] += eps;
    minus["h.W"].data<float>()[k] -= eps;
    auto lp = model->gradients({{"x", x}, {"labels", labels}}, plus);
    auto lm = model->gradients({{"x", x}, {"labels", labels}}, minus);
    ASSERT_TRUE(lp && lm);
    double fd = (lp->loss - lm->loss) / (2 * eps);
    EXPECT_NEAR(g->gradients.at("h.W").data<float>()[k], fd, 2e-3) << k;
  }
  auto noLabels = model->gradients({{"x", x}}, params);
  ASSERT_FALSE(noLabels);
  EXPECT_NE(noLabels.error().message.find("input 'labels'"), std::string::npos) << noLabels.error().message;
}
