// One table of (schedule, argument, type, required) drives parsing, defaults
// and the hints in error messages.
#include "runtime/optim/ScheduleFactory.h"

#include "runtime/optim/NameHints.h"

#include <algorithm>
#include <sstream>

namespace bdl::optim {
namespace {

enum class ArgType { Number, Duration, Schedule };

struct ScheduleArgSpec {
  std::string_view schedule;
  std::string_view name;
  ArgType type;
  bool required;
};

constexpr ScheduleArgSpec kArgs[] = {
    {"step_lr", "every", ArgType::Duration, true},
    {"step_lr", "gamma", ArgType::Number, false},
    {"cosine", "total", ArgType::Duration, true},
    {"cosine", "eta_min", ArgType::Number, false},
    {"warmup", "steps", ArgType::Duration, true},
    {"warmup", "then", ArgType::Schedule, false},
    {"exponential", "gamma", ArgType::Number, true},
};

constexpr std::string_view kNames[] = {"constant", "step_lr", "cosine", "warmup", "exponential"};

std::string_view typeText(ArgType t) {
  switch (t) {
  case ArgType::Number: return "a number";
  case ArgType::Duration: return "a duration like `2 epochs` or `500 iterations`";
  case ArgType::Schedule: return "a schedule";
  }
  return "?";
}

std::vector<std::string_view> argNames(std::string_view schedule) {
  std::vector<std::string_view> names;
  for (const auto& a : kArgs)
    if (a.schedule == schedule) names.push_back(a.name);
  return names;
}

} // namespace

std::string ScheduleArgValue::text() const {
  if (const auto* d = std::get_if<Duration>(&value_))
    return std::to_string(d->count) + (d->unit == DurationUnit::Epochs ? " epochs" : " iterations");
  if (std::holds_alternative<Schedule>(value_)) return "a schedule";
  std::ostringstream out;
  out << std::get<double>(value_);
  return out.str();
}

std::vector<std::string_view> scheduleNames() { return {std::begin(kNames), std::end(kNames)}; }

Result<Schedule> makeSchedule(std::string_view name, const std::vector<NamedScheduleArg>& args) {
  const std::string sched(name);
  if (std::find(std::begin(kNames), std::end(kNames), name) == std::end(kNames)) {
    std::string msg = "unknown schedule '" + sched + "'";
    if (std::string_view near = closestName(name, scheduleNames()); !near.empty())
      msg += "; did you mean '" + std::string(near) + "'?";
    else
      msg += "; known schedules: " + joinNames(scheduleNames());
    return Error{msg};
  }
  // Torch's defaults: StepLR gamma 0.1, eta_min 0; warmup then constant.
  double gamma = 0.1, etaMin = 0.0;
  Duration duration;
  Schedule then = Schedule::constant();
  std::vector<std::string_view> given;
  for (const NamedScheduleArg& arg : args) {
    const auto* spec = std::find_if(std::begin(kArgs), std::end(kArgs), [&](const ScheduleArgSpec& s) {
      return s.schedule == name && s.name == arg.name;
    });
    if (spec == std::end(kArgs)) {
      const auto valid = argNames(name);
      std::string msg = sched + " has no argument '" + arg.name + "'";
      if (valid.empty())
        msg += "; it takes none";
      else if (std::string_view near = closestName(arg.name, valid); !near.empty())
        msg += "; did you mean '" + std::string(near) + "'?";
      else
        msg += "; it takes " + joinNames(valid);
      return Error{msg};
    }
    if (std::find(given.begin(), given.end(), spec->name) != given.end())
      return Error{sched + ": argument '" + arg.name + "' is given twice"};
    given.push_back(spec->name);
    const auto& v = arg.value.get();
    const bool typeOk = (spec->type == ArgType::Number && std::holds_alternative<double>(v)) ||
                        (spec->type == ArgType::Duration && std::holds_alternative<Duration>(v)) ||
                        (spec->type == ArgType::Schedule && std::holds_alternative<Schedule>(v));
    if (!typeOk)
      return Error{sched + ": " + arg.name + " must be " + std::string(typeText(spec->type)) + ", got " +
                   arg.value.text()};
    if (spec->type == ArgType::Duration) duration = std::get<Duration>(v);
    else if (spec->type == ArgType::Schedule) then = std::get<Schedule>(v);
    else if (spec->name == "gamma") gamma = std::get<double>(v);
    else etaMin = std::get<double>(v);
  }
  for (const auto& spec : kArgs)
    if (spec.schedule == name && spec.required &&
        std::find(given.begin(), given.end(), spec.name) == given.end())
      return Error{sched + " needs '" + std::string(spec.name) + "' (" + std::string(typeText(spec.type)) + ")"};

  Schedule s;
  if (name == "constant") s = Schedule::constant();
  else if (name == "step_lr") s = Schedule::stepLr(duration, gamma);
  else if (name == "cosine") s = Schedule::cosine(duration, etaMin);
  else if (name == "warmup") s = Schedule::warmup(duration, std::move(then));
  else s = Schedule::exponential(gamma);
  if (Status st = validateSchedule(s); !st.ok()) return Error{st.message()};
  return s;
}

} // namespace bdl::optim
