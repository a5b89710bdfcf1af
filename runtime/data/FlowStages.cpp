// Stages that change which elements flow, not their values: take, skip,
// repeat and cache.
#include "runtime/data/DataError.h"
#include "runtime/data/Rng.h"
#include "runtime/data/Stages.h"

#include <algorithm>
#include <vector>

namespace bdl::data {

namespace {

class TakeStage final : public Stage {
public:
  TakeStage(std::unique_ptr<Stage> up, int64_t n) : Stage(std::move(up)), n_(n) {
    if (n < 0) throw DataError("", "take(" + std::to_string(n) + ")", "the count must be >= 0");
  }
  std::string_view kind() const override { return "take"; }
  std::string describe() const override { return "take(" + std::to_string(n_) + ")"; }
  std::optional<int64_t> passLength() const override {
    std::optional<int64_t> up = upstream_->passLength();
    return up ? std::optional<int64_t>(std::min(*up, n_)) : std::nullopt;
  }
  std::optional<Element> next() override {
    if (taken_ >= n_) return std::nullopt;
    std::optional<Element> e = upstream_->next();
    if (e) ++taken_;
    return e;
  }
  void reset(uint64_t passKey) override {
    taken_ = 0;
    upstream_->reset(passKey);
  }
  nlohmann::json saveState() const override {
    nlohmann::json s = baseState();
    s["taken"] = taken_;
    return s;
  }
  void restoreState(const nlohmann::json& state) override {
    checkState(state);
    taken_ = state.at("taken").get<int64_t>();
    upstream_->restoreState(state.at("up"));
  }

private:
  int64_t n_;
  int64_t taken_ = 0;
};

class SkipStage final : public Stage {
public:
  SkipStage(std::unique_ptr<Stage> up, int64_t n) : Stage(std::move(up)), n_(n) {
    if (n < 0) throw DataError("", "skip(" + std::to_string(n) + ")", "the count must be >= 0");
  }
  std::string_view kind() const override { return "skip"; }
  std::string describe() const override { return "skip(" + std::to_string(n_) + ")"; }
  std::optional<int64_t> passLength() const override {
    std::optional<int64_t> up = upstream_->passLength();
    return up ? std::optional<int64_t>(std::max<int64_t>(*up - n_, 0)) : std::nullopt;
  }
  std::optional<Element> next() override {
    for (; !skipped_; skipped_ = true)
      for (int64_t i = 0; i < n_; ++i)
        if (!upstream_->next()) break;
    return upstream_->next();
  }
  void reset(uint64_t passKey) override {
    skipped_ = false;
    upstream_->reset(passKey);
  }
  nlohmann::json saveState() const override {
    nlohmann::json s = baseState();
    s["skipped"] = skipped_;
    return s;
  }
  void restoreState(const nlohmann::json& state) override {
    checkState(state);
    skipped_ = state.at("skipped").get<bool>();
    upstream_->restoreState(state.at("up"));
  }

private:
  int64_t n_;
  bool skipped_ = false;
};

uint64_t repetitionKey(uint64_t passKey, int64_t repetition) {
  return repetition == 0 ? passKey : mixSeed(passKey, static_cast<uint64_t>(repetition));
}

class RepeatStage final : public Stage {
public:
  RepeatStage(std::unique_ptr<Stage> up, int64_t times) : Stage(std::move(up)), times_(times) {}
  std::string_view kind() const override { return "repeat"; }
  std::string describe() const override { return "repeat(" + std::to_string(times_) + ")"; }
  std::optional<int64_t> passLength() const override {
    std::optional<int64_t> up = upstream_->passLength();
    return up && times_ >= 0 ? std::optional<int64_t>(*up * times_) : std::nullopt;
  }
  std::optional<Element> next() override {
    while (times_ < 0 || repetition_ < times_) {
      if (std::optional<Element> e = upstream_->next()) {
        yieldedThisPass_ = true;
        return e;
      }
      // Repeating an empty upstream forever would never return.
      if (times_ < 0 && !yieldedThisPass_) return std::nullopt;
      ++repetition_;
      yieldedThisPass_ = false;
      if (times_ < 0 || repetition_ < times_) upstream_->reset(repetitionKey(passKey_, repetition_));
    }
    return std::nullopt;
  }
  void reset(uint64_t passKey) override {
    passKey_ = passKey;
    repetition_ = 0;
    yieldedThisPass_ = false;
    upstream_->reset(passKey);
  }
  nlohmann::json saveState() const override {
    nlohmann::json s = baseState();
    s["pass"] = passKey_;
    s["repetition"] = repetition_;
    s["yielded"] = yieldedThisPass_;
    return s;
  }
  void restoreState(const nlohmann::json& state) override {
    checkState(state);
    passKey_ = state.at("pass").get<uint64_t>();
    repetition_ = state.at("repetition").get<int64_t>();
    yieldedThisPass_ = state.at("yielded").get<bool>();
    upstream_->restoreState(state.at("up"));
  }

private:
  int64_t times_;
  uint64_t passKey_ = 0;
  int64_t repetition_ = 0;
  bool yieldedThisPass_ = false;
};

class CacheStage final : public Stage {
public:
  explicit CacheStage(std::unique_ptr<Stage> up) : Stage(std::move(up)), start_(upstream_->saveState()) {}
  std::string_view kind() const override { return "cache"; }
  std::optional<Element> next() override {
    if (complete_) {
      if (cursor_ >= static_cast<int64_t>(cache_.size())) return std::nullopt;
      return cache_[static_cast<size_t>(cursor_++)];
    }
    std::optional<Element> e = upstream_->next();
    if (!e) {
      complete_ = true;
      return std::nullopt;
    }
    cache_.push_back(*e);
    ++cursor_;
    return e;
  }
  void reset(uint64_t passKey) override {
    cursor_ = 0;
    if (complete_) return; // replay: the upstream is not read again
    cache_.clear();        // an interrupted first pass starts over
    upstream_->reset(passKey);
    start_ = upstream_->saveState();
  }
  nlohmann::json saveState() const override {
    return {{"kind", "cache"}, {"start", start_}, {"complete", complete_}, {"cursor", cursor_}};
  }
  // The cached elements are not in the position: they are read again from
  // the upstream's first-pass start.
  void restoreState(const nlohmann::json& state) override {
    checkState(state);
    start_ = state.at("start");
    upstream_->restoreState(start_);
    cache_.clear();
    complete_ = false;
    cursor_ = 0;
    const bool complete = state.at("complete").get<bool>();
    const int64_t cursor = state.at("cursor").get<int64_t>();
    if (complete) {
      while (next()) {
      }
    } else {
      while (cursor_ < cursor)
        if (!next()) throw DataError("", "pipeline position", "cache: the data ended before the saved position");
    }
    cursor_ = cursor;
  }

private:
  nlohmann::json start_;
  std::vector<Element> cache_;
  bool complete_ = false;
  int64_t cursor_ = 0;
};

} // namespace

std::unique_ptr<Stage> makeTake(std::unique_ptr<Stage> up, int64_t n) {
  return std::make_unique<TakeStage>(std::move(up), n);
}
std::unique_ptr<Stage> makeSkip(std::unique_ptr<Stage> up, int64_t n) {
  return std::make_unique<SkipStage>(std::move(up), n);
}
std::unique_ptr<Stage> makeRepeat(std::unique_ptr<Stage> up, int64_t times) {
  return std::make_unique<RepeatStage>(std::move(up), times);
}
std::unique_ptr<Stage> makeCache(std::unique_ptr<Stage> up) {
  return std::make_unique<CacheStage>(std::move(up));
}

} // namespace bdl::data
