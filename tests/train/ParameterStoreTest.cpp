// runtime/train/ParameterStore: the flat layout of trainable parameters (graph
// order), initial values by seed, states by name, params.npz round trips and
// the errors of restoring a checkpoint written by another model.
#include "compiler/ir/Builder.h"
#include "runtime/train/ParameterStore.h"
#include "runtime/train/TrainError.h"
#include "tests/train/TrainTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

namespace bdl::train {
namespace {

using ir::dimsOf;
using ir::GraphBuilder;
using ir::Initializer;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// loss = sum(x @ W + b) + sum(c) with a state counter; W f32[3, 2], b f32[2],
// c f32[4] (constant 0.25), step i64[] (zeros).
ir::Graph smallGraph() {
  GraphBuilder b;
  ir::ValueId x = *b.input("x", {DType::F32, {ir::Dim::sym("N"), ir::Dim::of(3)}});
  ir::ValueId W = *b.parameter("layer.W", {DType::F32, dimsOf({3, 2})}, Initializer::glorotUniform());
  ir::ValueId bias = *b.parameter("layer.b", {DType::F32, dimsOf({2})}, Initializer::uniform(-1, 1));
  ir::ValueId c = *b.parameter("c", {DType::F32, dimsOf({4})}, Initializer::constant(0.25));
  ir::ValueId step = *b.state("rng:step", {DType::I64, dimsOf({})}, Initializer::zeros());
  ir::ValueId h = *b.add(*b.matmul(x, W), bias);
  EXPECT_TRUE(b.output("h", h));
  EXPECT_TRUE(b.output("c", c));
  EXPECT_TRUE(b.output("step", step));
  return b.finish();
}

using test::messageOf;

Tensor filled(DType dtype, const Shape& shape, double v) {
  Tensor t(dtype, shape);
  if (dtype == DType::F32)
    for (float& x : t.span<float>()) x = static_cast<float>(v);
  else
    for (int64_t& x : t.span<int64_t>()) x = static_cast<int64_t>(v);
  return t;
}

TEST(ParameterStoreTest, FlatLayoutInGraphOrder) {
  ParameterStore s(smallGraph(), 42);
  ASSERT_EQ(s.slots().size(), 3u);
  EXPECT_EQ(s.slots()[0].name, "layer.W");
  EXPECT_EQ(s.slots()[0].offset, 0u);
  EXPECT_EQ(s.slots()[0].count, 6u);
  EXPECT_EQ(s.slots()[0].shape, (Shape{3, 2}));
  EXPECT_EQ(s.slots()[1].name, "layer.b");
  EXPECT_EQ(s.slots()[1].offset, 6u);
  EXPECT_EQ(s.slots()[1].count, 2u);
  EXPECT_EQ(s.slots()[2].name, "c");
  EXPECT_EQ(s.slots()[2].offset, 8u);
  EXPECT_EQ(s.flat().size(), 12u);
  for (size_t i = 8; i < 12; ++i) EXPECT_EQ(s.flat()[i], 0.25f);
  ASSERT_EQ(s.states().size(), 1u);
  EXPECT_EQ(s.states().at("rng:step").dtype(), DType::I64);
  EXPECT_EQ(*s.states().at("rng:step").data<int64_t>(), 0);
}

TEST(ParameterStoreTest, InitialValuesComeFromTheSeed) {
  ParameterStore a(smallGraph(), 7), b(smallGraph(), 7), c(smallGraph(), 8);
  EXPECT_TRUE(std::equal(a.flat().begin(), a.flat().end(), b.flat().begin()));
  EXPECT_FALSE(std::equal(a.flat().begin(), a.flat().begin() + 8, c.flat().begin()));
  // glorot_uniform of a [3, 2] matrix stays within sqrt(6 / (3 + 2)).
  for (size_t i = 0; i < 6; ++i) EXPECT_LE(std::abs(a.flat()[i]), std::sqrt(6.0f / 5.0f) + 1e-6f);
}

// Feeds are views of the flat vector: a step costs no copy of the weights,
// and the next step sees the optimizer's update.
TEST(ParameterStoreTest, FeedsAreViewsOfTheFlatVector) {
  ParameterStore s(smallGraph(), 1);
  s.flat()[7] = 5.5f;
  interp::Feeds feeds;
  s.addFeeds(feeds);
  ASSERT_EQ(feeds.count("layer.W") + feeds.count("layer.b") + feeds.count("c") + feeds.count("rng:step"), 4u);
  EXPECT_EQ(feeds.at("layer.b").shape(), (Shape{2}));
  EXPECT_EQ(feeds.at("layer.b").data<float>()[1], 5.5f);
  EXPECT_EQ(0, std::memcmp(feeds.at("layer.W").data<float>(), s.flat().data(), 6 * sizeof(float)));
  s.flat()[0] = 1234.0f;
  EXPECT_EQ(feeds.at("layer.W").data<float>()[0], 1234.0f);
  // Values handed out for a checkpoint are copies.
  auto named = s.named();
  s.flat()[0] = 0.0f;
  EXPECT_EQ(named.front().second.data<float>()[0], 1234.0f);
}

TEST(ParameterStoreTest, GradientsArePackedInTheSameLayout) {
  ParameterStore s(smallGraph(), 1);
  std::map<std::string, Tensor> outputs;
  outputs["grad:layer.W"] = filled(DType::F32, {3, 2}, 1.0);
  outputs["grad:layer.b"] = filled(DType::F32, {2}, 2.0);
  outputs["grad:c"] = filled(DType::F32, {4}, 3.0);
  std::vector<float> grads(s.flat().size(), -1.0f);
  s.gatherGradients(outputs, grads);
  EXPECT_EQ(grads, (std::vector<float>{1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3}));
  outputs.erase("grad:c");
  EXPECT_THROW(s.gatherGradients(outputs, grads), std::logic_error);
}

TEST(ParameterStoreTest, StateUpdatesReplaceStates) {
  ParameterStore s(smallGraph(), 1);
  s.applyStateUpdates({{"rng:step", filled(DType::I64, {}, 17)}});
  EXPECT_EQ(*s.states().at("rng:step").data<int64_t>(), 17);
}

TEST(ParameterStoreTest, NamedAndRestoreRoundTrip) {
  ParameterStore a(smallGraph(), 3);
  a.flat()[2] = 9.0f;
  a.applyStateUpdates({{"rng:step", filled(DType::I64, {}, 5)}});
  auto named = a.named();
  std::vector<std::string> names;
  for (const auto& [n, _] : named) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"layer.W", "layer.b", "c", "rng:step"}));

  ParameterStore b(smallGraph(), 99);
  b.restore(named);
  EXPECT_TRUE(std::equal(a.flat().begin(), a.flat().end(), b.flat().begin()));
  EXPECT_EQ(*b.states().at("rng:step").data<int64_t>(), 5);
  // named() hands out copies: changing them later leaves the store alone.
  named[3].second.data<int64_t>()[0] = 100;
  EXPECT_EQ(*b.states().at("rng:step").data<int64_t>(), 5);
  EXPECT_EQ(*a.states().at("rng:step").data<int64_t>(), 5);
  // Order in the checkpoint does not matter.
  std::reverse(named.begin(), named.end());
  ParameterStore c(smallGraph(), 4);
  c.restore(named);
  EXPECT_TRUE(std::equal(a.flat().begin(), a.flat().end(), c.flat().begin()));
}

struct RestoreCase {
  const char* name;
  std::function<void(NamedTensors&)> edit;
  const char* message;
};

class RestoreErrorTest : public ::testing::TestWithParam<RestoreCase> {};

TEST_P(RestoreErrorTest, NamesTheEntryAndChangesNothing) {
  ParameterStore s(smallGraph(), 3);
  std::vector<float> before(s.flat().begin(), s.flat().end());
  NamedTensors named = ParameterStore(smallGraph(), 11).named();
  GetParam().edit(named);
  std::string message = messageOf([&] { s.restore(named); });
  EXPECT_NE(message.find(GetParam().message), std::string::npos) << message;
  EXPECT_TRUE(std::equal(before.begin(), before.end(), s.flat().begin())) << "a failed restore changed values";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RestoreErrorTest,
    ::testing::Values(
        RestoreCase{"Missing", [](NamedTensors& n) { n.erase(n.begin() + 1); },
                    "the checkpoint has no value for 'layer.b'"},
        RestoreCase{"MissingState", [](NamedTensors& n) { n.pop_back(); },
                    "the checkpoint has no value for 'rng:step'"},
        RestoreCase{"Unexpected", [](NamedTensors& n) { n.emplace_back("extra.W", filled(DType::F32, {1}, 0)); },
                    "the checkpoint has 'extra.W', which this model does not have"},
        RestoreCase{"WrongShape", [](NamedTensors& n) { n[0].second = filled(DType::F32, {2, 3}, 0); },
                    "the checkpoint's 'layer.W' is f32[2, 3] but the model's is f32[3, 2]"},
        RestoreCase{"WrongDtype", [](NamedTensors& n) { n[3].second = filled(DType::F32, {}, 0); },
                    "the checkpoint's 'rng:step' is f32"}),
    [](const ::testing::TestParamInfo<RestoreCase>& info) { return info.param.name; });

TEST(ParameterStoreTest, TrainableParametersMustBeF32) {
  GraphBuilder b;
  ir::ValueId p = *b.parameter("table", {DType::F64, dimsOf({2})}, Initializer::zeros());
  ASSERT_TRUE(b.output("y", p));
  std::string message = messageOf([&] { ParameterStore s(b.finish(), 0); });
  EXPECT_NE(message.find("parameter 'table' is f64[2]; trainable parameters must be f32"), std::string::npos)
      << message;
}

} // namespace
} // namespace bdl::train
