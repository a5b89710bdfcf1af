#include "runtime/train/DistSync.h"

#include "runtime/dist/ParamSync.h"
#include "runtime/optim/GradClip.h"
#include "runtime/optim/Optimizer.h"
#include "runtime/train/TrainError.h"

#include <algorithm>
#include <stdexcept>

namespace bdl::train {

namespace {

// The flat vector travels with two extra elements: each worker's weighted
// loss and its wish to stop ride in the gradient, and the owner of those
// elements puts their sums in the weights, so the all-gather hands every
// worker the global loss and whether anyone asked to stop.
class DistSync final : public ParameterSync {
  static constexpr size_t kExtra = 2; // the loss, the stop votes

public:
  DistSync(dist::Communicator& comm, const optim::OptimizerConfig& config, ClipRule clip, size_t paramCount,
           size_t chunkElements)
      : comm_(comm), params_(paramCount), sync_(comm, paramCount + kExtra, syncOptions(chunkElements)), clip_(clip),
        weights_(paramCount + kExtra), grads_(paramCount + kExtra) {
    dist::BlockRange own = sync_.ownedBlock();
    // One optimizer per chunk the sync updates (state is per element, so
    // the steps give the same bits as one optimizer over the whole block).
    std::vector<dist::BlockRange> chunks = sync_.ownedChunks();
    if (chunks.empty()) chunks.push_back({own.offset, 0});
    size_t longest = 0;
    for (const dist::BlockRange& c : chunks) {
      size_t b = std::min(c.offset, params_), e = std::min(c.offset + c.length, params_);
      auto opt = optim::Optimizer::create(config, {static_cast<int64_t>(b), static_cast<int64_t>(e - b)});
      if (!opt) throw TrainError("optimizer: " + opt.message());
      chunks_.push_back({c.offset, std::move(opt.value())});
      longest = std::max(longest, e - b);
    }
    scratch_.resize(longest);
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
      optim::Optimizer& opt = chunkAt(offset);
      size_t n = static_cast<size_t>(opt.block().length);
      if (n > 0) {
        std::span<float> scratch(scratch_.data(), n);
        std::copy(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(n), scratch.begin());
        if (clip_.kind == ClipRule::Kind::Value) optim::clipByValue(scratch, static_cast<float>(clip_.limit));
        optim::Status st = opt.step(w.first(n), scratch, lr);
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
    // its chunks' state into its weight block.
    optim::OptimizerState full = chunks_.front().optimizer.state();
    full.block = {0, static_cast<int64_t>(params_)};
    for (optim::StateBuffer& b : full.buffers) {
      std::fill(grads_.begin(), grads_.end(), 0.0f);
      std::fill(weights_.begin(), weights_.end(), 0.0f);
      sync_.step(grads_, weights_, [&](std::span<float> w, std::span<const float>, size_t offset) {
        std::span<const float> own = chunkAt(offset).buffer(b.name);
        std::copy(own.begin(), own.end(), w.begin());
      });
      b.values.assign(weights_.begin(), weights_.begin() + static_cast<std::ptrdiff_t>(params_));
    }
    return full;
  }

  void restoreFullState(const optim::OptimizerState& state) override {
    for (Chunk& c : chunks_) {
      auto part = optim::sliceState(state, c.optimizer.block());
      if (!part) throw TrainError("optimizer state: " + part.message());
      optim::Status st = c.optimizer.restore(part.value());
      if (!st) throw TrainError("optimizer state: " + st.message());
    }
  }

private:
  struct Chunk {
    size_t offset; // in the flat vector, as the sync names it
    optim::Optimizer optimizer;
  };

  // Each chunk is updated as soon as its sum is complete and its new weights
  // leave at once, so the all-gather overlaps the reduce-scatter.
  static dist::ParamSyncOptions syncOptions(size_t chunkElements) {
    dist::ParamSyncOptions o;
    o.chunkElements = chunkElements;
    o.updateEachChunk = true;
    return o;
  }

  optim::Optimizer& chunkAt(size_t offset) {
    auto it = std::lower_bound(chunks_.begin(), chunks_.end(), offset,
                               [](const Chunk& c, size_t at) { return c.offset < at; });
    if (it == chunks_.end() || it->offset != offset)
      throw std::logic_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": the sync updated a chunk at " +
                             std::to_string(offset) + " that this rank does not own");
    return it->optimizer;
  }

  dist::Communicator& comm_;
  size_t params_;
  dist::ParamSync sync_;
  ClipRule clip_;
  std::vector<Chunk> chunks_; // in offset order
  std::vector<float> weights_, grads_, scratch_;
};

} // namespace

std::unique_ptr<ParameterSync> makeDistSync(dist::Communicator& comm, const optim::OptimizerConfig& config,
                                            ClipRule clip, size_t paramCount, size_t chunkElements) {
  if (clip.kind == ClipRule::Kind::Norm && comm.worldSize() > 1)
    throw TrainError("clip_norm is not supported with several workers yet",
                     "use clip = clip_value(v), or train on one worker");
  return std::make_unique<DistSync>(comm, config, clip, paramCount, chunkElements);
}

} // namespace bdl::train
