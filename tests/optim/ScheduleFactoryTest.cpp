// makeSchedule: the compiler's names and values in, a Schedule or a clear
// error out; the built schedules behave like the ones made by hand.
#include "runtime/optim/ScheduleFactory.h"

#include <gtest/gtest.h>

namespace bdl::optim {
namespace {

void expectError(const Result<Schedule>& r, std::string_view expected) {
  ASSERT_FALSE(r.ok()) << "expected the error: " << expected;
  EXPECT_EQ(r.message(), expected);
}

TrainingPosition at(int64_t iteration, int64_t ipe) { return {iteration, iteration / ipe, ipe}; }

TEST(ScheduleFactory, BuildsEverySchedule) {
  auto step = makeSchedule("step_lr", {{"every", Duration::epochs(2)}, {"gamma", 0.5}});
  ASSERT_TRUE(step.ok()) << step.message();
  EXPECT_EQ(step->kind, ScheduleKind::StepLr);
  EXPECT_DOUBLE_EQ(learningRate(step.value(), 1.0, at(8, 4)), 0.5);
  EXPECT_DOUBLE_EQ(makeSchedule("step_lr", {{"every", Duration::epochs(1)}})->gamma, 0.1) << "torch's default";

  auto cosine = makeSchedule("cosine", {{"total", Duration::iterations(10)}, {"eta_min", 0.01}});
  ASSERT_TRUE(cosine.ok());
  EXPECT_DOUBLE_EQ(learningRate(cosine.value(), 1.0, at(10, 4)), 0.01);

  auto warm = makeSchedule("warmup", {{"steps", Duration::iterations(4)}, {"then", cosine.value()}});
  ASSERT_TRUE(warm.ok());
  EXPECT_DOUBLE_EQ(learningRate(warm.value(), 1.0, at(0, 4)), 0.25);
  EXPECT_DOUBLE_EQ(learningRate(warm.value(), 1.0, at(14, 4)), 0.01);
  auto warmAlone = makeSchedule("warmup", {{"steps", Duration::epochs(1)}});
  ASSERT_TRUE(warmAlone.ok());
  EXPECT_EQ(warmAlone->then.front().kind, ScheduleKind::Constant);

  EXPECT_DOUBLE_EQ(learningRate(makeSchedule("exponential", {{"gamma", 0.5}}).value(), 1.0, at(8, 4)), 0.25);
  EXPECT_EQ(makeSchedule("constant", {})->kind, ScheduleKind::Constant);
}

TEST(ScheduleFactory, ErrorsNameTheProblem) {
  expectError(makeSchedule("step", {}), "unknown schedule 'step'; did you mean 'step_lr'?");
  expectError(makeSchedule("onecycle", {}),
              "unknown schedule 'onecycle'; known schedules: constant, step_lr, cosine, warmup, exponential");
  expectError(makeSchedule("step_lr", {{"evry", Duration::epochs(2)}}),
              "step_lr has no argument 'evry'; did you mean 'every'?");
  expectError(makeSchedule("constant", {{"gamma", 0.5}}), "constant has no argument 'gamma'; it takes none");
  expectError(makeSchedule("step_lr", {{"gamma", 0.5}}),
              "step_lr needs 'every' (a duration like `2 epochs` or `500 iterations`)");
  expectError(makeSchedule("step_lr", {{"every", 2}}),
              "step_lr: every must be a duration like `2 epochs` or `500 iterations`, got 2");
  expectError(makeSchedule("exponential", {{"gamma", Duration::epochs(1)}}),
              "exponential: gamma must be a number, got 1 epochs");
  expectError(makeSchedule("warmup", {{"steps", Duration::iterations(3)}, {"then", 0.5}}),
              "warmup: then must be a schedule, got 0.5");
  expectError(makeSchedule("exponential", {{"gamma", 0.5}, {"gamma", 0.6}}),
              "exponential: argument 'gamma' is given twice");
  expectError(makeSchedule("cosine", {{"total", Duration::epochs(0)}}),
              "cosine: its duration must be a positive count of epochs or iterations, got 0");
  expectError(makeSchedule("exponential", {{"gamma", -2}}), "exponential: gamma must be positive, got -2");
}

} // namespace
} // namespace bdl::optim
