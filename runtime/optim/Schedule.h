// Learning-rate schedules as pure functions of where training is (iteration,
// epoch, iterations per epoch): no hidden counters, so a resumed job gets the
// same rate from the same position.
//
// Unit rule: a schedule whose duration is in epochs moves once per epoch,
// like a torch.optim.lr_scheduler stepped at the end of each epoch; one in
// iterations moves every iteration, like a scheduler stepped every batch.
//   constant              lr                          (no scheduler)
//   step_lr(every N, g)   lr * g^floor(t / N)         StepLR(step_size=N, gamma=g)
//   exponential(g)        lr * g^epoch                ExponentialLR(gamma=g), per epoch
//   cosine(T, eta_min)    eta_min + (lr - eta_min)(1 + cos(pi t / T)) / 2 for t <= T,
//                         eta_min after T             CosineAnnealingLR(T_max=T, eta_min)
//                         (torch's curve rises again past T; annealing "to eta_min"
//                         means it stays there)
//   warmup(S, then = s)   lr * (t + 1) / S for t < S, then s at t - S
//                         SequentialLR([LinearLR(start_factor=1/S, end_factor=1,
//                         total_iters=S-1), s], milestones=[S])
//     The warmup starts at lr/S, not 0: the first step already moves the
//     weights, and it reaches lr exactly on its last step (t = S - 1).
#pragma once

#include "runtime/optim/Result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bdl::optim {

enum class DurationUnit : uint8_t { Iterations, Epochs };

// "2 epochs", "500 iterations".
struct Duration {
  int64_t count = 0;
  DurationUnit unit = DurationUnit::Epochs;

  static Duration epochs(int64_t n) { return {n, DurationUnit::Epochs}; }
  static Duration iterations(int64_t n) { return {n, DurationUnit::Iterations}; }
  int64_t inIterations(int64_t iterationsPerEpoch) const {
    return unit == DurationUnit::Epochs ? count * iterationsPerEpoch : count;
  }
};

// Where training is: the 0-based global iteration (optimizer step) about to
// run, the 0-based epoch it belongs to, and how many iterations an epoch has.
struct TrainingPosition {
  int64_t iteration = 0;
  int64_t epoch = 0;
  int64_t iterationsPerEpoch = 1;
};

enum class ScheduleKind : uint8_t { Constant, StepLr, Cosine, Warmup, Exponential };

struct Schedule {
  ScheduleKind kind = ScheduleKind::Constant;
  Duration duration;     // step_lr: every; cosine: total; warmup: steps
  double gamma = 1.0;    // step_lr, exponential
  double etaMin = 0.0;   // cosine
  std::vector<Schedule> then; // warmup: the one schedule that follows it

  static Schedule constant() { return {}; }
  static Schedule stepLr(Duration every, double gamma);
  static Schedule cosine(Duration total, double etaMin = 0.0);
  static Schedule warmup(Duration steps, Schedule then = constant());
  static Schedule exponential(double gamma);
};

// Checks counts (> 0), gamma (> 0, finite), eta_min (finite, >= 0) and
// warmup's inner schedule; messages name the schedule and the field.
Status validateSchedule(const Schedule& schedule);

// The learning rate at `at` for base rate `baseLr`. Positions before 0 (a
// warmup's inner schedule is never asked for one) count as 0.
double learningRate(const Schedule& schedule, double baseLr, TrainingPosition at);

} // namespace bdl::optim
