// Schedules against torch.optim.lr_scheduler (reference.json), plus the cases
// torch cannot express or where BDL chose differently (documented in
// Schedule.h): cosine stays at eta_min after its total, mixed units in warmup.
#include "runtime/optim/Schedule.h"
#include "tests/optim/ReferenceData.h"

#include <gtest/gtest.h>

#include <cmath>

namespace bdl::optim {
namespace {

TrainingPosition at(int64_t iteration, int64_t ipe) { return {iteration, iteration / ipe, ipe}; }

TEST(Schedule, MatchesTorchSchedulers) {
  const auto& ref = testing::reference()["schedules"];
  const double base = ref["base_lr"];
  const int64_t ipe = ref["iterations_per_epoch"];
  ASSERT_GE(ref["cases"].size(), 12u);
  for (const auto& c : ref["cases"]) {
    SCOPED_TRACE(c["schedule"].dump());
    const Schedule s = testing::scheduleFromJson(c["schedule"]);
    ASSERT_TRUE(validateSchedule(s).ok()) << validateSchedule(s).message();
    const auto& lrs = c["lrs"];
    for (size_t i = 0; i < lrs.size(); ++i) {
      const double expected = lrs[i];
      const double got = learningRate(s, base, at(static_cast<int64_t>(i), ipe));
      EXPECT_NEAR(got, expected, 1e-12 + 1e-9 * expected) << "iteration " << i;
    }
  }
}

TEST(Schedule, CosineStaysAtEtaMinAfterTotal) {
  const Schedule s = Schedule::cosine(Duration::iterations(10), 0.01);
  EXPECT_DOUBLE_EQ(learningRate(s, 1.0, at(0, 5)), 1.0);
  EXPECT_NEAR(learningRate(s, 1.0, at(5, 5)), 0.01 + 0.99 * 0.5, 1e-15);
  EXPECT_DOUBLE_EQ(learningRate(s, 1.0, at(10, 5)), 0.01);
  EXPECT_DOUBLE_EQ(learningRate(s, 1.0, at(11, 5)), 0.01);
  EXPECT_DOUBLE_EQ(learningRate(s, 1.0, at(1000, 5)), 0.01);
}

TEST(Schedule, WarmupEdgesAndMixedUnits) {
  // warmup(1) is one step at full lr, then the inner schedule from its start.
  const Schedule one = Schedule::warmup(Duration::iterations(1), Schedule::stepLr(Duration::iterations(1), 0.5));
  EXPECT_DOUBLE_EQ(learningRate(one, 0.8, at(0, 10)), 0.8);
  EXPECT_DOUBLE_EQ(learningRate(one, 0.8, at(1, 10)), 0.8);
  EXPECT_DOUBLE_EQ(learningRate(one, 0.8, at(2, 10)), 0.4);

  // 6 warmup iterations, then a schedule in epochs (ipe 4): the inner epoch
  // counts from the end of the warmup, 4 iterations at a time.
  const Schedule mixed = Schedule::warmup(Duration::iterations(6), Schedule::stepLr(Duration::epochs(1), 0.5));
  EXPECT_DOUBLE_EQ(learningRate(mixed, 1.0, at(0, 4)), 1.0 / 6);
  EXPECT_DOUBLE_EQ(learningRate(mixed, 1.0, at(5, 4)), 1.0);
  for (int64_t i = 6; i < 10; ++i) EXPECT_DOUBLE_EQ(learningRate(mixed, 1.0, at(i, 4)), 1.0) << i;
  for (int64_t i = 10; i < 14; ++i) EXPECT_DOUBLE_EQ(learningRate(mixed, 1.0, at(i, 4)), 0.5) << i;
  EXPECT_DOUBLE_EQ(learningRate(mixed, 1.0, at(14, 4)), 0.25);

  // 1 warmup epoch, then a schedule in iterations.
  const Schedule epochThenIters =
      Schedule::warmup(Duration::epochs(1), Schedule::stepLr(Duration::iterations(2), 0.1));
  EXPECT_DOUBLE_EQ(learningRate(epochThenIters, 1.0, at(3, 4)), 1.0);
  EXPECT_DOUBLE_EQ(learningRate(epochThenIters, 1.0, at(5, 4)), 1.0);
  EXPECT_NEAR(learningRate(epochThenIters, 1.0, at(6, 4)), 0.1, 1e-16);
}

TEST(Schedule, PureFunctionOfPosition) {
  // Asking out of order, or twice, gives the same answers: no hidden counter.
  const Schedule s = Schedule::warmup(Duration::iterations(3), Schedule::cosine(Duration::epochs(5)));
  const double later = learningRate(s, 0.3, at(17, 4));
  EXPECT_DOUBLE_EQ(learningRate(s, 0.3, at(2, 4)), 0.3);
  EXPECT_DOUBLE_EQ(learningRate(s, 0.3, at(17, 4)), later);
}

TEST(Schedule, DurationConversion) {
  EXPECT_EQ(Duration::epochs(3).inIterations(100), 300);
  EXPECT_EQ(Duration::iterations(7).inIterations(100), 7);
}

TEST(Schedule, ValidationNamesTheProblem) {
  auto message = [](const Schedule& s) { return validateSchedule(s).message(); };
  EXPECT_TRUE(validateSchedule(Schedule::constant()).ok());
  EXPECT_EQ(message(Schedule::stepLr(Duration::epochs(0), 0.5)),
            "step_lr: its duration must be a positive count of epochs or iterations, got 0");
  EXPECT_EQ(message(Schedule::stepLr(Duration::epochs(2), -0.5)), "step_lr: gamma must be positive, got -0.5");
  EXPECT_EQ(message(Schedule::exponential(0)), "exponential: gamma must be positive, got 0");
  EXPECT_EQ(message(Schedule::cosine(Duration::iterations(-3))),
            "cosine: its duration must be a positive count of epochs or iterations, got -3");
  EXPECT_EQ(message(Schedule::cosine(Duration::iterations(3), -1)),
            "cosine: eta_min must be finite and >= 0, got -1");
  EXPECT_EQ(message(Schedule::warmup(Duration::iterations(3), Schedule::exponential(NAN))),
            "warmup(then = ...): exponential: gamma must be positive, got nan");
  Schedule noInner = Schedule::warmup(Duration::iterations(3));
  noInner.then.clear();
  EXPECT_EQ(message(noInner), "warmup: needs exactly one schedule after it (then = ...)");
}

} // namespace
} // namespace bdl::optim
