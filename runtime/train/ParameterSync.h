// How one iteration's gradients become new weights, on one process or many.
// The trainer hands over this worker's gradient (already weighted by its
// share of the global batch) and its weighted loss; afterwards every worker
// holds the same new weights and knows the global batch's loss.
//
//   Local: clip, then the optimizer over the whole flat vector.
//   Distributed (BigDL): ParamSync sums the gradient blocks in rank order,
//   each block's owner clips and steps the optimizer on its block (its state
//   lives only there), and the new blocks go to every worker.
#pragma once

#include "runtime/optim/OptimizerConfig.h"
#include "runtime/optim/OptimizerState.h"

#include <memory>
#include <span>

namespace bdl::train {

struct ClipRule {
  enum class Kind { None, Norm, Value } kind = Kind::None;
  double limit = 0;
};

class ParameterSync {
public:
  virtual ~ParameterSync() = default;
  virtual int rank() const = 0;
  virtual int worldSize() const = 0;
  // One optimizer step. `grads` may be changed (clipped in place). Returns
  // the global loss: the sum over workers of `weightedLoss`. `stop` goes in
  // as this worker's wish to stop after this step (Ctrl-C, SIGTERM) and
  // comes out true when any worker wishes it, so all stop at the same step.
  virtual double step(std::span<float> weights, std::span<float> grads, double weightedLoss, double lr,
                      bool& stop) = 0;
  // The optimizer state of the whole vector, gathered to every worker
  // (collective: every worker calls it at the same iteration).
  virtual optim::OptimizerState fullState() = 0;
  // Takes this worker's part of a whole-vector state (any worker count wrote it).
  virtual void restoreFullState(const optim::OptimizerState& state) = 0;
};

// Throws TrainError for an invalid optimizer config.
std::unique_ptr<ParameterSync> makeLocalSync(const optim::OptimizerConfig& config, ClipRule clip, size_t paramCount);

} // namespace bdl::train
