#include "tests/ir/TestUtil.h"

#include "compiler/ir/Random.h"
#include "compiler/ir/Verifier.h"
#include "compiler/ir/ops/Common.h"
#include "compiler/passes/Autodiff.h"

#include <gtest/gtest.h>

#include <cmath>

namespace bdl::irtest {

using namespace bdl::ir;

Tensor randomTensor(DType dtype, const Shape& shape, uint64_t seed, double lo, double hi,
                    bool awayFromZero) {
  std::vector<double> v(static_cast<size_t>(numElements(shape)));
  double floor = 0.15 * std::max(std::fabs(lo), std::fabs(hi));
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = lo + (hi - lo) * randomUniform(mix64(seed + 1), i);
    if (awayFromZero && std::fabs(v[i]) < floor) v[i] = v[i] < 0 ? -floor - std::fabs(v[i]) : floor + v[i];
    if (!isFloating(dtype)) v[i] = std::floor(v[i]);
  }
  return ops::fromDoubles(dtype, shape, v);
}

Tensor makeTensor(DType dtype, const Shape& shape, const std::vector<double>& v) {
  return ops::fromDoubles(dtype, shape, v);
}

std::vector<double> values(const Tensor& t) { return ops::toDoubles(t); }

void checkGradients(const std::string& name, const std::vector<ParamSpec>& params,
                    const BuildFn& build, double tolerance) {
  SCOPED_TRACE(name);
  GraphBuilder b;
  std::vector<ValueId> ids;
  for (size_t i = 0; i < params.size(); ++i)
    ids.push_back(*b.parameter("p" + std::to_string(i),
                               TensorType{DType::F64, dimsOf(params[i].shape)},
                               Initializer::zeros()));
  auto y = build(b, ids);
  ASSERT_TRUE(y.ok()) << y.error().message;
  Shape yShape = *b.type(*y).shape();
  ValueId r = b.constant(randomTensor(DType::F64, yShape, 99, -1, 1));
  ValueId loss = *b.sum(*b.mul(*y, r));
  ASSERT_TRUE(b.output("loss", loss).ok());
  Graph forward = b.finish();
  ASSERT_EQ(verifyGraph(forward), std::vector<std::string>{});
  auto training = passes::buildTrainingGraph(forward);
  ASSERT_TRUE(training.ok()) << training.error().message;
  ASSERT_EQ(verifyGraph(*training), std::vector<std::string>{});

  interp::Feeds feeds = interp::initialParameters(forward, 0); // states, e.g. rng:step
  for (size_t i = 0; i < params.size(); ++i)
    feeds["p" + std::to_string(i)] = randomTensor(DType::F64, params[i].shape, 7 + i,
                                                  params[i].lo, params[i].hi,
                                                  params[i].awayFromZero);
  auto result = interp::run(*training, feeds);
  ASSERT_TRUE(result.ok()) << result.error().message;
  const double eps = 1e-6;
  for (size_t i = 0; i < params.size(); ++i) {
    std::string pname = "p" + std::to_string(i);
    std::vector<double> analytic = values(result->outputs.at(passes::gradientOutputName(pname)));
    Tensor p = feeds[pname];
    ASSERT_EQ(analytic.size(), static_cast<size_t>(p.numel()));
    for (int64_t k = 0; k < p.numel(); ++k) {
      double saved = p.data<double>()[k];
      interp::Feeds f = feeds;
      Tensor q = p.clone();
      f[pname] = q;
      q.data<double>()[k] = saved + eps;
      double up = values(interp::run(forward, f)->outputs.at("loss"))[0];
      q.data<double>()[k] = saved - eps;
      double down = values(interp::run(forward, f)->outputs.at("loss"))[0];
      double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(analytic[k], numeric, tolerance * (1 + std::fabs(numeric)))
          << pname << "[" << k << "]";
    }
  }
}

} // namespace bdl::irtest
