#include "runtime/train/DistSync.h"

#include "runtime/dist/ParamSync.h"
#include "runtime/optim/GradClip.h"
#include "runtime/optim/Optimizer.h"
#include "runtime/train/TrainError.h"

#include <algorithm>

namespace bdl::train {

namespace {

// The flat vector travels with two extra elements: each worker's weighted
// loss and its wish to stop ride in the gradient, and the owner of those
// elements puts their sums in the weights, so the all-gather hands every
// worker the global loss and whether anyone asked to stop.
class DistSync final : public ParameterSync {
  static constexpr size_t kExtra = 2; // the loss, the stop votes

public:
  DistSync(dist::Communicator& comm, const optim::OptimizerConfig& config, ClipRule clip, size_t paramCount)
      : comm_(comm), params_(paramCount), sync_(comm, paramCount + kExtra), clip_(clip),
        weights_(paramCount + kExtra), grads_(paramCount + kExtra) {
    dist::BlockRange own = sync_.ownedBlock();
    size_t begin = std::min(own.offset, params_), end = std::min(own.offset + own.length, params_);
    paramBlock_ = {static_cast<int64_t>(begin), static_cast<int64_t>(end - begin)};
    auto opt = optim::Optimizer::create(config, paramBlock_);
    if (!opt) throw TrainError("optimizer: " + opt.message());
    optimizer_.emplace(std::move(opt.value()));
    scratch_.resize(static_cast<size_t>(paramBlock_.length));
  }

  int rank() const override { return comm_.rank(); }
  int worldSize() const override { return comm_.worldSize(); }

  double step(std::span<float> weights, std::span<float> grads, double weightedLoss, double lr, bool& stop) override {
    std::copy(weights.begin(), weights.end(), weights_.begin());
    std::copy(grads.begin(), grads.end(), grads_.begin());
    grads_[params_] = static_cast<float>(weightedLoss);
    grads_[params_ + 1] = stop ? 1.0f : 0.0f;
    weights_[params_] = weights_[params_ + 1] = 0;
    sync_.step(grads_, weights_, [&](std::span<float> w, std::span<const float> g, size_t offset) {
      size_t n = static_cast<size_t>(paramBlock_.length);
      if (n > 0) {
        std::copy(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(n), scratch_.begin());
        if (clip_.kind == ClipRule::Kind::Value) optim::clipByValue(scratch_, static_cast<float>(clip_.limit));
        optim::Status st = optimizer_->step(w.first(n), scratch_, lr);
        if (!st) throw TrainError("optimizer: " + st.message());
      }
      for (size_t i = std::max(offset, params_); i < offset + w.size(); ++i) w[i - offset] = g[i - offset];
    });
    std::copy(weights_.begin(), weights_.begin() + static_cast<std::ptrdiff_t>(params_), weights.begin());
    stop = weights_[params_ + 1] > 0.5f;
    return static_cast<double>(weights_[params_]);
  }

  optim::OptimizerState fullState() override {
    // An all-gather per state buffer: zero gradients, and each owner writes
    // its state into its weight block.
    optim::OptimizerState mine = optimizer_->state();
    optim::OptimizerState full = mine;
    full.block = {0, static_cast<int64_t>(params_)};
    for (optim::StateBuffer& b : full.buffers) {
      const optim::StateBuffer* own = mine.find(b.name);
      std::fill(grads_.begin(), grads_.end(), 0.0f);
      std::fill(weights_.begin(), weights_.end(), 0.0f);
      sync_.step(grads_, weights_, [&](std::span<float> w, std::span<const float>, size_t) {
        std::copy(own->values.begin(), own->values.end(), w.begin());
      });
      b.values.assign(weights_.begin(), weights_.begin() + static_cast<std::ptrdiff_t>(params_));
    }
    return full;
  }

  void restoreFullState(const optim::OptimizerState& state) override {
    auto part = optim::sliceState(state, paramBlock_);
    if (!part) throw TrainError("optimizer state: " + part.message());
    optim::Status st = optimizer_->restore(part.value());
    if (!st) throw TrainError("optimizer state: " + st.message());
  }

private:
  dist::Communicator& comm_;
  size_t params_;
  dist::ParamSync sync_;
  ClipRule clip_;
  optim::BlockRange paramBlock_;
  std::optional<optim::Optimizer> optimizer_;
  std::vector<float> weights_, grads_, scratch_;
};

} // namespace

std::unique_ptr<ParameterSync> makeDistSync(dist::Communicator& comm, const optim::OptimizerConfig& config,
                                            ClipRule clip, size_t paramCount) {
  if (clip.kind == ClipRule::Kind::Norm && comm.worldSize() > 1)
    throw TrainError("clip_norm is not supported with several workers yet",
                     "use clip = clip_value(v), or train on one worker");
  return std::make_unique<DistSync>(comm, config, clip, paramCount);
}

} // namespace bdl::train
