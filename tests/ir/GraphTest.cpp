// The IR itself: builder shape errors (structured, with both shapes), the
// stable text printer (golden), the dot printer, the verifier rejecting
// malformed graphs, and specialize().
#include "compiler/ir/Builder.h"
#include "compiler/ir/Printer.h"
#include "compiler/ir/Specialize.h"
#include "compiler/ir/Verifier.h"
#include "compiler/passes/Autodiff.h"
#include "tests/ir/TestUtil.h"

#include <gtest/gtest.h>

namespace bdl::irtest {
namespace {

using namespace bdl::ir;

TensorType f32(Dims dims) { return {DType::F32, std::move(dims)}; }
const Dim N = Dim::sym("N");

// x: f32[N, 3] -> relu(x @ W + b) -> sum over axis 1, keepdims.
Graph smallGraph() {
  GraphBuilder b;
  uint32_t file = b.addFile("model.bdl");
  EXPECT_EQ(b.addFile("model.bdl"), file);
  b.setLocation({file, 3, 5});
  ValueId x = *b.input("x", f32({N, Dim::of(3)}));
  ValueId w = *b.parameter("d.W", f32(dimsOf({3, 2})), Initializer::glorotUniform());
  ValueId bias = *b.parameter("d.b", f32(dimsOf({2})), Initializer::uniform(-0.5, 0.25));
  b.setLocation({0, 4, 9});
  ValueId h = *b.relu(*b.add(*b.matmul(x, w), bias));
  ValueId s = *b.sum(h, {1}, true);
  ValueId half = b.scalar(0.5, DType::F32);
  EXPECT_TRUE(b.output("y", *b.mul(s, half)).ok());
  return b.finish();
}

TEST(Printer, GoldenText) {
  const char* expected = R"(graph {
  %0 = input "x" : f32[N, 3]
  %1 = parameter "d.W" glorot_uniform() : f32[3, 2]
  %2 = parameter "d.b" uniform(-0.5, 0.25) : f32[2]
  %3 = matmul(%0, %1) : f32[N, 2]
  %4 = add(%3, %2) : f32[N, 2]
  %5 = relu(%4) : f32[N, 2]
  %6 = sum(%5) {axes=[1], keepdims=true} : f32[N, 1]
  %7 = constant 0.5 : f32[]
  %8 = mul(%6, %7) : f32[N, 1]
  output "y" = %8
}
)";
  EXPECT_EQ(printGraph(smallGraph()), expected);
}

// The training graph as `bdlc dump --stage=grad` will show it.
TEST(Printer, GoldenTrainingGraph) {
  GraphBuilder b;
  ValueId x = *b.input("x", f32({N, Dim::of(3)}));
  ValueId w = *b.parameter("w", f32(dimsOf({3})), Initializer::ones());
  ASSERT_TRUE(b.output("loss", *b.mean(*b.mul(x, w))).ok());
  auto t = passes::buildTrainingGraph(b.finish());
  ASSERT_TRUE(t.ok());
  const char* expected = R"(graph {
  %0 = input "x" : f32[N, 3]
  %1 = parameter "w" ones() : f32[3]
  %2 = mul(%0, %1) : f32[N, 3]
  %3 = mean(%2) : f32[]
  %4 = constant 1 : f32[]
  %5 = reshape(%4) {shape=[1, 1]} : f32[1, 1]
  %6 = broadcast_to(%5) {shape=[N, 3]} : f32[N, 3]
  %7 = num_elements(%2) {axes=[0, 1], dtype=f32} : f32[]
  %8 = div(%6, %7) : f32[N, 3]
  %9 = mul(%8, %0) : f32[N, 3]
  %10 = sum(%9) {axes=[0], keepdims=true} : f32[1, 3]
  %11 = reshape(%10) {shape=[3]} : f32[3]
  output "loss" = %3
  output "grad:w" = %11
}
)";
  EXPECT_EQ(printGraph(*t), expected);
}

TEST(Printer, LocationsAndAttributes) {
  Graph g = smallGraph();
  EXPECT_EQ(printNode(g, 0, {true}), "%0 = input \"x\" : f32[N, 3] loc(model.bdl:3:5)");
  EXPECT_EQ(printNode(g, 3, {true}), "%3 = matmul(%0, %1) : f32[N, 2] loc(model.bdl:4:9)");
  GraphBuilder b;
  ValueId x = *b.input("x", f32(dimsOf({1, 2, 9, 9})));
  ValueId p = *b.maxPool2d(x, {{3, 3}, {2, 2}, {1, 1}});
  ValueId c = *b.cast(p, DType::F64);
  EXPECT_EQ(printNode(b.graph(), p),
            "%1 = max_pool2d(%0) {window=[3, 3], stride=[2, 2], padding=[1, 1]} : f32[1, 2, 5, 5]");
  EXPECT_EQ(printNode(b.graph(), c), "%2 = cast(%1) {dtype=f64} : f64[1, 2, 5, 5]");
}

TEST(Printer, Dot) {
  std::string dot = printDot(smallGraph());
  EXPECT_EQ(dot.rfind("digraph bdl {", 0), 0u);
  EXPECT_NE(dot.find("n0 -> n3;"), std::string::npos);
  EXPECT_NE(dot.find("n1 -> n3;"), std::string::npos);
  EXPECT_NE(dot.find("label=\"%1 parameter d.W\\nf32[3, 2]\""), std::string::npos);
  EXPECT_NE(dot.find("n8 -> out0;"), std::string::npos);
}

TEST(Builder, BroadcastErrorNamesBothShapesAndTheDimension) {
  GraphBuilder b;
  ValueId x = *b.input("x", f32({N, Dim::of(256)}));
  ValueId y = *b.input("y", f32(dimsOf({128})));
  auto r = b.add(x, y);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("[N, 256]"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("[128]"), std::string::npos);
  EXPECT_EQ(r.error().operand, 1);
  EXPECT_EQ(r.error().dim, 0);
  EXPECT_EQ(b.graph().size(), 2u) << "a failed op adds no node";
}

TEST(Builder, MatmulErrorNamesInnerDimensions) {
  GraphBuilder b;
  ValueId x = *b.input("x", f32({N, Dim::of(784)}));
  ValueId w = *b.parameter("W", f32(dimsOf({748, 10})), Initializer::zeros());
  auto r = b.matmul(x, w);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("f32[N, 784]"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("f32[748, 10]"), std::string::npos);
  EXPECT_EQ(r.error().operand, 1);
  EXPECT_EQ(r.error().dim, 0);
}

TEST(Builder, TypeAndShapeErrorsAreValues) {
  GraphBuilder b;
  ValueId x = *b.input("x", f32(dimsOf({2, 3})));
  ValueId i = *b.input("i", {DType::I64, dimsOf({2})});
  ValueId bits = *b.input("m", {DType::Bool, dimsOf({2, 3})});
  EXPECT_FALSE(b.add(x, i).ok());                   // dtype mismatch
  EXPECT_FALSE(b.exp(i).ok());                      // needs float
  EXPECT_FALSE(b.add(bits, bits).ok());             // bool arithmetic
  EXPECT_FALSE(b.where(x, x, x).ok());              // condition not bool
  EXPECT_FALSE(b.sum(x, {2}).ok());                 // axis out of range
  EXPECT_FALSE(b.sum(x, {1, -1}).ok());             // repeated axis
  EXPECT_FALSE(b.transpose(x, {0, 0}).ok());        // not a permutation
  EXPECT_FALSE(b.reshape(x, dimsOf({4, 2})).ok());  // element count
  EXPECT_FALSE(b.reshape(x, {Dim::of(-1), Dim::of(-1)}).ok());
  EXPECT_FALSE(b.reshape(x, {Dim::of(4), Dim::of(-1)}).ok());
  EXPECT_FALSE(b.slice(x, 1, 2, 5).ok());           // out of range
  EXPECT_FALSE(b.concat({x, i}, 0).ok());
  EXPECT_FALSE(b.crossEntropy(x, x).ok());          // labels must be integer
  EXPECT_FALSE(b.crossEntropy(x, *b.input("l3", {DType::I64, dimsOf({3})})).ok());
  EXPECT_FALSE(b.mse(x, *b.transpose(x)).ok());
  EXPECT_FALSE(b.conv2d(x, x).ok());                // rank
  EXPECT_FALSE(b.maxPool2d(*b.input("img", f32(dimsOf({1, 1, 2, 2}))), {{3, 3}}).ok());
  EXPECT_FALSE(b.dropout(x, 1.0, 0).ok());
  EXPECT_FALSE(b.topK(x, *b.input("l2", {DType::I64, dimsOf({2})}), 4).ok());
  EXPECT_FALSE(b.input("x", f32(dimsOf({1}))).ok()); // duplicate name
  EXPECT_FALSE(b.parameter("p", f32({N}), Initializer::zeros()).ok()); // symbolic parameter
  EXPECT_FALSE(b.parameter("q", {DType::I32, dimsOf({1})}, Initializer::zeros()).ok());
  EXPECT_FALSE(b.addOp(OpKind::Add, {x}).ok());     // arity
  EXPECT_FALSE(b.addOp(OpKind::Neg, {999}).ok());   // unknown operand
  EXPECT_FALSE(b.stateUpdate(x, x).ok());           // not a state
  EXPECT_TRUE(verifyGraph(b.graph()).empty());
}

TEST(Builder, SymbolicShapes) {
  GraphBuilder b;
  ValueId x = *b.input("x", f32({N, Dim::of(1), Dim::of(28), Dim::of(28)}));
  ValueId flat = *b.flatten(x, 1);
  EXPECT_EQ(b.type(flat).toString(), "f32[N, 784]");
  ValueId all = *b.flatten(x, 0);
  EXPECT_EQ(b.type(all).toString(), "f32[784*N]");
  ValueId back = *b.reshape(all, {Dim::of(-1), Dim::of(28)});
  EXPECT_EQ(b.type(back).toString(), "f32[28*N, 28]");
  ValueId two = *b.concat({flat, flat}, 0);
  EXPECT_EQ(b.type(two).toString(), "f32[2*N, 784]");
  ValueId one = *b.input("one", f32({Dim::of(1), Dim::of(784)}));
  EXPECT_EQ(b.type(*b.add(flat, one)).toString(), "f32[N, 784]");
  EXPECT_FALSE(b.add(flat, *b.input("m", f32({Dim::sym("M"), Dim::of(784)}))).ok());
  EXPECT_EQ(b.type(*b.globalAvgPool(x)).toString(), "f32[N, 1]");
  EXPECT_EQ(b.type(*b.argmax(flat, 1)).toString(), "i64[N]");
  ValueId maps = *b.input("maps", f32({N, Dim::of(16), Dim::of(5), Dim::of(5)}));
  EXPECT_EQ(b.type(*b.reshape(maps, {N, Dim::of(-1)})).toString(), "f32[N, 400]");
  EXPECT_FALSE(b.reshape(maps, {Dim::sym("M"), Dim::of(-1)}).ok());
  ValueId logits = *b.input("logits", f32({N, Dim::sym("C")}));
  EXPECT_FALSE(b.crossEntropy(logits, *b.input("labels", {DType::I64, {N}})).ok());
}

TEST(Verifier, AcceptsBuiltGraphsAndRejectsMalformedOnes) {
  Graph good = smallGraph();
  EXPECT_TRUE(verifyGraph(good).empty());
  auto expectProblem = [](const Graph& g, const std::string& fragment) {
    auto problems = verifyGraph(g);
    ASSERT_FALSE(problems.empty()) << "expected: " << fragment;
    bool found = false;
    for (auto& p : problems) found = found || p.find(fragment) != std::string::npos;
    EXPECT_TRUE(found) << problems[0];
  };
  Graph g = good;
  g.nodes[3].operands[0] = 5; // uses a later value
  expectProblem(g, "does not precede");
  g = good;
  g.nodes[3].type.dims[1] = Dim::of(3); // wrong type
  expectProblem(g, "differs from the inferred");
  g = good;
  g.nodes[4].operands.pop_back(); // arity
  expectProblem(g, "has 1 operands");
  g = good;
  g.nodes[2].name = "d.W"; // duplicate leaf name
  expectProblem(g, "also used by %1");
  g = good;
  g.outputs.push_back({"y", 1}); // duplicate output
  expectProblem(g, "defined twice");
  g = good;
  g.outputs.push_back({"z", 99});
  expectProblem(g, "missing value");
  g = good;
  g.nodes[7].value = makeTensor(DType::F64, {}, {0.5}); // constant dtype != type
  expectProblem(g, "does not match its type");
  g = good;
  g.nodes[6].attrs.axes = {7};
  expectProblem(g, "shape rule fails");
}

TEST(Specialize, MakesEveryShapeConcrete) {
  Graph g = smallGraph();
  auto s = specialize(g, {{"N", 128}});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(verifyGraph(*s).empty());
  for (const Node& n : s->nodes) EXPECT_TRUE(n.type.isConcrete()) << n.type.toString();
  EXPECT_EQ(s->type(8).toString(), "f32[128, 1]");
  // The original graph is untouched.
  EXPECT_EQ(g.type(8).toString(), "f32[N, 1]");

  GraphBuilder b;
  ValueId x = *b.input("x", f32({N, Dim::of(4)}));
  ValueId r = *b.reshape(x, {Dim::of(-1)});
  ValueId bt = *b.broadcastTo(*b.sum(x, {1}, true), {N, Dim::of(4)});
  Graph g2 = b.finish();
  auto s2 = specialize(g2, {{"N", 3}});
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->type(r).toString(), "f32[12]");
  EXPECT_EQ(s2->node(r).attrs.shape, dimsOf({12}));
  EXPECT_EQ(s2->type(bt).toString(), "f32[3, 4]");
  EXPECT_TRUE(verifyGraph(*s2).empty());

  auto missing = specialize(g2, {{"M", 3}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("N has no size"), std::string::npos)
      << missing.error().message;
}

} // namespace
} // namespace bdl::irtest
