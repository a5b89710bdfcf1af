#include "tests/optim/ReferenceData.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace bdl::optim::testing {

const nlohmann::json& reference() {
  static const nlohmann::json data = [] {
    const char* root = std::getenv("BDL_SOURCE_DIR");
    const std::string path = std::string(root ? root : ".") + "/tests/optim/reference.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path + " (set BDL_SOURCE_DIR to the repo root)");
    return nlohmann::json::parse(in);
  }();
  return data;
}

std::vector<float> floats(const nlohmann::json& array) {
  std::vector<float> out;
  out.reserve(array.size());
  for (const auto& v : array) out.push_back(static_cast<float>(v.get<double>()));
  return out;
}

std::vector<NamedArg> namedArgs(const nlohmann::json& args) {
  std::vector<NamedArg> out;
  for (const auto& [name, value] : args.items()) {
    if (value.is_boolean())
      out.push_back({name, ArgValue(value.get<bool>())});
    else
      out.push_back({name, ArgValue(value.get<double>())});
  }
  return out;
}

std::string describe(const nlohmann::json& c) {
  std::string text = c["optimizer"].get<std::string>() + "(";
  bool first = true;
  for (const auto& [name, value] : c["args"].items()) {
    text += (first ? "" : ", ") + name + "=" + value.dump();
    first = false;
  }
  text += ") n=" + std::to_string(c["size"].get<int>());
  if (c.contains("lrs")) text += " with a varying lr";
  return text;
}

Schedule scheduleFromJson(const nlohmann::json& s) {
  const std::string kind = s["kind"];
  const Duration duration{s["count"].get<int64_t>(),
                          s["unit"] == "epochs" ? DurationUnit::Epochs : DurationUnit::Iterations};
  if (kind == "constant") return Schedule::constant();
  if (kind == "step_lr") return Schedule::stepLr(duration, s["gamma"]);
  if (kind == "exponential") return Schedule::exponential(s["gamma"]);
  if (kind == "cosine") return Schedule::cosine(duration, s["eta_min"]);
  if (kind == "warmup") return Schedule::warmup(duration, scheduleFromJson(s["then"]));
  throw std::runtime_error("reference.json: unknown schedule kind " + kind);
}

double relativeError(float actual, double expected, double floor) {
  return std::fabs(static_cast<double>(actual) - expected) / std::max(std::fabs(expected), floor);
}

} // namespace bdl::optim::testing
