#include "runtime/data/Pipeline.h"

#include "runtime/data/DataError.h"
#include "runtime/data/Rng.h"

#include <set>
#include <utility>

namespace bdl::data {

static constexpr const char* kPositionFormat = "bdl.pipeline.position/1";

Pipeline::Pipeline(std::unique_ptr<Stage> source, PipelineOptions options)
    : root_(std::move(source)), options_(options) {
  if (!root_) throw DataError("", "pipeline", "no source");
}

Pipeline& Pipeline::append(std::unique_ptr<Stage> stage) {
  root_ = std::move(stage);
  ++stageCount_;
  started_ = false;
  return *this;
}

std::unique_ptr<Stage> Pipeline::takeRoot() {
  if (!root_)
    throw DataError("", "pipeline", "unusable: adding a stage failed earlier (see that error)");
  return std::move(root_);
}

const Stage& Pipeline::root() const {
  if (!root_)
    throw DataError("", "pipeline", "unusable: adding a stage failed earlier (see that error)");
  return *root_;
}

Stage& Pipeline::root() { return const_cast<Stage&>(std::as_const(*this).root()); }

uint64_t Pipeline::derivedSeed() const {
  return mixSeed(options_.seed, static_cast<uint64_t>(stageCount_));
}

Pipeline& Pipeline::map(MapFn fn) { return append(makeMap(takeRoot(), std::move(fn))); }
Pipeline& Pipeline::filter(FilterFn pred) { return append(makeFilter(takeRoot(), std::move(pred))); }
Pipeline& Pipeline::shuffle(int64_t buffer, uint64_t seed) {
  return append(makeShuffle(takeRoot(), buffer, seed));
}
Pipeline& Pipeline::batch(int64_t globalBatch, bool dropLast) {
  append(makeBatch(takeRoot(), globalBatch, dropLast, options_.shard));
  hasBatch_ = true;
  return *this;
}
Pipeline& Pipeline::oneHot(const std::string& field, int64_t classes) {
  return append(makeOneHot(takeRoot(), field, classes));
}
Pipeline& Pipeline::randomFlip(const std::string& field, std::optional<uint64_t> seed) {
  return append(makeRandomFlip(takeRoot(), field, seed.value_or(derivedSeed())));
}
Pipeline& Pipeline::randomCrop(const std::string& field, int64_t size, int64_t padding,
                               std::optional<uint64_t> seed) {
  return append(makeRandomCrop(takeRoot(), field, size, size, padding, seed.value_or(derivedSeed())));
}
Pipeline& Pipeline::take(int64_t n) { return append(makeTake(takeRoot(), n)); }
Pipeline& Pipeline::skip(int64_t n) { return append(makeSkip(takeRoot(), n)); }
Pipeline& Pipeline::repeat(int64_t times) { return append(makeRepeat(takeRoot(), times)); }
Pipeline& Pipeline::cache() { return append(makeCache(takeRoot())); }
Pipeline& Pipeline::prefetch(int64_t depth) { return append(makePrefetch(takeRoot(), depth)); }

void Pipeline::startEpoch(int64_t epoch) {
  if (epoch < 0) throw DataError("", "pipeline", "negative epoch " + std::to_string(epoch));
  if (options_.shard.world > 1 && !hasBatch_)
    throw DataError("", describe(),
                    "a pipeline read by " + std::to_string(options_.shard.world) +
                        " workers needs a batch stage (workers split each global batch)");
  root().reset(static_cast<uint64_t>(epoch));
  epoch_ = epoch;
  started_ = true;
}

std::optional<Record> Pipeline::next() {
  if (!started_) startEpoch(epoch_);
  std::optional<Element> e = root().next();
  if (!e) return std::nullopt;
  return e->get();
}

std::string Pipeline::describe() const { return root().describeChain(); }

void Pipeline::checkClassIndices(const std::string& field, int64_t classes, const std::string& why) const {
  static const std::set<std::string_view> passThrough = {"shuffle", "batch", "prefetch", "cache", "repeat"};
  const Stage* s = &root();
  while (s->upstream()) {
    if (!passThrough.count(s->kind())) return;
    s = s->upstream();
  }
  s->checkClassIndices(field, classes, why);
}

nlohmann::json Pipeline::position() const {
  return {{"format", kPositionFormat}, {"pipeline", describe()}, {"epoch", epoch_},
          {"state", root().saveState()}};
}

void Pipeline::restore(const nlohmann::json& position) {
  try {
    if (position.value("format", "") != kPositionFormat)
      throw DataError("", "pipeline position", "not a pipeline position (no \"format\": \"" +
                                                   std::string(kPositionFormat) + "\")");
    const std::string saved = position.at("pipeline").get<std::string>();
    if (saved != describe())
      throw DataError("", "pipeline position",
                      "saved for the pipeline '" + saved + "', this one is '" + describe() + "'");
    root().restoreState(position.at("state"));
    epoch_ = position.at("epoch").get<int64_t>();
    started_ = true;
  } catch (const nlohmann::json::exception& e) {
    throw DataError("", "pipeline position", std::string("malformed: ") + e.what());
  }
}

} // namespace bdl::data
