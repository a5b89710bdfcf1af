// shuffle(buffer, seed) with tf.data's buffer semantics. Its position is
// (upstream position at the start of the pass, elements emitted, RNG
// state); restoring replays the pass from its start. Replay is cheap because
// elements are lazy: nothing is decoded or mapped while replaying (unless a
// filter sits upstream, which must look at values).
#include "runtime/data/DataError.h"
#include "runtime/data/Rng.h"
#include "runtime/data/Stages.h"

#include <vector>

namespace bdl::data {

namespace {

class ShuffleStage final : public Stage {
public:
  ShuffleStage(std::unique_ptr<Stage> up, int64_t buffer, uint64_t seed)
      : Stage(std::move(up)), capacity_(buffer), seed_(seed) {
    if (buffer < 1)
      throw DataError("", "shuffle(buffer = " + std::to_string(buffer) + ")", "the buffer must hold at least 1 record");
    startPass(0, upstream_->saveState());
  }
  std::string_view kind() const override { return "shuffle"; }
  std::string describe() const override {
    return "shuffle(" + std::to_string(capacity_) + ", " + std::to_string(seed_) + ")";
  }

  std::optional<Element> next() override {
    if (!filled_) {
      while (static_cast<int64_t>(buffer_.size()) < capacity_) {
        std::optional<Element> e = upstream_->next();
        if (!e) {
          upstreamDone_ = true;
          break;
        }
        buffer_.push_back(std::move(*e));
      }
      filled_ = true;
    }
    if (buffer_.empty()) return std::nullopt;
    const size_t pick = static_cast<size_t>(rng_.below(buffer_.size()));
    Element out = std::move(buffer_[pick]);
    std::optional<Element> refill;
    if (!upstreamDone_) {
      refill = upstream_->next();
      if (!refill) upstreamDone_ = true;
    }
    if (refill) {
      buffer_[pick] = std::move(*refill);
    } else {
      buffer_[pick] = std::move(buffer_.back());
      buffer_.pop_back();
    }
    ++emitted_;
    return out;
  }

  void reset(uint64_t passKey) override {
    upstream_->reset(passKey);
    startPass(passKey, upstream_->saveState());
  }

  nlohmann::json saveState() const override {
    return {{"kind", "shuffle"}, {"pass", passKey_}, {"start", start_}, {"emitted", emitted_},
            {"rng", rng_.state()}};
  }

  void restoreState(const nlohmann::json& state) override {
    checkState(state);
    const nlohmann::json start = state.at("start");
    upstream_->restoreState(start);
    startPass(state.at("pass").get<uint64_t>(), start);
    const int64_t target = state.at("emitted").get<int64_t>();
    while (emitted_ < target)
      if (!next())
        throw DataError("", "pipeline position",
                        "shuffle: the pass ended after " + std::to_string(emitted_) +
                            " records while replaying to record " + std::to_string(target) +
                            " (did the data change?)");
    if (rng_.state() != state.at("rng").get<Rng::State>())
      throw DataError("", "pipeline position",
                      "shuffle: the random state after replay differs from the saved one "
                      "(the pipeline or its seed changed since the position was saved)");
  }

private:
  void startPass(uint64_t passKey, nlohmann::json start) {
    passKey_ = passKey;
    start_ = std::move(start);
    rng_.reseed(mixSeed(seed_, passKey));
    buffer_.clear();
    filled_ = false;
    upstreamDone_ = false;
    emitted_ = 0;
  }

  int64_t capacity_;
  uint64_t seed_;
  uint64_t passKey_ = 0;
  nlohmann::json start_;
  Rng rng_;
  std::vector<Element> buffer_;
  bool filled_ = false;
  bool upstreamDone_ = false;
  int64_t emitted_ = 0;
};

} // namespace

std::unique_ptr<Stage> makeShuffle(std::unique_ptr<Stage> up, int64_t buffer, uint64_t seed) {
  return std::make_unique<ShuffleStage>(std::move(up), buffer, seed);
}

} // namespace bdl::data
