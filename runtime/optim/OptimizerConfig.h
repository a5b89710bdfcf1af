// What an optimizer is: its kind and hyper-parameters, with PyTorch 1.13's
// defaults and validity rules, and the names of the per-element state buffers
// it keeps (the same keys torch.optim uses in its state dict).
#pragma once

#include "runtime/optim/Result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdl::optim {

enum class OptimizerKind : uint8_t { Sgd, Adam, AdamW, Adagrad, RmsProp };

std::string_view optimizerName(OptimizerKind kind); // "sgd", "adam", ...
std::optional<OptimizerKind> optimizerKindFromName(std::string_view name);
std::vector<std::string_view> optimizerNames();

// One flat struct for every kind (one kind enum, no hierarchy). Fields that a
// kind does not use keep their defaults and are ignored by it.
struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Sgd;
  double lr = 0.01;
  double weightDecay = 0.0; // L2 for all but adamw, decoupled for adamw
  bool maximize = false;
  // sgd, rmsprop
  double momentum = 0.0;
  // sgd
  double dampening = 0.0;
  bool nesterov = false;
  // adam, adamw
  double beta1 = 0.9;
  double beta2 = 0.999;
  bool amsgrad = false;
  // adam, adamw, adagrad, rmsprop (default differs by kind)
  double eps = 1e-8;
  // adagrad
  double lrDecay = 0.0;
  double initialAccumulatorValue = 0.0;
  // rmsprop (torch's `alpha`, BDL's `rho`)
  double alpha = 0.99;
  bool centered = false;
};

// The torch.optim defaults for a kind (adamw: weight_decay 0.01; adagrad:
// lr 0.01, eps 1e-10; rmsprop: lr 0.01; adam: lr 0.001; sgd: lr 0.01, which
// torch leaves required and the factory requires too).
OptimizerConfig defaultConfig(OptimizerKind kind);

// Checks every value the kind uses; the message names the field in BDL
// spelling: "lr must be positive, got -0.1".
Status validateConfig(const OptimizerConfig& config);

// The per-element state buffers of this configuration, in a fixed order:
// sgd: momentum_buffer (momentum > 0); adam/adamw: exp_avg, exp_avg_sq,
// max_exp_avg_sq (amsgrad); adagrad: sum; rmsprop: square_avg,
// momentum_buffer (momentum > 0), grad_avg (centered). Every kind also keeps
// an integer step count, saved as "step".
std::vector<std::string> stateBufferNames(const OptimizerConfig& config);

// The value a state buffer starts at (adagrad's sum starts at
// initial_accumulator_value; everything else at 0).
float stateInitialValue(const OptimizerConfig& config, std::string_view bufferName);

} // namespace bdl::optim
