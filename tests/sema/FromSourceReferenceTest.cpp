// The LANGUAGE.md MLP and the LeNet-5 of examples/, compiled from their .bdl
// source, against the loss and gradients PyTorch computed for the same fixed
// weights and input (tests/ir/gen_reference.py wrote tests/ir/data).
#include "tests/sema/SemaSupport.h"

#include "compiler/interp/Interpreter.h"
#include "compiler/ir/Builder.h"
#include "compiler/ir/Specialize.h"
#include "compiler/passes/Autodiff.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

using namespace bdl;
using json = nlohmann::json;

namespace {

json loadModels() {
  std::ifstream in(test::sourceDir() / "tests/ir/data/models.json");
  json data;
  if (in) in >> data;
  return data;
}

Tensor f32Tensor(const Shape& shape, const std::function<double(size_t)>& value) {
  Tensor t(DType::F32, shape);
  auto out = t.span<float>();
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(value(i));
  return t;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Our parameter named like the reference's (the stdlib names conv weights `w`).
std::string ourName(const ir::Graph& g, const std::string& reference) {
  for (ir::ValueId id : g.leaves(ir::OpKind::Parameter))
    if (lower(g.node(id).name) == lower(reference)) return g.node(id).name;
  return reference;
}

void compareWithPyTorch(const std::string& file, const std::string& model, const json& ref) {
  auto e = test::elaborateFile(test::sourceDir() / file, model);
  ASSERT_TRUE(e->graph) << e->errors();
  // Loss = cross_entropy(model output, labels), as the train jobs write it.
  ir::GraphBuilder b(std::move(*e->graph));
  ir::ValueId labels = *b.input("labels", {DType::I64, {ir::Dim::sym("N")}});
  ir::ValueId logits = b.graph().findOutput("out").value();
  ASSERT_TRUE(b.output("loss", *b.crossEntropy(logits, labels)).ok());
  ir::Graph forward = b.finish();
  auto training = passes::buildTrainingGraph(forward);
  ASSERT_TRUE(training.ok()) << training.error().message;
  int64_t batch = static_cast<int64_t>(ref["labels"].size());
  auto concrete = specialize(*training, {{"N", batch}});
  ASSERT_TRUE(concrete.ok()) << concrete.error().message;

  interp::Feeds feeds;
  int index = 0;
  for (const json& p : ref["params"]) {
    double fanIn = p["fan_in"];
    int k = index++;
    feeds[ourName(*concrete, p["name"])] = f32Tensor(p["shape"].get<Shape>(), [&](size_t i) {
      return std::sin(0.37 * double(i) + 1.3 * k + 0.5) / std::sqrt(fanIn);
    });
  }
  ir::ValueId input = concrete->leaves(ir::OpKind::Input).front();
  feeds[concrete->node(input).name] = f32Tensor(*concrete->node(input).type.shape(), [](size_t i) {
    return 0.8 * std::sin(0.11 * double(i) + 0.3) + 0.2 * std::cos(0.017 * double(i));
  });
  Tensor l(DType::I64, {batch});
  auto refLabels = ref["labels"].get<std::vector<int64_t>>();
  std::copy(refLabels.begin(), refLabels.end(), l.data<int64_t>());
  feeds["labels"] = l;

  auto r = interp::run(*concrete, feeds);
  ASSERT_TRUE(r.ok()) << r.error().message;
  double loss = r->outputs.at("loss").data<float>()[0], refLoss = ref["loss"];
  EXPECT_NEAR(loss, refLoss, 1e-4 * std::fabs(refLoss));
  for (const json& p : ref["params"]) {
    std::string name = ourName(*concrete, p["name"]);
    const Tensor& grad = r->outputs.at(passes::gradientOutputName(name));
    double refMax = p["grad"]["max_abs"];
    auto idx = p["grad"]["indices"].get<std::vector<size_t>>();
    auto vals = p["grad"]["values"].get<std::vector<double>>();
    ASSERT_EQ(static_cast<int64_t>(grad.numel()), numElements(p["shape"].get<Shape>())) << name;
    for (size_t k = 0; k < idx.size(); ++k)
      ASSERT_NEAR(grad.data<float>()[idx[k]], vals[k], 1e-4 * refMax) << name << "[" << idx[k] << "]";
  }
}

} // namespace

TEST(FromSource, MlpLossAndGradientsMatchPyTorch) {
  json data = loadModels();
  ASSERT_TRUE(data.contains("models")) << "tests/ir/data/models.json is missing";
  compareWithPyTorch("examples/fashion_mlp.bdl", "MLP", data["models"][0]);
}

TEST(FromSource, LeNetLossAndGradientsMatchPyTorch) {
  json data = loadModels();
  ASSERT_TRUE(data.contains("models")) << "tests/ir/data/models.json is missing";
  ASSERT_EQ(data["models"][1]["name"], "lenet");
  compareWithPyTorch("examples/fashion_lenet.bdl", "LeNet5", data["models"][1]);
}
