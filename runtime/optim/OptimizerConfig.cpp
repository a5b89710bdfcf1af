// Defaults and validity rules follow torch/optim/*.py of PyTorch 1.13, except
// that lr must be strictly positive (torch accepts 0, which trains nothing).
#include "runtime/optim/OptimizerConfig.h"

#include <cmath>
#include <sstream>

namespace bdl::optim {
namespace {

struct KindName {
  OptimizerKind kind;
  std::string_view name;
};
constexpr KindName kKindNames[] = {
    {OptimizerKind::Sgd, "sgd"},         {OptimizerKind::Adam, "adam"},
    {OptimizerKind::AdamW, "adamw"},     {OptimizerKind::Adagrad, "adagrad"},
    {OptimizerKind::RmsProp, "rmsprop"},
};
static_assert(std::size(kKindNames) == 5, "one name per OptimizerKind");

std::string fmtNumber(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

Error bad(std::string_view opt, std::string_view field, std::string_view rule, double got) {
  return Error{std::string(opt) + ": " + std::string(field) + " must be " + std::string(rule) +
               ", got " + fmtNumber(got)};
}

} // namespace

std::string_view optimizerName(OptimizerKind kind) {
  for (const auto& k : kKindNames)
    if (k.kind == kind) return k.name;
  return "?";
}

std::optional<OptimizerKind> optimizerKindFromName(std::string_view name) {
  for (const auto& k : kKindNames)
    if (k.name == name) return k.kind;
  return std::nullopt;
}

std::vector<std::string_view> optimizerNames() {
  std::vector<std::string_view> names;
  for (const auto& k : kKindNames) names.push_back(k.name);
  return names;
}

OptimizerConfig defaultConfig(OptimizerKind kind) {
  OptimizerConfig c;
  c.kind = kind;
  switch (kind) {
  case OptimizerKind::Sgd: c.lr = 0.01; break;
  case OptimizerKind::Adam: c.lr = 1e-3; break;
  case OptimizerKind::AdamW: c.lr = 1e-3; c.weightDecay = 0.01; break;
  case OptimizerKind::Adagrad: c.lr = 1e-2; c.eps = 1e-10; break;
  case OptimizerKind::RmsProp: c.lr = 1e-2; c.eps = 1e-8; break;
  }
  return c;
}

Status validateConfig(const OptimizerConfig& c) {
  const std::string_view opt = optimizerName(c.kind);
  auto finiteAtLeast0 = [&](std::string_view field, double v) -> std::optional<Error> {
    if (!std::isfinite(v) || v < 0) return bad(opt, field, "finite and >= 0", v);
    return std::nullopt;
  };
  auto unit = [&](std::string_view field, double v) -> std::optional<Error> {
    if (!(v >= 0 && v < 1)) return bad(opt, field, "in [0, 1)", v);
    return std::nullopt;
  };
  if (!std::isfinite(c.lr) || c.lr <= 0) return bad(opt, "lr", "positive", c.lr);
  if (auto e = finiteAtLeast0("weight_decay", c.weightDecay)) return *e;
  switch (c.kind) {
  case OptimizerKind::Sgd:
    if (auto e = finiteAtLeast0("momentum", c.momentum)) return *e;
    if (!std::isfinite(c.dampening)) return bad(opt, "dampening", "finite", c.dampening);
    if (c.nesterov && (c.momentum <= 0 || c.dampening != 0))
      return Error{"sgd: nesterov needs momentum > 0 and dampening = 0, got momentum " +
                   fmtNumber(c.momentum) + " and dampening " + fmtNumber(c.dampening)};
    break;
  case OptimizerKind::Adam:
  case OptimizerKind::AdamW:
    if (auto e = unit("beta1", c.beta1)) return *e;
    if (auto e = unit("beta2", c.beta2)) return *e;
    if (auto e = finiteAtLeast0("eps", c.eps)) return *e;
    break;
  case OptimizerKind::Adagrad:
    if (auto e = finiteAtLeast0("lr_decay", c.lrDecay)) return *e;
    if (auto e = finiteAtLeast0("initial_accumulator_value", c.initialAccumulatorValue))
      return *e;
    if (auto e = finiteAtLeast0("eps", c.eps)) return *e;
    break;
  case OptimizerKind::RmsProp:
    // torch only asks alpha >= 0; above 1 the average diverges, so say so.
    if (!(c.alpha >= 0 && c.alpha <= 1)) return bad(opt, "rho", "in [0, 1]", c.alpha);
    if (auto e = finiteAtLeast0("momentum", c.momentum)) return *e;
    if (auto e = finiteAtLeast0("eps", c.eps)) return *e;
    break;
  }
  return Status::success();
}

std::vector<std::string> stateBufferNames(const OptimizerConfig& c) {
  switch (c.kind) {
  case OptimizerKind::Sgd:
    if (c.momentum != 0) return {"momentum_buffer"};
    return {};
  case OptimizerKind::Adam:
  case OptimizerKind::AdamW:
    if (c.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"exp_avg", "exp_avg_sq"};
  case OptimizerKind::Adagrad: return {"sum"};
  case OptimizerKind::RmsProp: {
    std::vector<std::string> names{"square_avg"};
    if (c.momentum > 0) names.push_back("momentum_buffer");
    if (c.centered) names.push_back("grad_avg");
    return names;
  }
  }
  return {};
}

float stateInitialValue(const OptimizerConfig& c, std::string_view bufferName) {
  if (c.kind == OptimizerKind::Adagrad && bufferName == "sum")
    return static_cast<float>(c.initialAccumulatorValue);
  return 0.0f;
}

} // namespace bdl::optim
