// Closed forms of the torch schedulers named in Schedule.h. Torch computes
// cosine and linear warmup recursively; the closed forms agree with it to
// ~1e-15 relative.
#include "runtime/optim/Schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

namespace bdl::optim {
namespace {

std::string_view scheduleName(ScheduleKind k) {
  switch (k) {
  case ScheduleKind::Constant: return "constant";
  case ScheduleKind::StepLr: return "step_lr";
  case ScheduleKind::Cosine: return "cosine";
  case ScheduleKind::Warmup: return "warmup";
  case ScheduleKind::Exponential: return "exponential";
  }
  return "?";
}

std::string numberText(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// The schedule's own clock: epochs or iterations, by the duration's unit.
int64_t clock(DurationUnit unit, TrainingPosition at) {
  return std::max<int64_t>(0, unit == DurationUnit::Epochs ? at.epoch : at.iteration);
}

} // namespace

Schedule Schedule::stepLr(Duration every, double gamma) {
  Schedule s;
  s.kind = ScheduleKind::StepLr;
  s.duration = every;
  s.gamma = gamma;
  return s;
}

Schedule Schedule::cosine(Duration total, double etaMin) {
  Schedule s;
  s.kind = ScheduleKind::Cosine;
  s.duration = total;
  s.etaMin = etaMin;
  return s;
}

Schedule Schedule::warmup(Duration steps, Schedule then) {
  Schedule s;
  s.kind = ScheduleKind::Warmup;
  s.duration = steps;
  s.then.push_back(std::move(then));
  return s;
}

Schedule Schedule::exponential(double gamma) {
  Schedule s;
  s.kind = ScheduleKind::Exponential;
  s.gamma = gamma;
  return s;
}

Status validateSchedule(const Schedule& s) {
  const std::string name(scheduleName(s.kind));
  const bool usesDuration = s.kind == ScheduleKind::StepLr || s.kind == ScheduleKind::Cosine ||
                            s.kind == ScheduleKind::Warmup;
  if (usesDuration && s.duration.count <= 0)
    return Error{name + ": its duration must be a positive count of epochs or iterations, got " +
                 std::to_string(s.duration.count)};
  if ((s.kind == ScheduleKind::StepLr || s.kind == ScheduleKind::Exponential) &&
      !(std::isfinite(s.gamma) && s.gamma > 0))
    return Error{name + ": gamma must be positive, got " + numberText(s.gamma)};
  if (s.kind == ScheduleKind::Cosine && !(std::isfinite(s.etaMin) && s.etaMin >= 0))
    return Error{name + ": eta_min must be finite and >= 0, got " + numberText(s.etaMin)};
  if (s.kind == ScheduleKind::Warmup) {
    if (s.then.size() != 1) return Error{"warmup: needs exactly one schedule after it (then = ...)"};
    if (Status inner = validateSchedule(s.then.front()); !inner.ok())
      return Error{"warmup(then = ...): " + inner.message()};
  } else if (!s.then.empty()) {
    return Error{name + ": only warmup takes a following schedule"};
  }
  return Status::success();
}

double learningRate(const Schedule& s, double baseLr, TrainingPosition at) {
  switch (s.kind) {
  case ScheduleKind::Constant: return baseLr;
  case ScheduleKind::StepLr: {
    const int64_t every = std::max<int64_t>(1, s.duration.count);
    return baseLr * std::pow(s.gamma, static_cast<double>(clock(s.duration.unit, at) / every));
  }
  case ScheduleKind::Exponential:
    return baseLr * std::pow(s.gamma, static_cast<double>(clock(DurationUnit::Epochs, at)));
  case ScheduleKind::Cosine: {
    const int64_t total = std::max<int64_t>(1, s.duration.count);
    const int64_t t = std::min(clock(s.duration.unit, at), total);
    return s.etaMin + (baseLr - s.etaMin) *
                          (1.0 + std::cos(std::numbers::pi * static_cast<double>(t) /
                                          static_cast<double>(total))) / 2.0;
  }
  case ScheduleKind::Warmup: {
    const int64_t steps = std::max<int64_t>(1, s.duration.count);
    const int64_t t = clock(s.duration.unit, at);
    if (t < steps) return baseLr * static_cast<double>(t + 1) / static_cast<double>(steps);
    if (s.then.empty()) return baseLr;
    // The inner schedule starts at 0 when the warmup ends.
    TrainingPosition inner = at;
    const int64_t ipe = std::max<int64_t>(1, at.iterationsPerEpoch);
    if (s.duration.unit == DurationUnit::Epochs) {
      inner.epoch = at.epoch - steps;
      inner.iteration = at.iteration - steps * ipe;
    } else {
      inner.iteration = at.iteration - steps;
      inner.epoch = inner.iteration / ipe;
    }
    return learningRate(s.then.front(), baseLr, inner);
  }
  }
  return baseLr;
}

} // namespace bdl::optim
