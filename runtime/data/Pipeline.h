// A data pipeline: a source and its stages, as one pull iterator of records
// (or batches) for one worker of a job.
//
//   using namespace bdl::data;
//   Pipeline train(idxSource({.images = dir + "/train-images-idx3-ubyte.gz",
//                             .labels = dir + "/train-labels-idx1-ubyte.gz"}),
//                  {.shard = {.rank = r, .world = w}, .seed = 42});
//   train.map(normalise).shuffle(60000, 7).batch(128).prefetch(2);
//   for (int64_t epoch = 0; epoch < 5; ++epoch) {
//     train.startEpoch(epoch);                   // shuffle seed = f(7, epoch)
//     while (std::optional<Record> b = train.next()) step(b->get("image"), b->get("label"));
//   }
//   nlohmann::json pos = train.position();       // into a checkpoint's state.json
//   ... later, in a new process: train.restore(pos) continues with the same batches.
#pragma once

#include "runtime/data/Stages.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

namespace bdl::data {

struct PipelineOptions {
  Shard shard;       // this worker; one process is rank 0 of 1
  uint64_t seed = 0; // the job seed: random stages without their own seed derive one from it
};

class Pipeline {
public:
  explicit Pipeline(std::unique_ptr<Stage> source, PipelineOptions options = {});

  // Stages, appended in order (LANGUAGE.md §5). Adding a stage restarts the
  // current epoch. A stage whose arguments are invalid throws DataError and
  // leaves the pipeline unusable (later calls throw too).
  Pipeline& map(MapFn fn);
  Pipeline& filter(FilterFn pred);
  Pipeline& shuffle(int64_t buffer, uint64_t seed);
  Pipeline& batch(int64_t globalBatch, bool dropLast = false);
  Pipeline& oneHot(const std::string& field, int64_t classes);
  Pipeline& randomFlip(const std::string& field, std::optional<uint64_t> seed = std::nullopt);
  Pipeline& randomCrop(const std::string& field, int64_t size, int64_t padding,
                       std::optional<uint64_t> seed = std::nullopt);
  Pipeline& take(int64_t n);
  Pipeline& skip(int64_t n);
  Pipeline& repeat(int64_t times = -1); // < 0: forever
  Pipeline& cache();
  Pipeline& prefetch(int64_t depth);

  // Starts epoch `epoch` from the beginning; seeded stages use seeds derived
  // from their seed and the epoch, so every epoch is reproducible alone.
  void startEpoch(int64_t epoch);
  // The next record (batch, after batch()) of this worker, or nullopt at the
  // end of the epoch. Starts epoch 0 if no epoch was started. Throws
  // DataError for bad data; with W > 1 workers a batch stage is required.
  std::optional<Record> next();
  int64_t epoch() const { return epoch_; }
  const PipelineOptions& options() const { return options_; }
  // "idx |> map |> shuffle(60000, 7) |> batch(128)"
  std::string describe() const;
  // Consumer waits at the last prefetch stage in this epoch (nullopt without one).
  std::optional<PrefetchStats> prefetchStats() const { return prefetchStatsOf(root()); }
  // Records (batches, after batch()) per epoch for this worker, when known
  // without reading data: nullopt after a filter or an endless repeat.
  std::optional<int64_t> epochLength() const { return root().passLength(); }
  // Checks integer field `field` against [0, classes) at the source, before
  // any record is read, when every stage passes the source's records on
  // unchanged and all of them (no map, filter, take, skip or one_hot in
  // between: a map may rewrite the field, a filter may drop the bad rows).
  // Throws DataError naming the file and row; otherwise does nothing.
  void checkClassIndices(const std::string& field, int64_t classes, const std::string& why) const;

  // The exact position (epoch, and every stage's state including shuffle RNG
  // state) as JSON. restore() on an identically built pipeline continues
  // with the same records; it throws DataError for a position saved by a
  // different pipeline. Restoring replays the current shuffle/cache pass
  // from its start (cheap: records are not decoded while replaying). After a
  // failed restore, start an epoch before reading again.
  nlohmann::json position() const;
  void restore(const nlohmann::json& position);

private:
  Pipeline& append(std::unique_ptr<Stage> stage);
  std::unique_ptr<Stage> takeRoot();
  Stage& root();
  const Stage& root() const;
  uint64_t derivedSeed() const;

  std::unique_ptr<Stage> root_;
  PipelineOptions options_;
  int64_t stageCount_ = 1;
  bool hasBatch_ = false;
  bool started_ = false;
  int64_t epoch_ = 0;
};

} // namespace bdl::data
