// Every op (forward and backward) and two whole models (the MLP
// 784-256-128-10 and LeNet-5) against values PyTorch computed: see
// gen_reference.py, which wrote data/ops.json and data/models.json.
#include "compiler/interp/Interpreter.h"
#include "compiler/ir/Specialize.h"
#include "compiler/ir/Verifier.h"
#include "compiler/passes/Autodiff.h"
#include "tests/ir/TestUtil.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>

namespace bdl::irtest {
namespace {

using namespace bdl::ir;
using json = nlohmann::json;
using Env = std::map<std::string, ValueId>;
using CaseFn = std::function<Expected<ValueId>(GraphBuilder&, Env&)>;

json loadData(const std::string& file) {
  const char* root = std::getenv("BDL_SOURCE_DIR");
  std::string path = std::string(root ? root : ".") + "/tests/ir/data/" + file;
  std::ifstream in(path);
  if (!in) return json();
  return json::parse(in);
}

Tensor tensorOf(const json& j) {
  Shape shape = j["shape"].get<Shape>();
  DType dtype = *dtypeFromName(j["dtype"].get<std::string>());
  return makeTensor(dtype, shape, j["values"].get<std::vector<double>>());
}

// How each case of ops.json is built with GraphBuilder.
const std::map<std::string, CaseFn>& caseBuilders() {
  static const std::map<std::string, CaseFn> builders = {
      {"neg", [](GraphBuilder& b, Env& e) { return b.neg(e["x"]); }},
      {"exp", [](GraphBuilder& b, Env& e) { return b.exp(e["x"]); }},
      {"log", [](GraphBuilder& b, Env& e) { return b.log(e["x"]); }},
      {"sqrt", [](GraphBuilder& b, Env& e) { return b.sqrt(e["x"]); }},
      {"rsqrt", [](GraphBuilder& b, Env& e) { return b.rsqrt(e["x"]); }},
      {"abs", [](GraphBuilder& b, Env& e) { return b.abs(e["x"]); }},
      {"tanh", [](GraphBuilder& b, Env& e) { return b.tanh(e["x"]); }},
      {"sigmoid", [](GraphBuilder& b, Env& e) { return b.sigmoid(e["x"]); }},
      {"relu", [](GraphBuilder& b, Env& e) { return b.relu(e["x"]); }},
      {"leaky_relu", [](GraphBuilder& b, Env& e) { return b.leakyRelu(e["x"], 0.1); }},
      {"elu", [](GraphBuilder& b, Env& e) { return b.elu(e["x"], 0.7); }},
      {"gelu", [](GraphBuilder& b, Env& e) { return b.gelu(e["x"]); }},
      {"softplus", [](GraphBuilder& b, Env& e) { return b.softplus(e["x"]); }},
      {"cast", [](GraphBuilder& b, Env& e) { return b.cast(e["x"], DType::I64); }},
      {"add", [](GraphBuilder& b, Env& e) { return b.add(e["a"], e["b"]); }},
      {"sub", [](GraphBuilder& b, Env& e) { return b.sub(e["a"], e["b"]); }},
      {"mul", [](GraphBuilder& b, Env& e) { return b.mul(e["a"], e["b"]); }},
      {"div", [](GraphBuilder& b, Env& e) { return b.div(e["a"], e["b"]); }},
      {"pow", [](GraphBuilder& b, Env& e) { return b.pow(e["a"], e["b"]); }},
      {"maximum", [](GraphBuilder& b, Env& e) { return b.maximum(e["a"], e["b"]); }},
      {"minimum", [](GraphBuilder& b, Env& e) { return b.minimum(e["a"], e["b"]); }},
      {"less", [](GraphBuilder& b, Env& e) { return b.less(e["a"], e["b"]); }},
      {"less_equal", [](GraphBuilder& b, Env& e) { return b.lessEqual(e["a"], e["b"]); }},
      {"greater", [](GraphBuilder& b, Env& e) { return b.greater(e["a"], e["b"]); }},
      {"greater_equal", [](GraphBuilder& b, Env& e) { return b.greaterEqual(e["a"], e["b"]); }},
      {"equal", [](GraphBuilder& b, Env& e) { return b.equal(e["a"], e["b"]); }},
      {"not_equal", [](GraphBuilder& b, Env& e) { return b.notEqual(e["a"], e["b"]); }},
      {"where", [](GraphBuilder& b, Env& e) { return b.where(e["c"], e["a"], e["b"]); }},
      {"matmul", [](GraphBuilder& b, Env& e) { return b.matmul(e["a"], e["b"]); }},
      {"matmul_broadcast", [](GraphBuilder& b, Env& e) { return b.matmul(e["a"], e["b"]); }},
      {"transpose", [](GraphBuilder& b, Env& e) { return b.transpose(e["x"], {2, 0, 1}); }},
      {"reshape",
       [](GraphBuilder& b, Env& e) {
         return b.reshape(e["x"], {Dim::of(3), Dim::of(-1), Dim::of(2)});
       }},
      {"flatten", [](GraphBuilder& b, Env& e) { return b.flatten(e["x"], 1); }},
      {"concat", [](GraphBuilder& b, Env& e) { return b.concat({e["a"], e["b"]}, 1); }},
      {"slice", [](GraphBuilder& b, Env& e) { return b.slice(e["x"], 1, 2, 5); }},
      {"one_hot", [](GraphBuilder& b, Env& e) { return b.oneHot(e["labels"], 5); }},
      {"sum", [](GraphBuilder& b, Env& e) { return b.sum(e["x"], {0, 2}); }},
      {"mean", [](GraphBuilder& b, Env& e) { return b.mean(e["x"], {1}, true); }},
      {"max", [](GraphBuilder& b, Env& e) { return b.max(e["x"], {1}); }},
      {"min", [](GraphBuilder& b, Env& e) { return b.min(e["x"], {0, 1}, true); }},
      {"softmax", [](GraphBuilder& b, Env& e) { return b.softmax(e["x"], -1); }},
      {"log_softmax", [](GraphBuilder& b, Env& e) { return b.logSoftmax(e["x"], 0); }},
      {"argmax", [](GraphBuilder& b, Env& e) { return b.argmax(e["x"], 1); }},
      {"conv2d",
       [](GraphBuilder& b, Env& e) { return b.conv2d(e["x"], e["w"], {{2, 1}, {1, 1}, {1, 2}, 1}); }},
      {"conv2d_wide",
       [](GraphBuilder& b, Env& e) { return b.conv2d(e["x"], e["w"], {{1, 3}, {0, 2}, {2, 1}, 1}); }},
      {"conv2d_groups",
       [](GraphBuilder& b, Env& e) { return b.conv2d(e["x"], e["w"], {{1, 1}, {0, 0}, {1, 1}, 2}); }},
      {"max_pool2d",
       [](GraphBuilder& b, Env& e) { return b.maxPool2d(e["x"], {{3, 3}, {2, 2}, {1, 1}}); }},
      {"avg_pool2d", [](GraphBuilder& b, Env& e) { return b.avgPool2d(e["x"], {{2, 2}}); }},
      {"avg_pool2d_pad",
       [](GraphBuilder& b, Env& e) { return b.avgPool2d(e["x"], {{3, 3}, {2, 2}, {1, 1}}); }},
      {"global_avg_pool", [](GraphBuilder& b, Env& e) { return b.globalAvgPool(e["x"]); }},
      {"embedding", [](GraphBuilder& b, Env& e) { return b.embedding(e["ids"], e["table"]); }},
      {"cross_entropy",
       [](GraphBuilder& b, Env& e) { return b.crossEntropy(e["logits"], e["labels"]); }},
      {"nll", [](GraphBuilder& b, Env& e) { return b.nll(e["log_probs"], e["labels"]); }},
      {"mse", [](GraphBuilder& b, Env& e) { return b.mse(e["pred"], e["target"]); }},
      {"bce_with_logits",
       [](GraphBuilder& b, Env& e) { return b.bceWithLogits(e["logits"], e["target"]); }},
      {"accuracy", [](GraphBuilder& b, Env& e) { return b.accuracy(e["logits"], e["labels"]); }},
      {"top_k", [](GraphBuilder& b, Env& e) { return b.topK(e["logits"], e["labels"], 2); }},
  };
  return builders;
}

void expectClose(const std::vector<double>& actual, const json& expected, double rel,
                 const std::string& what) {
  std::vector<double> ref = expected["values"].get<std::vector<double>>();
  ASSERT_EQ(actual.size(), ref.size()) << what;
  double scale = 0;
  for (double v : ref) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < ref.size(); ++i)
    EXPECT_NEAR(actual[i], ref[i], rel * std::max(scale, 1e-3)) << what << "[" << i << "]";
}

TEST(Reference, EveryOpMatchesPyTorch) {
  json data = loadData("ops.json");
  ASSERT_TRUE(data.contains("cases")) << "tests/ir/data/ops.json is missing";
  std::set<OpKind> covered;
  for (const json& c : data["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    auto builder = caseBuilders().find(name);
    ASSERT_NE(builder, caseBuilders().end()) << "no builder for case " << name;
    bool differentiable = c.contains("grads");
    GraphBuilder b;
    Env env;
    interp::Feeds feeds;
    for (const json& in : c["inputs"]) {
      Tensor t = tensorOf(in);
      TensorType type{t.dtype(), dimsOf(t.shape())};
      std::string n = in["name"];
      env[n] = differentiable && isFloating(t.dtype()) ? *b.parameter(n, type, Initializer::zeros())
                                                       : *b.input(n, type);
      feeds[n] = t;
    }
    auto y = builder->second(b, env);
    ASSERT_TRUE(y.ok()) << y.error().message;
    ASSERT_EQ(dimsOf(c["output"]["shape"].get<Shape>()), b.type(*y).dims);
    for (const Node& n : b.graph().nodes) covered.insert(n.op);
    ASSERT_TRUE(b.output("y", *y).ok());
    if (differentiable) {
      ValueId loss = *b.sum(*b.mul(*y, b.constant(tensorOf(c["upstream"]))));
      ASSERT_TRUE(b.output("loss", loss).ok());
    }
    Graph g = b.finish();
    if (differentiable) {
      auto t = passes::buildTrainingGraph(g);
      ASSERT_TRUE(t.ok()) << t.error().message;
      g = std::move(*t);
    }
    ASSERT_EQ(verifyGraph(g), std::vector<std::string>{});
    auto r = interp::run(g, feeds);
    ASSERT_TRUE(r.ok()) << r.error().message;
    expectClose(values(r->outputs.at("y")), c["output"], 1e-5, "output");
    if (differentiable) {
      for (auto& [param, grad] : c["grads"].items())
        expectClose(values(r->outputs.at(passes::gradientOutputName(param))), grad, 1e-5,
                    "grad " + param);
    }
  }
  // Every op a user can write must have a reference case (dropout's mask is
  // random by design and is tested in InterpreterTest instead).
  for (const OpInfo& info : kOpTable) {
    if (!info.internal && info.family != OpFamily::Leaf && info.family != OpFamily::Effect &&
        info.kind != OpKind::Dropout) {
      EXPECT_TRUE(covered.count(info.kind)) << "no PyTorch reference case for " << info.name;
    }
  }
}

// --- Whole models ---------------------------------------------------------------------

double weightValue(int paramIndex, int64_t i, double fanIn) { // as gen_reference.py
  return std::sin(0.37 * double(i) + 1.3 * paramIndex + 0.5) / std::sqrt(fanIn);
}

struct Model {
  Graph graph;
  interp::Feeds feeds;
};

ValueId dense(GraphBuilder& b, ValueId x, const std::string& name, int64_t in, int64_t out,
              bool relu) {
  ValueId w = *b.parameter(name + ".W", {DType::F32, dimsOf({in, out})}, Initializer::glorotUniform());
  ValueId bias = *b.parameter(name + ".b", {DType::F32, dimsOf({out})}, Initializer::zeros());
  ValueId h = *b.add(*b.matmul(x, w), bias);
  return relu ? *b.relu(h) : h;
}

ValueId conv(GraphBuilder& b, ValueId x, const std::string& name, int64_t in, int64_t out,
             int64_t pad) {
  ValueId w = *b.parameter(name + ".W", {DType::F32, dimsOf({out, in, 5, 5})}, Initializer::heUniform());
  ValueId bias = *b.parameter(name + ".b", {DType::F32, dimsOf({out})}, Initializer::zeros());
  ValueId y = *b.conv2d(x, w, {{1, 1}, {pad, pad}, {1, 1}, 1});
  y = *b.add(y, *b.reshape(bias, dimsOf({out, 1, 1})));
  return *b.maxPool2d(*b.relu(y), {{2, 2}});
}

// The models of gen_reference.py, with a symbolic batch N, a loss output, and
// then the training graph specialized to N = batch.
Graph buildModel(const std::string& name, int64_t batch) {
  GraphBuilder b;
  Dim n = Dim::sym("N");
  ValueId labels = *b.input("labels", {DType::I64, {n}});
  ValueId logits;
  if (name == "mlp") {
    ValueId x = *b.input("x", {DType::F32, {n, Dim::of(784)}});
    logits = dense(b, dense(b, dense(b, x, "h1", 784, 256, true), "h2", 256, 128, true), "out",
                   128, 10, false);
  } else {
    ValueId x = *b.input("x", {DType::F32, {n, Dim::of(1), Dim::of(28), Dim::of(28)}});
    ValueId h = conv(b, conv(b, x, "c1", 1, 6, 2), "c2", 6, 16, 0);
    h = *b.flatten(h, 1);
    logits = dense(b, dense(b, dense(b, h, "f1", 400, 120, true), "f2", 120, 84, true), "out", 84,
                   10, false);
  }
  EXPECT_TRUE(b.output("logits", logits).ok());
  EXPECT_TRUE(b.output("loss", *b.crossEntropy(logits, labels)).ok());
  Graph forward = b.finish();
  EXPECT_EQ(verifyGraph(forward), std::vector<std::string>{});
  auto training = passes::buildTrainingGraph(forward);
  EXPECT_TRUE(training.ok());
  auto concrete = specialize(*training, {{"N", batch}});
  EXPECT_TRUE(concrete.ok()) << concrete.error().message;
  return std::move(*concrete);
}

interp::Feeds modelFeeds(const json& model, int64_t batch) {
  interp::Feeds feeds;
  int index = 0;
  for (const json& p : model["params"]) {
    Shape shape = p["shape"].get<Shape>();
    std::vector<double> v(static_cast<size_t>(numElements(shape)));
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = static_cast<float>(weightValue(index, static_cast<int64_t>(i), p["fan_in"].get<double>()));
    feeds[p["name"]] = makeTensor(DType::F32, shape, v);
    ++index;
  }
  Shape xShape = model["input_shape"].get<Shape>();
  std::vector<double> x(static_cast<size_t>(numElements(xShape)));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(0.8 * std::sin(0.11 * double(i) + 0.3) + 0.2 * std::cos(0.017 * double(i)));
  if (model["name"] == "mlp") feeds["x"] = makeTensor(DType::F32, xShape, x);
  else feeds["x"] = makeTensor(DType::F32, {batch, 1, 28, 28}, x);
  feeds["labels"] = makeTensor(DType::I64, {batch}, model["labels"].get<std::vector<double>>());
  return feeds;
}

TEST(Reference, MlpAndLeNetLossAndGradientsMatchPyTorch) {
  json data = loadData("models.json");
  ASSERT_TRUE(data.contains("models")) << "tests/ir/data/models.json is missing";
  ASSERT_EQ(data["models"].size(), 2u);
  for (const json& model : data["models"]) {
    std::string name = model["name"];
    SCOPED_TRACE(name);
    int64_t batch = static_cast<int64_t>(model["labels"].size());
    Graph g = buildModel(name, batch);
    auto r = interp::run(g, modelFeeds(model, batch));
    ASSERT_TRUE(r.ok()) << r.error().message;
    double loss = values(r->outputs.at("loss"))[0], refLoss = model["loss"];
    EXPECT_NEAR(loss, refLoss, 1e-4 * std::fabs(refLoss));
    double worst = 0; // largest gradient error relative to its tensor's scale
    for (const json& p : model["params"]) {
      std::string pname = p["name"];
      std::vector<double> grad = values(r->outputs.at(passes::gradientOutputName(pname)));
      const json& ref = p["grad"];
      double maxAbs = 0;
      for (double v : grad) maxAbs = std::max(maxAbs, std::fabs(v));
      double refMax = ref["max_abs"];
      EXPECT_NEAR(maxAbs, refMax, 1e-4 * refMax) << pname;
      auto idx = ref["indices"].get<std::vector<size_t>>();
      auto vals = ref["values"].get<std::vector<double>>();
      ASSERT_EQ(idx.size(), vals.size());
      for (size_t k = 0; k < idx.size(); ++k) {
        EXPECT_NEAR(grad.at(idx[k]), vals[k], 1e-4 * refMax) << pname << "[" << idx[k] << "]";
        worst = std::max(worst, std::fabs(grad.at(idx[k]) - vals[k]) / refMax);
      }
    }
    std::printf("%s: loss %.8f (PyTorch %.8f), worst gradient error %.2e of scale\n",
                name.c_str(), loss, refLoss, worst);
  }
}

// The reference interpreter must stay usable as an oracle: one LeNet-5
// training step on a batch of 128 well under a second (a Release build).
TEST(Reference, LeNetStepOnBatch128IsFastEnough) {
  json data = loadData("models.json");
  ASSERT_TRUE(data.contains("models"));
  const json& lenet = data["models"][1];
  Graph g = buildModel("lenet", 128);
  interp::Feeds feeds = modelFeeds(lenet, 4);
  feeds["x"] = randomTensor(DType::F32, {128, 1, 28, 28}, 3);
  feeds["labels"] = randomTensor(DType::I64, {128}, 4, 0, 10);
  auto start = std::chrono::steady_clock::now();
  auto r = interp::run(g, feeds);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.ok()) << r.error().message;
  RecordProperty("lenet_step_seconds", std::to_string(seconds));
  std::printf("LeNet-5 training step, batch 128: %.3f s\n", seconds);
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(seconds, 3.0); // generous: the machine is shared; typically far less
#endif
}

} // namespace
} // namespace bdl::irtest
