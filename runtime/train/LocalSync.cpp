#include "runtime/optim/GradClip.h"
#include "runtime/optim/Optimizer.h"
#include "runtime/train/ParameterSync.h"
#include "runtime/train/TrainError.h"

namespace bdl::train {

namespace {

class LocalSync final : public ParameterSync {
public:
  LocalSync(optim::Optimizer optimizer, ClipRule clip) : optimizer_(std::move(optimizer)), clip_(clip) {}
  int rank() const override { return 0; }
  int worldSize() const override { return 1; }

  double step(std::span<float> weights, std::span<float> grads, double weightedLoss, double lr, bool&) override {
    if (clip_.kind == ClipRule::Kind::Norm) optim::clipByGlobalNorm(grads, clip_.limit);
    if (clip_.kind == ClipRule::Kind::Value) optim::clipByValue(grads, static_cast<float>(clip_.limit));
    optim::Status st = optimizer_.step(weights, grads, lr);
    if (!st) throw TrainError("optimizer: " + st.message());
    return weightedLoss;
  }
  optim::OptimizerState fullState() override { return optimizer_.state(); }
  void restoreFullState(const optim::OptimizerState& state) override {
    optim::Status st = optimizer_.restore(state);
    if (!st) throw TrainError("optimizer state: " + st.message());
  }

private:
  optim::Optimizer optimizer_;
  ClipRule clip_;
};

} // namespace

std::unique_ptr<ParameterSync> makeLocalSync(const optim::OptimizerConfig& config, ClipRule clip, size_t paramCount) {
  auto opt = optim::Optimizer::create(config, {0, static_cast<int64_t>(paramCount)});
  if (!opt) throw TrainError("optimizer: " + opt.message());
  return std::make_unique<LocalSync>(std::move(opt.value()), clip);
}

} // namespace bdl::train
