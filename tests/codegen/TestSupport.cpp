#include "tests/codegen/TestSupport.h"

#include "compiler/ir/Random.h"
#include "compiler/ir/Verifier.h"
#include "compiler/ir/ops/Common.h"
#include "compiler/passes/Autodiff.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace bdl::codegentest {

using namespace bdl::ir;

Tensor randomTensor(DType dtype, const Shape& shape, uint64_t seed, double lo, double hi) {
  std::vector<double> v(static_cast<size_t>(numElements(shape)));
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = lo + (hi - lo) * randomUniform(mix64(seed + 1), i);
    if (!isFloating(dtype)) v[i] = std::floor(v[i]);
  }
  return ops::fromDoubles(dtype, shape, v);
}

interp::Feeds randomFeeds(const Graph& g, uint64_t seed, int64_t labelRange) {
  interp::Feeds feeds = interp::initialParameters(g, seed);
  for (ValueId id : g.leaves(OpKind::Input)) {
    const Node& n = g.node(id);
    Shape s = *n.type.shape();
    feeds[n.name] = isFloating(n.type.dtype) ? randomTensor(n.type.dtype, s, seed + id)
                                             : randomTensor(n.type.dtype, s, seed + id, 0, static_cast<double>(labelRange));
  }
  return feeds;
}

double relativeDifference(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return std::numeric_limits<double>::infinity();
  std::vector<double> x = ops::toDoubles(a), y = ops::toDoubles(b);
  double scale = 1, worst = 0;
  for (double v : y) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) && std::isnan(y[i])) continue;
    double d = std::fabs(x[i] - y[i]);
    if (std::isnan(d)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, d / scale);
  }
  return worst;
}

std::map<std::string, Tensor> jitOutputs(const Graph& g, const interp::Feeds& feeds, int threads) {
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.threads = threads;
  opts.cacheDir = "-";
  auto exe = exec::compile(g, opts);
  EXPECT_TRUE(exe.ok()) << exe.error().message;
  if (!exe.ok()) return {};
  auto got = (*exe)->run(feeds);
  EXPECT_TRUE(got.ok()) << got.error().message;
  return got.ok() ? got->outputs : std::map<std::string, Tensor>{};
}

codegen::JitStats expectSameAsReference(const Graph& g, const interp::Feeds& feeds, double tolerance, JitRun how) {
  auto ref = interp::run(g, feeds);
  EXPECT_TRUE(ref.ok()) << ref.error().message;
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.fusion = how.fusion;
  opts.threads = how.threads;
  opts.cacheDir = "-";
  opts.checkAgainstReference = how.check;
  auto exe = exec::compile(g, opts);
  EXPECT_TRUE(exe.ok()) << exe.error().message;
  if (!ref.ok() || !exe.ok()) return {};
  auto got = (*exe)->run(feeds);
  EXPECT_TRUE(got.ok()) << got.error().message;
  if (!got.ok()) return {};
  EXPECT_EQ(got->outputs.size(), ref->outputs.size());
  EXPECT_EQ(got->stateUpdates.size(), ref->stateUpdates.size());
  for (const auto& [name, want] : ref->outputs) {
    auto it = got->outputs.find(name);
    if (it == got->outputs.end()) {
      ADD_FAILURE() << "missing output " << name;
      continue;
    }
    EXPECT_LE(relativeDifference(it->second, want), tolerance) << "output " << name;
  }
  for (const auto& [name, want] : ref->stateUpdates) {
    auto it = got->stateUpdates.find(name);
    if (it == got->stateUpdates.end()) {
      ADD_FAILURE() << "missing state update " << name;
      continue;
    }
    EXPECT_LE(relativeDifference(it->second, want), tolerance) << "state " << name;
  }
  return *codegen::jitStats(**exe);
}

codegen::JitStats checkOp(const std::string& name, const std::vector<ParamSpec>& params, const BuildFn& build,
                          double tolerance) {
  SCOPED_TRACE(name);
  GraphBuilder b;
  std::vector<ValueId> ids;
  for (size_t i = 0; i < params.size(); ++i)
    ids.push_back(*b.parameter("p" + std::to_string(i), TensorType{DType::F32, dimsOf(params[i].shape)},
                               Initializer::zeros()));
  auto y = build(b, ids);
  EXPECT_TRUE(y.ok()) << y.error().message;
  if (!y.ok()) return {};
  bool differentiable = isFloating(b.type(*y).dtype);
  ValueId yf = differentiable ? *y : *b.cast(*y, DType::F32);
  ValueId r = b.constant(randomTensor(DType::F32, *b.type(yf).shape(), 99));
  ValueId loss = *b.sum(*b.mul(yf, r));
  EXPECT_TRUE(b.output("y", *y).ok());
  EXPECT_TRUE(b.output("loss", loss).ok());
  Graph forward = b.finish();
  EXPECT_EQ(verifyGraph(forward), std::vector<std::string>{});
  auto training = passes::buildTrainingGraph(forward);
  EXPECT_TRUE(training.ok()) << training.error().message;
  if (!training.ok()) return {};
  interp::Feeds feeds = interp::initialParameters(forward, 0);
  for (size_t i = 0; i < params.size(); ++i)
    feeds["p" + std::to_string(i)] = randomTensor(DType::F32, params[i].shape, 7 + i, params[i].lo, params[i].hi);
  codegen::JitStats stats = expectSameAsReference(*training, feeds, tolerance, {true, 1, false});
  {
    SCOPED_TRACE("no fusion, 2 threads");
    expectSameAsReference(*training, feeds, tolerance, {false, 2, false});
  }
  return stats;
}

} // namespace bdl::codegentest
