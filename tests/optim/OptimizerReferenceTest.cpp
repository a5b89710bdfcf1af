// Every optimizer and option combination in reference.json, run through the
// factory for 10 steps on the same weights and gradients torch saw, compared
// step by step (weights) and at the end (state buffers, step count).
#include "runtime/optim/Optimizer.h"
#include "runtime/optim/OptimizerFactory.h"
#include "tests/optim/ReferenceData.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace bdl::optim {
namespace {

using testing::describe;
using testing::floats;
using testing::namedArgs;
using testing::reference;

constexpr double kTolerance = 1e-6;
// The kernels reproduce ATen's roundings (FusedKernels.cpp), so on x86-64 the
// results are bit-identical and the worst error printed is 0; the tolerance
// leaves room for another libm's pow in the bias corrections.
constexpr double kFloorFraction = 1e-3;

// Relative error, with the floor at 1e-3 of the vector's largest magnitude so
// elements that are tiny compared to their neighbours (a state buffer fed a
// 1e-4-scaled gradient) are judged on the vector's scale.
double maxRelativeError(std::span<const float> actual, const nlohmann::json& expected) {
  double scale = 0;
  for (const auto& v : expected) scale = std::max(scale, std::fabs(v.get<double>()));
  const double floor = std::max(scale * kFloorFraction, 1e-30);
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i)
    worst = std::max(worst, testing::relativeError(actual[i], expected[i].get<double>(), floor));
  return worst;
}

TEST(OptimizerReference, MatchesTorchForEveryCase) {
  const auto& ref = reference();
  ASSERT_GE(ref["optimizer_cases"].size(), 80u) << "reference.json looks truncated";
  double worstOverall = 0;
  for (const auto& c : ref["optimizer_cases"]) {
    SCOPED_TRACE(describe(c));
    const auto& input = ref["inputs"][std::to_string(c["size"].get<int>())];
    std::vector<float> weights = floats(input["weights"]);
    const auto n = static_cast<int64_t>(weights.size());
    auto opt = makeOptimizer(c["optimizer"].get<std::string>(), namedArgs(c["args"]), {0, n});
    ASSERT_TRUE(opt.ok()) << opt.message();

    const auto& trajectory = c["weights_after_step"];
    const size_t steps = ref["steps"];
    const size_t firstChecked = steps - trajectory.size(); // n != 37 keeps only the last step
    for (size_t step = 0; step < steps; ++step) {
      const std::vector<float> grads = floats(input["grads"][step]);
      const double lr = c.contains("lrs") ? c["lrs"][step].get<double>() : opt->config().lr;
      ASSERT_TRUE(opt->step(weights, grads, lr).ok());
      if (step < firstChecked) continue;
      const double err = maxRelativeError(weights, trajectory[step - firstChecked]);
      worstOverall = std::max(worstOverall, err);
      ASSERT_LE(err, kTolerance) << "weights after step " << step + 1;
    }
    EXPECT_EQ(opt->stepCount(), static_cast<int64_t>(steps));
    if (c.contains("torch_step")) {
      EXPECT_EQ(opt->stepCount(), c["torch_step"].get<int64_t>());
    }

    // Same buffers by name as torch's state dict, same values.
    const std::vector<std::string> names = stateBufferNames(opt->config());
    EXPECT_EQ(names.size(), c["state"].size());
    for (const auto& [name, values] : c["state"].items()) {
      SCOPED_TRACE("state buffer " + name);
      std::span<const float> mine = opt->buffer(name);
      ASSERT_EQ(mine.size(), values.size());
      const double err = maxRelativeError(mine, values);
      worstOverall = std::max(worstOverall, err);
      EXPECT_LE(err, kTolerance);
    }
  }
  RecordProperty("worst_relative_error", std::to_string(worstOverall));
  std::printf("worst relative error against torch: %.3g\n", worstOverall);
}

TEST(OptimizerReference, WrongSpanLengthIsAnErrorAndChangesNothing) {
  auto opt = makeOptimizer("adam", {{"lr", 0.1}}, {5, 3});
  ASSERT_TRUE(opt.ok());
  std::vector<float> w(4, 1.0f), g(3, 1.0f);
  Status s = opt->step(w, g);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("weights has 4 elements but the optimizer's block [5, 8) has 3"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(opt->stepCount(), 0);
  EXPECT_EQ(w, std::vector<float>(4, 1.0f));
  std::vector<float> w3(3, 1.0f), g2(2, 1.0f);
  EXPECT_FALSE(opt->step(w3, g2).ok());
  EXPECT_FALSE(opt->step(w3, std::vector<float>(3, 1.0f), -1.0).ok()) << "negative lr";
  EXPECT_FALSE(opt->step(w3, std::vector<float>(3, 1.0f), NAN).ok()) << "NaN lr";
  std::vector<float> both(4, 1.0f);
  Status overlap = opt->step(std::span(both).subspan(0, 3), std::span<const float>(both).subspan(1, 3));
  EXPECT_NE(overlap.message().find("overlap"), std::string::npos) << overlap.message();
  EXPECT_EQ(opt->stepCount(), 0);
  // Adjacent, non-overlapping halves of one buffer are fine.
  auto pair = makeOptimizer("sgd", {{"lr", 0.5}}, {0, 2}).value();
  EXPECT_TRUE(pair.step(std::span(both).subspan(0, 2), std::span<const float>(both).subspan(2, 2)).ok());
  EXPECT_EQ(both, (std::vector<float>{0.5f, 0.5f, 1.0f, 1.0f}));
}

TEST(OptimizerReference, EmptyBlockStepsWithoutTouchingMemory) {
  for (std::string_view name : optimizerNames()) {
    auto opt = makeOptimizer(name, {{"lr", 0.1}}, {7, 0});
    ASSERT_TRUE(opt.ok()) << name;
    EXPECT_TRUE(opt->step({}, {}).ok());
    EXPECT_EQ(opt->stepCount(), 1);
  }
}

} // namespace
} // namespace bdl::optim
