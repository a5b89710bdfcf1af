// One table maps each BDL argument name to a field of OptimizerConfig and the
// kinds that accept it; the factory, the error hints and
// optimizerArgumentNames all read it.
#include "runtime/optim/OptimizerFactory.h"

#include "runtime/optim/NameHints.h"

#include <algorithm>
#include <sstream>

namespace bdl::optim {
namespace {

using K = OptimizerKind;

struct ArgSpec {
  std::string_view name;
  double OptimizerConfig::*number = nullptr; // exactly one of number, flag
  bool OptimizerConfig::*flag = nullptr;
  std::vector<OptimizerKind> kinds;
};

const std::vector<ArgSpec>& argTable() {
  static const std::vector<ArgSpec> table = {
      {"lr", &OptimizerConfig::lr, nullptr, {K::Sgd, K::Adam, K::AdamW, K::Adagrad, K::RmsProp}},
      {"momentum", &OptimizerConfig::momentum, nullptr, {K::Sgd, K::RmsProp}},
      {"dampening", &OptimizerConfig::dampening, nullptr, {K::Sgd}},
      {"nesterov", nullptr, &OptimizerConfig::nesterov, {K::Sgd}},
      {"beta1", &OptimizerConfig::beta1, nullptr, {K::Adam, K::AdamW}},
      {"beta2", &OptimizerConfig::beta2, nullptr, {K::Adam, K::AdamW}},
      {"eps", &OptimizerConfig::eps, nullptr, {K::Adam, K::AdamW, K::Adagrad, K::RmsProp}},
      {"amsgrad", nullptr, &OptimizerConfig::amsgrad, {K::Adam, K::AdamW}},
      {"lr_decay", &OptimizerConfig::lrDecay, nullptr, {K::Adagrad}},
      {"initial_accumulator_value", &OptimizerConfig::initialAccumulatorValue, nullptr, {K::Adagrad}},
      {"rho", &OptimizerConfig::alpha, nullptr, {K::RmsProp}},
      {"alpha", &OptimizerConfig::alpha, nullptr, {K::RmsProp}},
      {"centered", nullptr, &OptimizerConfig::centered, {K::RmsProp}},
      {"weight_decay", &OptimizerConfig::weightDecay, nullptr,
       {K::Sgd, K::Adam, K::AdamW, K::Adagrad, K::RmsProp}},
      {"maximize", nullptr, &OptimizerConfig::maximize,
       {K::Sgd, K::Adam, K::AdamW, K::Adagrad, K::RmsProp}},
  };
  return table;
}

bool accepts(const ArgSpec& spec, OptimizerKind kind) {
  return std::find(spec.kinds.begin(), spec.kinds.end(), kind) != spec.kinds.end();
}

std::string unknownArgument(OptimizerKind kind, std::string_view arg) {
  const std::string opt(optimizerName(kind));
  const std::vector<std::string_view> valid = optimizerArgumentNames(kind);
  std::string msg = opt + " has no argument '" + std::string(arg) + "'";
  if (std::string_view near = closestName(arg, valid); !near.empty())
    msg += "; did you mean '" + std::string(near) + "'?";
  else
    msg += "; it takes " + joinNames(valid);
  for (const ArgSpec& spec : argTable())
    if (spec.name == arg) {
      std::vector<std::string_view> owners;
      for (OptimizerKind k : spec.kinds) owners.push_back(optimizerName(k));
      msg += " ('" + std::string(arg) + "' is an argument of " + joinNames(owners) + ")";
    }
  return msg;
}

} // namespace

std::string ArgValue::text() const {
  if (isBool_) return number_ != 0 ? "true" : "false";
  std::ostringstream out;
  out << number_;
  return out.str();
}

std::vector<std::string_view> optimizerArgumentNames(OptimizerKind kind) {
  std::vector<std::string_view> names;
  for (const ArgSpec& spec : argTable())
    if (accepts(spec, kind)) names.push_back(spec.name);
  return names;
}

Result<OptimizerConfig> makeOptimizerConfig(std::string_view name, const std::vector<NamedArg>& args) {
  const std::optional<OptimizerKind> kind = optimizerKindFromName(name);
  if (!kind) {
    std::string msg = "unknown optimizer '" + std::string(name) + "'";
    if (std::string_view near = closestName(name, optimizerNames()); !near.empty())
      msg += "; did you mean '" + std::string(near) + "'?";
    else
      msg += "; known optimizers: " + joinNames(optimizerNames());
    return Error{msg};
  }
  const std::string opt(name);
  OptimizerConfig config = defaultConfig(*kind);
  std::vector<const double OptimizerConfig::*> numbersSet;
  bool lrGiven = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const NamedArg& arg = args[i];
    for (size_t j = 0; j < i; ++j)
      if (args[j].name == arg.name) return Error{opt + ": argument '" + arg.name + "' is given twice"};
    const auto spec = std::find_if(argTable().begin(), argTable().end(), [&](const ArgSpec& s) {
      return s.name == arg.name && accepts(s, *kind);
    });
    if (spec == argTable().end()) return Error{unknownArgument(*kind, arg.name)};
    if (spec->flag) {
      if (!arg.value.isBool())
        return Error{opt + ": " + arg.name + " must be true or false, got " + arg.value.text()};
      config.*(spec->flag) = arg.value.number() != 0;
      continue;
    }
    if (arg.value.isBool())
      return Error{opt + ": " + arg.name + " must be a number, got " + arg.value.text()};
    if (std::find(numbersSet.begin(), numbersSet.end(), spec->number) != numbersSet.end())
      return Error{opt + ": rho and alpha name the same argument; give only one"};
    numbersSet.push_back(spec->number);
    config.*(spec->number) = arg.value.number();
    lrGiven = lrGiven || spec->name == "lr";
  }
  if (*kind == OptimizerKind::Sgd && !lrGiven)
    return Error{"sgd needs a learning rate: sgd(lr = 0.1, ...)"};
  if (Status s = validateConfig(config); !s.ok()) return Error{s.message()};
  return config;
}

Result<Optimizer> makeOptimizer(std::string_view name, const std::vector<NamedArg>& args,
                                BlockRange block) {
  Result<OptimizerConfig> config = makeOptimizerConfig(name, args);
  if (!config) return Error{config.message()};
  return Optimizer::create(config.value(), block);
}

} // namespace bdl::optim
