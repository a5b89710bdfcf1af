// Clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_, and
// the block decomposition dist uses: partial sums of squares from any split
// combine to the whole vector's norm.
#include "runtime/optim/GradClip.h"
#include "runtime/optim/OptimizerState.h"
#include "tests/optim/ReferenceData.h"

#include <gtest/gtest.h>

#include <cmath>

namespace bdl::optim {
namespace {

TEST(GradClip, NormMatchesTorch) {
  const auto& ref = testing::reference()["clipping"];
  for (const auto& c : ref["norm_cases"]) {
    SCOPED_TRACE("max_norm " + c["max_norm"].dump());
    std::vector<float> grads = testing::floats(ref["grads"]);
    const double norm = clipByGlobalNorm(grads, c["max_norm"]);
    EXPECT_NEAR(norm, c["total_norm"].get<double>(), 1e-6 * c["total_norm"].get<double>());
    for (size_t i = 0; i < grads.size(); ++i)
      EXPECT_LE(testing::relativeError(grads[i], c["clipped"][i].get<double>(), 1e-6), 1e-6) << i;
  }
}

TEST(GradClip, ValueMatchesTorch) {
  const auto& ref = testing::reference()["clipping"];
  for (const auto& c : ref["value_cases"]) {
    std::vector<float> grads = testing::floats(ref["grads"]);
    clipByValue(grads, c["clip"].get<float>());
    EXPECT_EQ(grads, testing::floats(c["clipped"])) << "clip " << c["clip"];
  }
}

TEST(GradClip, BlockPartialSumsGiveTheGlobalNorm) {
  std::vector<float> grads(1001);
  for (size_t i = 0; i < grads.size(); ++i) grads[i] = std::sin(0.37f * static_cast<float>(i)) * 3.0f;
  const double whole = sumOfSquares(grads);
  double oracle = 0;
  for (float g : grads) oracle += static_cast<double>(g) * g;
  EXPECT_NEAR(whole, oracle, 1e-12 * oracle);
  for (int64_t w = 1; w <= 5; ++w) {
    double combined = 0;
    for (BlockRange b : splitIntoBlocks(static_cast<int64_t>(grads.size()), w))
      combined += sumOfSquares(std::span<const float>(grads).subspan(static_cast<size_t>(b.offset),
                                                                     static_cast<size_t>(b.length)));
    EXPECT_NEAR(combined, whole, 1e-12 * whole) << w << " blocks";
  }
}

TEST(GradClip, EdgeSizesAndValues) {
  EXPECT_EQ(sumOfSquares({}), 0.0);
  std::vector<float> empty;
  EXPECT_EQ(clipByGlobalNorm(empty, 1.0), 0.0);
  clipByValue(empty, 1.0f);
  std::vector<float> one{-3.0f};
  EXPECT_EQ(sumOfSquares(one), 9.0);
  EXPECT_DOUBLE_EQ(clipByGlobalNorm(one, 1.0), 3.0);
  EXPECT_NEAR(one[0], -1.0f, 1e-6f);
  EXPECT_EQ(scaleFor(0.5, 1.0), 1.0) << "never scales up";
  EXPECT_NEAR(scaleFor(4.0, 1.0), 1.0 / (4.0 + 1e-6), 1e-15);
  EXPECT_TRUE(std::isnan(scaleFor(NAN, 1.0)));
  EXPECT_EQ(scaleFor(INFINITY, 1.0), 0.0);
  std::vector<float> withNan{NAN, 5.0f, -5.0f, 0.25f};
  clipByValue(withNan, 1.0f);
  EXPECT_TRUE(std::isnan(withNan[0]));
  EXPECT_EQ(withNan[1], 1.0f);
  EXPECT_EQ(withNan[2], -1.0f);
  EXPECT_EQ(withNan[3], 0.25f);
}

} // namespace
} // namespace bdl::optim
