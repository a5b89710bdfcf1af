// Per-step scalars are computed here in double, exactly as torch 1.13's
// Python code computes them, then handed to the branch-free loops in
// FusedKernels.cpp.
#include "runtime/optim/Optimizer.h"

#include "runtime/optim/FusedKernels.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace bdl::optim {
namespace {

float f(double v) { return static_cast<float>(v); }

std::string lengthError(std::string_view what, size_t got, BlockRange block) {
  return std::string(what) + " has " + std::to_string(got) + " elements but the optimizer's block [" +
         std::to_string(block.offset) + ", " + std::to_string(block.end()) + ") has " +
         std::to_string(block.length) + "; pass the block's subspan, not the whole vector";
}

} // namespace

Optimizer::Optimizer(const OptimizerConfig& config, BlockRange block)
    : config_(config), block_(block) {
  for (const std::string& name : stateBufferNames(config_))
    buffers_.push_back(StateBuffer{
        name, std::vector<float>(static_cast<size_t>(block_.length), stateInitialValue(config_, name))});
}

Result<Optimizer> Optimizer::create(const OptimizerConfig& config, BlockRange block) {
  if (Status s = validateConfig(config); !s.ok()) return Error{s.message()};
  if (block.offset < 0 || block.length < 0)
    return Error{"optimizer block [" + std::to_string(block.offset) + ", +" +
                 std::to_string(block.length) + ") must have offset >= 0 and length >= 0"};
  return Optimizer(config, block);
}

Status Optimizer::step(std::span<float> weights, std::span<const float> grads, double lr) {
  const auto n = static_cast<size_t>(block_.length);
  if (weights.size() != n) return Error{lengthError("weights", weights.size(), block_)};
  if (grads.size() != n) return Error{lengthError("gradients", grads.size(), block_)};
  const std::less<const float*> before;
  if (n > 0 && before(weights.data(), grads.data() + n) && before(grads.data(), weights.data() + n))
    return Error{"weights and gradients overlap in memory; the optimizer needs separate buffers"};
  if (!std::isfinite(lr) || lr < 0)
    return Error{"learning rate must be finite and >= 0, got " + std::to_string(lr)};

  const OptimizerConfig& c = config_;
  const int64_t t = step_ + 1; // torch increments state["step"] before using it
  const double td = static_cast<double>(t);
  const float gradSign = c.maximize ? -1.0f : 1.0f;
  float* w = weights.data();
  const float* g = grads.data();

  switch (c.kind) {
  case OptimizerKind::Sgd: {
    const bool first = step_ == 0;
    kernels::SgdScalars s{gradSign, f(c.weightDecay), first ? 0.0f : f(c.momentum),
                          first ? 1.0f : f(1.0 - c.dampening), f(c.momentum), f(-lr)};
    if (c.momentum == 0)
      kernels::sgd(n, w, g, s);
    else if (c.nesterov)
      kernels::sgdNesterov(n, w, g, bufferData(0), s);
    else
      kernels::sgdMomentum(n, w, g, bufferData(0), s);
    break;
  }
  case OptimizerKind::Adam:
  case OptimizerKind::AdamW: {
    const bool decoupled = c.kind == OptimizerKind::AdamW;
    const double biasCorrection1 = 1.0 - std::pow(c.beta1, td);
    const double biasCorrection2 = 1.0 - std::pow(c.beta2, td);
    kernels::AdamScalars s{gradSign,
                           decoupled ? 0.0f : f(c.weightDecay),
                           decoupled ? f(1.0 - lr * c.weightDecay) : 1.0f,
                           f(c.beta1),
                           f(1.0 - c.beta1),
                           f(c.beta2),
                           f(1.0 - c.beta2),
                           f(std::sqrt(biasCorrection2)),
                           f(c.eps),
                           f(-(lr / biasCorrection1))};
    if (c.amsgrad)
      kernels::adamAmsgrad(n, w, g, bufferData(0), bufferData(1), bufferData(2), s);
    else
      kernels::adam(n, w, g, bufferData(0), bufferData(1), s);
    break;
  }
  case OptimizerKind::Adagrad: {
    const double clr = lr / (1.0 + (td - 1.0) * c.lrDecay);
    kernels::AdagradScalars s{gradSign, f(c.weightDecay), f(c.eps), f(-clr)};
    kernels::adagrad(n, w, g, bufferData(0), s);
    break;
  }
  case OptimizerKind::RmsProp: {
    kernels::RmsPropScalars s{gradSign, f(c.weightDecay), f(c.alpha), f(1.0 - c.alpha),
                              f(c.eps),  f(c.momentum),    f(-lr)};
    size_t next = 1;
    float* momentum = c.momentum > 0 ? bufferData(next++) : nullptr;
    float* gradAvg = c.centered ? bufferData(next++) : nullptr;
    kernels::rmsprop(n, w, g, bufferData(0), momentum, gradAvg, s);
    break;
  }
  }
  step_ = t;
  return Status::success();
}

OptimizerState Optimizer::state() const {
  return OptimizerState{config_.kind, step_, block_, buffers_};
}

Status Optimizer::restore(const OptimizerState& state) {
  const std::string where = std::string("restoring ") + std::string(optimizerName(config_.kind)) +
                            " state: ";
  if (state.kind != config_.kind)
    return Error{where + "the saved state is for " + std::string(optimizerName(state.kind))};
  if (state.block != block_)
    return Error{where + "the saved state covers [" + std::to_string(state.block.offset) + ", " +
                 std::to_string(state.block.end()) + ") but this optimizer owns [" +
                 std::to_string(block_.offset) + ", " + std::to_string(block_.end()) +
                 "); use sliceState/gatherState to re-shard"};
  if (state.step < 0) return Error{where + "step must be >= 0, got " + std::to_string(state.step)};
  std::vector<StateBuffer> next;
  for (const StateBuffer& mine : buffers_) {
    const StateBuffer* saved = state.find(mine.name);
    if (!saved) return Error{where + "buffer '" + mine.name + "' is missing"};
    if (saved->values.size() != mine.values.size())
      return Error{where + "buffer '" + mine.name + "' has " +
                   std::to_string(saved->values.size()) + " elements, expected " +
                   std::to_string(mine.values.size())};
    next.push_back(*saved);
  }
  for (const StateBuffer& saved : state.buffers)
    if (std::none_of(buffers_.begin(), buffers_.end(),
                     [&](const StateBuffer& b) { return b.name == saved.name; }))
      return Error{where + "unexpected buffer '" + saved.name +
                   "' (was it saved with other options, e.g. momentum or amsgrad?)"};
  buffers_ = std::move(next);
  step_ = state.step;
  return Status::success();
}

std::span<const float> Optimizer::buffer(std::string_view name) const {
  for (const StateBuffer& b : buffers_)
    if (b.name == name) return b.values;
  return {};
}

} // namespace bdl::optim
