// An optimizer bound to one contiguous block [offset, offset + length) of the
// flat parameter vector: it keeps state for that block only, so the dist
// layer's owner of block r constructs one for block r and nothing else.
//
//   auto opt = Optimizer::create(config, BlockRange{offset, length}).value();
//   opt.step(weights.subspan(offset, length), blockGrads, lr);   // per iteration
//   OptimizerState s = opt.state();  ...  opt.restore(s);        // checkpoints
#pragma once

#include "runtime/optim/OptimizerConfig.h"
#include "runtime/optim/OptimizerState.h"
#include "runtime/optim/Result.h"

#include <span>

namespace bdl::optim {

class Optimizer {
public:
  // Validates the config; the state starts as torch's does (zeros, or
  // adagrad's initial_accumulator_value), step 0.
  static Result<Optimizer> create(const OptimizerConfig& config, BlockRange block);

  const OptimizerConfig& config() const { return config_; }
  BlockRange block() const { return block_; }
  int64_t stepCount() const { return step_; }

  // One optimizer step over the block with learning rate `lr` (from the
  // schedule; config().lr is the base). `weights` and `grads` are the block's
  // elements, both of length block().length, in separate memory (the loops
  // use restrict pointers; overlap is an error). The step count advances on success; on
  // error nothing changes.
  Status step(std::span<float> weights, std::span<const float> grads, double lr);
  Status step(std::span<float> weights, std::span<const float> grads) {
    return step(weights, grads, config_.lr);
  }

  // A copy of the state (buffers by name, step count, block).
  OptimizerState state() const;
  // Replaces the state by `state`, which must be for this kind, this block
  // and have exactly the buffers stateBufferNames(config()) lists.
  Status restore(const OptimizerState& state);
  // The values of one state buffer, empty if this config has none of that name.
  std::span<const float> buffer(std::string_view name) const;

private:
  Optimizer(const OptimizerConfig& config, BlockRange block);
  float* bufferData(size_t index) { return buffers_[index].values.data(); }

  OptimizerConfig config_;
  BlockRange block_;
  int64_t step_ = 0;
  std::vector<StateBuffer> buffers_;
};

} // namespace bdl::optim
