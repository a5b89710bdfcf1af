// batch(n): the sharding point. Every worker pulls the same n elements of the
// global batch (cheap: they are lazy), but computes and stacks only its own
// rows, so a worker decodes and maps only its shard of the source.
#include "runtime/data/DataError.h"
#include "runtime/data/Stages.h"

#include <vector>

namespace bdl::data {

namespace {

class BatchStage final : public Stage {
public:
  BatchStage(std::unique_ptr<Stage> up, int64_t n, bool dropLast, Shard shard)
      : Stage(std::move(up)), n_(n), dropLast_(dropLast), shard_(shard) {
    const std::string where = "batch(" + std::to_string(n) + ")";
    if (n < 1) throw DataError("", where, "the batch size must be at least 1");
    if (shard.world < 1 || shard.rank < 0 || shard.rank >= shard.world)
      throw DataError("", where,
                      "bad worker rank " + std::to_string(shard.rank) + " of " + std::to_string(shard.world));
    if (n % shard.world != 0)
      throw DataError("", where,
                      "the global batch of " + std::to_string(n) + " records cannot be split evenly over " +
                          std::to_string(shard.world) + " workers (choose a batch divisible by the worker count)");
  }
  std::string_view kind() const override { return "batch"; }
  std::string describe() const override {
    return "batch(" + std::to_string(n_) + (dropLast_ ? ", drop_last)" : ")");
  }
  // Every worker gets a (possibly empty) share of every global batch.
  std::optional<int64_t> passLength() const override {
    std::optional<int64_t> up = upstream_->passLength();
    if (!up) return std::nullopt;
    return dropLast_ ? *up / n_ : (*up + n_ - 1) / n_;
  }

  std::optional<Element> next() override {
    std::vector<Element> global;
    global.reserve(static_cast<size_t>(n_));
    while (static_cast<int64_t>(global.size()) < n_) {
      std::optional<Element> e = upstream_->next();
      if (!e) break;
      global.push_back(std::move(*e));
    }
    const int64_t m = static_cast<int64_t>(global.size());
    if (m == 0 || (m < n_ && dropLast_)) return std::nullopt;
    const int64_t begin = shard_.rank * m / shard_.world;
    const int64_t end = (shard_.rank + 1) * m / shard_.world;
    std::vector<const Record*> rows;
    for (int64_t i = begin; i < end; ++i) rows.push_back(&global[i].get());
    // An empty share (final partial batch smaller than the worker count) still
    // needs the fields' types: take them from the global batch's first record.
    Record batch = stackRecords(rows, rows.empty() ? &global[0].get() : nullptr);
    batch.globalBatchSize = m;
    batch.shardOffset = begin;
    return Element::ready(std::move(batch));
  }

private:
  int64_t n_;
  bool dropLast_;
  Shard shard_;
};

} // namespace

std::unique_ptr<Stage> makeBatch(std::unique_ptr<Stage> up, int64_t n, bool dropLast, Shard shard) {
  return std::make_unique<BatchStage>(std::move(up), n, dropLast, shard);
}

} // namespace bdl::data
