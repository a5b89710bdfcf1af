// Builds an optimizer from a name and named arguments as the compiler hands
// them over (`sgd(lr = 0.1, momentum = 0.9)`), checking names and values and
// returning clear errors as values:
//   auto config = makeOptimizerConfig("sgd", {{"lr", 0.1}, {"momentum", 0.9}});
//   if (!config) report(config.message()); // "sgd has no argument 'beta1'; ..."
#pragma once

#include "runtime/optim/Optimizer.h"
#include "runtime/optim/OptimizerConfig.h"
#include "runtime/optim/Result.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bdl::optim {

// A number or a boolean, as written in the source.
class ArgValue {
public:
  ArgValue(double v) : number_(v) {}
  ArgValue(int v) : number_(v) {}
  ArgValue(int64_t v) : number_(static_cast<double>(v)) {}
  ArgValue(bool v) : number_(v ? 1.0 : 0.0), isBool_(true) {}
  bool isBool() const { return isBool_; }
  double number() const { return number_; }
  std::string text() const; // "0.1", "true"

private:
  double number_ = 0.0;
  bool isBool_ = false;
};

struct NamedArg {
  std::string name;
  ArgValue value;
};

// BDL argument names: lr, weight_decay, maximize; sgd: momentum, dampening,
// nesterov; adam/adamw: beta1, beta2, eps, amsgrad; adagrad: lr_decay,
// initial_accumulator_value, eps; rmsprop: rho (or torch's alpha), eps,
// momentum, centered. Unset arguments take torch's defaults; sgd needs lr.
Result<OptimizerConfig> makeOptimizerConfig(std::string_view name, const std::vector<NamedArg>& args);

// The same, then an optimizer for `block` of the flat parameter vector.
Result<Optimizer> makeOptimizer(std::string_view name, const std::vector<NamedArg>& args,
                                BlockRange block);

// The argument names a kind accepts, in the order the error messages list them.
std::vector<std::string_view> optimizerArgumentNames(OptimizerKind kind);

} // namespace bdl::optim
