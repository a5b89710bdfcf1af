// Builds a schedule from a name and named arguments as the compiler hands
// them over (`step_lr(every = 2 epochs, gamma = 0.5)`), with torch's defaults
// and clear errors as values:
//   auto s = makeSchedule("warmup", {{"steps", Duration::iterations(500)},
//                                    {"then", makeSchedule("cosine", {{"total", Duration::epochs(10)}}).value()}});
#pragma once

#include "runtime/optim/Result.h"
#include "runtime/optim/Schedule.h"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bdl::optim {

// A number, a duration (`2 epochs`) or a schedule (warmup's `then`).
class ScheduleArgValue {
public:
  ScheduleArgValue(double v) : value_(v) {}
  ScheduleArgValue(int v) : value_(static_cast<double>(v)) {}
  ScheduleArgValue(Duration d) : value_(d) {}
  ScheduleArgValue(Schedule s) : value_(std::move(s)) {}
  const std::variant<double, Duration, Schedule>& get() const { return value_; }
  std::string text() const; // "0.5", "2 epochs", "a schedule"

private:
  std::variant<double, Duration, Schedule> value_;
};

struct NamedScheduleArg {
  std::string name;
  ScheduleArgValue value;
};

// constant(); step_lr(every: duration, gamma = 0.1); cosine(total: duration,
// eta_min = 0); warmup(steps: duration, then: schedule = constant);
// exponential(gamma). Arguments without a default are required.
Result<Schedule> makeSchedule(std::string_view name, const std::vector<NamedScheduleArg>& args);

std::vector<std::string_view> scheduleNames();

} // namespace bdl::optim
