// prefetch(depth): a background thread pulls and computes up to `depth`
// elements ahead. Each queued element carries the upstream position right
// after it, so saveState() is the position of what the consumer has
// actually received, not of what the thread has read ahead.
//
// Threading contract: while the thread runs it alone touches the upstream;
// reset(), restoreState() and the destructor stop and join it first.
#include "runtime/data/Stages.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace bdl::data {

namespace {

class PrefetchStage final : public Stage {
public:
  PrefetchStage(std::unique_ptr<Stage> up, int64_t depth)
      : Stage(std::move(up)), depth_(depth < 1 ? 1 : static_cast<size_t>(depth)),
        delivered_(upstream_->saveState()) {}
  ~PrefetchStage() override { stopWorker(); }
  std::string_view kind() const override { return "prefetch"; }

  std::optional<Element> next() override {
    if (error_) std::rethrow_exception(error_);
    if (finished_) return std::nullopt;
    if (!worker_.joinable()) worker_ = std::thread([this] { produce(); });
    Item item;
    double waitedSeconds = -1; // < 0: the element was ready
    {
      std::unique_lock lock(mutex_);
      if (queue_.empty()) {
        const auto start = std::chrono::steady_clock::now();
        ready_.wait(lock, [&] { return !queue_.empty(); });
        waitedSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    space_.notify_one();
    if (item.error) {
      error_ = item.error; // the same error on every later call
      std::rethrow_exception(error_);
    }
    if (!item.element) {
      finished_ = true;
      return std::nullopt;
    }
    delivered_ = std::move(item.positionAfter);
    ++stats_.delivered;
    if (waitedSeconds >= 0) {
      ++stats_.waited;
      stats_.waitSeconds += waitedSeconds;
    }
    return item.element;
  }

  const PrefetchStats& stats() const { return stats_; }

  void reset(uint64_t passKey) override {
    stats_ = {};
    stopWorker();
    upstream_->reset(passKey);
    delivered_ = upstream_->saveState();
  }
  nlohmann::json saveState() const override { return {{"kind", "prefetch"}, {"up", delivered_}}; }
  void restoreState(const nlohmann::json& state) override {
    checkState(state);
    stats_ = {};
    stopWorker();
    upstream_->restoreState(state.at("up"));
    delivered_ = state.at("up");
  }

private:
  struct Item {
    std::optional<Element> element; // nullopt with no error: end of the pass
    std::exception_ptr error;
    nlohmann::json positionAfter;
  };

  void produce() {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        space_.wait(lock, [&] { return stop_ || queue_.size() < depth_; });
        if (stop_) return;
      }
      Item item;
      try {
        item.element = upstream_->next();
        if (item.element) {
          item.element->get(); // the work we are here to do ahead of time
          item.positionAfter = upstream_->saveState();
        }
      } catch (...) {
        item.element.reset();
        item.error = std::current_exception(); // handed to the consumer, not swallowed
      }
      const bool last = !item.element;
      {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(item));
      }
      ready_.notify_one();
      if (last) return;
    }
  }

  void stopWorker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    space_.notify_all();
    if (worker_.joinable()) worker_.join();
    queue_.clear();
    stop_ = false;
    finished_ = false;
    error_ = nullptr;
  }

  size_t depth_;
  nlohmann::json delivered_;
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<Item> queue_;
  bool stop_ = false;
  bool finished_ = false;
  std::exception_ptr error_;
  PrefetchStats stats_;
};

} // namespace

std::optional<PrefetchStats> prefetchStatsOf(const Stage& chain) {
  for (const Stage* s = &chain; s; s = s->upstream())
    if (const auto* p = dynamic_cast<const PrefetchStage*>(s)) return p->stats();
  return std::nullopt;
}

std::unique_ptr<Stage> makePrefetch(std::unique_ptr<Stage> up, int64_t depth) {
  return std::make_unique<PrefetchStage>(std::move(up), depth);
}

} // namespace bdl::data
