#include "tests/sema/SemaSupport.h"

#include "compiler/ir/Initializers.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

using namespace bdl;
using bdl::test::elaborateFile;
using bdl::test::elaborateText;

namespace {

std::map<std::string, std::string> parameters(const ir::Graph& g) {
  std::map<std::string, std::string> out;
  for (ir::ValueId id : g.leaves(ir::OpKind::Parameter)) out[g.node(id).name] = g.node(id).type.toString();
  return out;
}

int64_t parameterCount(const ir::Graph& g) {
  int64_t n = 0;
  for (ir::ValueId id : g.leaves(ir::OpKind::Parameter)) n += numElements(*g.node(id).type.shape());
  return n;
}

const char* kDense = R"(
def Dense(x: f32[N, I], units: int, act: fn = relu) -> f32[N, units] {
  param W: f32[I, units] = glorot_uniform()
  param b: f32[units] = zeros()
  return act(x @ W + b)
}
)";

} // namespace

TEST(Elaborate, LanguageMlpHasTheNamedParametersAndTotal) {
  auto e = elaborateFile(test::sourceDir() / "examples/fashion_mlp.bdl", "MLP");
  ASSERT_TRUE(e->graph) << e->errors();
  std::map<std::string, std::string> expected = {
      {"h1.W", "f32[784, 256]"}, {"h1.b", "f32[256]"}, {"h2.W", "f32[256, 128]"},
      {"h2.b", "f32[128]"},      {"out.W", "f32[128, 10]"}, {"out.b", "f32[10]"}};
  EXPECT_EQ(parameters(*e->graph), expected);
  EXPECT_EQ(parameterCount(*e->graph), 235146);
  ASSERT_EQ(e->graph->outputs.size(), 1u);
  EXPECT_EQ(e->graph->type(e->graph->outputs[0].value).toString(), "f32[N, 10]");
}

TEST(Elaborate, LeNetThroughTheStandardLibrary) {
  auto e = elaborateFile(test::sourceDir() / "examples/fashion_lenet.bdl", "LeNet5");
  ASSERT_TRUE(e->graph) << e->errors();
  EXPECT_EQ(parameterCount(*e->graph), 61706);
  EXPECT_EQ(parameters(*e->graph).at("c2.w"), "f32[16, 6, 5, 5]");
  EXPECT_EQ(parameters(*e->graph).at("f1.W"), "f32[400, 120]");
}

TEST(Elaborate, LoopsIndexInstancesAndNestedCallsNameThemselves) {
  auto e = elaborateText(std::string(kDense) + R"(
def Block(x: f32[N, D]) -> f32[N, D] {
  conv = Dense(x, D)
  return conv
}
model Deep(x: f32[N, 8]) -> f32[N, 8] {
  h = x
  for i in 0..3 {
    blocks = Block(h)
    h = blocks
  }
  return relu(Dense(h, 8))
}
)",
                         "Deep");
  ASSERT_TRUE(e->graph) << e->errors();
  auto params = parameters(*e->graph);
  for (const char* name : {"blocks[0].conv.W", "blocks[1].conv.b", "blocks[2].conv.W", "out.Dense.W"})
    EXPECT_TRUE(params.count(name)) << name;
  EXPECT_EQ(params.size(), 8u);
}

TEST(Elaborate, ControlFlowAndTrainingFlag) {
  std::string src = R"(
model M(x: f32[N, 4], p: float = 0.5) -> f32[N, 4] {
  state seen: f32[4] = zeros()
  if training {
    seen <- seen + mean(x, axis = 0)
    return dropout(x, p)
  } else {
    return x * 1.0
  }
}
)";
  auto train = elaborateText(src, "M", true);
  ASSERT_TRUE(train->graph) << train->errors();
  auto eval = elaborateText(src, "M", false);
  ASSERT_TRUE(eval->graph) << eval->errors();
  auto count = [](const ir::Graph& g, ir::OpKind op) {
    size_t n = 0;
    for (const ir::Node& node : g.nodes) n += node.op == op;
    return n;
  };
  EXPECT_EQ(count(*train->graph, ir::OpKind::Dropout), 1u);
  // `seen <- ...` and the dropout's own step counter ("rng:step").
  EXPECT_EQ(count(*train->graph, ir::OpKind::StateUpdate), 2u);
  ASSERT_TRUE(train->graph->findLeaf(ir::OpKind::State, "seen"));
  EXPECT_EQ(count(*eval->graph, ir::OpKind::Dropout), 0u);
  EXPECT_EQ(count(*eval->graph, ir::OpKind::StateUpdate), 0u);
}

TEST(Elaborate, InitialValuesDependOnlyOnSeedAndName) {
  std::string two = std::string(kDense) + "model M(x: f32[N, 16]) -> f32[N, 4] {\n  h1 = Dense(x, 8)\n"
                                          "  return Dense(h1, 4)\n}\n";
  std::string three = std::string(kDense) + "model M(x: f32[N, 16]) -> f32[N, 4] {\n  h0 = Dense(x, 16)\n"
                                            "  h1 = Dense(h0, 8)\n  return Dense(h1, 4)\n}\n";
  auto a = elaborateText(two, "M"), b = elaborateText(three, "M");
  ASSERT_TRUE(a->graph && b->graph);
  auto init = [](const ir::Graph& g, const std::string& name, uint64_t seed) {
    const ir::Node& n = g.node(*g.findLeaf(ir::OpKind::Parameter, name));
    return ir::initialValue(n.init, n.type.dtype, *n.type.shape(), seed, n.name);
  };
  for (const char* name : {"h1.W", "out.W"}) {
    Tensor x = init(*a->graph, name, 42), y = init(*b->graph, name, 42), z = init(*b->graph, name, 43);
    ASSERT_EQ(x.bytes(), y.bytes());
    EXPECT_EQ(std::memcmp(x.rawData(), y.rawData(), x.bytes()), 0) << name << " changed when a layer was added";
    EXPECT_NE(std::memcmp(y.rawData(), z.rawData(), y.bytes()), 0) << name << " ignores the seed";
  }
  Tensor h1 = init(*a->graph, "h1.W", 42);
  Tensor out = init(*a->graph, "out.W", 42);
  EXPECT_NE(h1.data<float>()[0], out.data<float>()[0]);
}

TEST(Elaborate, ShapeErrorInADefNamesBothShapesAndWhereTheDimensionWasBound) {
  auto e = elaborateText(R"(def Dense(x: f32[N, I], units: int) -> f32[N, units] {
  param W: f32[100, units] = glorot_uniform()
  return x @ W
}
model MLP(x: f32[N, 784]) -> f32[N, 10] {
  h1 = Dense(x, 256)
  return Dense(h1, 10)
}
)",
                         "MLP");
  EXPECT_FALSE(e->graph);
  std::string out = e->errors();
  EXPECT_NE(out.find(":3:10: error: matmul: inner dimensions differ: the left operand (f32[N, 784]) @ the right "
                     "operand (f32[100, 256])"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(":6:14: note: I bound to 784 here"), std::string::npos) << out;
  EXPECT_NE(out.find(":2:3: note: h1.W is declared here as f32[100, 256]"), std::string::npos) << out;
  EXPECT_NE(out.find(":6:8: note: in 'Dense', called here as 'h1'"), std::string::npos) << out;
}

TEST(Elaborate, ArgumentTypeErrorsPointAtTheBinding) {
  auto e = elaborateText(std::string(kDense) + R"(
model M(x: f32[N, 4], y: f32[N, 5]) -> f32[N, 3] {
  h = Dense(x, 3)
  return Dense(y, 3, act = identity) + h
}
def Pair(a: f32[N, D], b: f32[N, D]) -> f32[N, D] {
  return a + b
}
model P(x: f32[N, 4], y: f32[N, 5]) -> f32[N, 4] {
  return Pair(x, y)
}
)",
                         "P");
  EXPECT_FALSE(e->graph);
  std::string out = e->errors();
  EXPECT_NE(out.find("error: argument 'b' of 'Pair' has type f32[N, 5], but dimension 1 must be 4 (D)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("note: D bound to 4 here"), std::string::npos) << out;
}

TEST(Elaborate, NameErrorsSuggestTheNearestName) {
  auto e = elaborateText(std::string(kDense) + "model M(x: f32[N, 4]) -> f32[N, 3] {\n  return Dnse(x, 3)\n}\n", "M");
  EXPECT_NE(e->errors().find("error: unknown name 'Dnse'"), std::string::npos) << e->errors();
  EXPECT_NE(e->errors().find("hint: did you mean 'Dense'?"), std::string::npos) << e->errors();
  auto f = elaborateText(std::string(kDense) + "model M(x: f32[N, 4]) -> f32[N, 3] {\n  return Dense(x, unit = 3)\n}\n",
                         "M");
  EXPECT_NE(f->errors().find("error: 'Dense' has no parameter 'unit'"), std::string::npos) << f->errors();
  EXPECT_NE(f->errors().find("did you mean 'units'?"), std::string::npos) << f->errors();
  auto g = elaborateText(std::string(kDense) + "model M(x: f32[N, 4]) -> f32[N, 3] {\n  h = Dense(x, 3)\n"
                                               "  h = Dense(h, 3)\n  return h\n}\n",
                         "M");
  EXPECT_NE(g->errors().find("error: 'h' already names an instance with its own parameters"), std::string::npos)
      << g->errors();
}

TEST(Elaborate, EveryStandardLibraryLayerElaborates) {
  std::string src = R"(import std.nn

model Everything(x: f32[N, 3, 16, 16]) -> f32[N, 10] {
  c = nn.Conv2D(x, 8, 3, padding = 1)
  bn = nn.BatchNorm(c)
  r = nn.Residual(bn)
  p = nn.MaxPool(r)
  f = flatten(p)
  ln = nn.LayerNorm(f)
  d = nn.Dropout(ln, p = 0.25)
  return nn.Dense(d, 10, act = identity)
}
)";
  for (bool training : {true, false}) {
    auto e = elaborateText(src, "Everything", training);
    ASSERT_TRUE(e->graph) << e->errors();
    EXPECT_EQ(parameterCount(*e->graph), 7594);
    size_t states = 0, updates = 0;
    for (ir::ValueId id : e->graph->leaves(ir::OpKind::State)) states += e->graph->node(id).name.find("running_") != std::string::npos;
    for (const ir::Node& n : e->graph->nodes) updates += n.op == ir::OpKind::StateUpdate;
    EXPECT_EQ(states, 6u); // three batch norms, two running statistics each
    EXPECT_EQ(updates, training ? 7u : 0u) << "six running statistics and dropout's step counter";
    EXPECT_EQ(parameters(*e->graph).at("r.conv2.w"), "f32[8, 8, 3, 3]");
  }
}

TEST(Elaborate, ALocalNameHidingABuiltinIsExplained) {
  auto e = elaborateText("model M(x: f32[N, 4]) -> f32[4] {\n  mean = x\n  return mean(x, axis = 0)\n}\n", "M");
  EXPECT_NE(e->errors().find("error: cannot call a tensor: the name 'mean' here hides the built-in mean()"),
            std::string::npos)
      << e->errors();
}
