// Factories for the pipeline stages of LANGUAGE.md §5. Each takes its
// upstream and returns the new end of the chain; Pipeline wraps them in a
// fluent interface. Per-record stages stay lazy (see Element.h).
#pragma once

#include "runtime/data/Stage.h"

#include <functional>
#include <memory>
#include <string>

namespace bdl::data {

// This process's place in a data-parallel job: rank r of `world` workers.
struct Shard {
  int64_t rank = 0;
  int64_t world = 1;
};

// A map body receives a record whose tensors may be shared with a cache or
// another stage: it must return new tensors rather than write into its input
// (clone() first to modify in place).
using MapFn = std::function<Record(Record)>;
using FilterFn = std::function<bool(const Record&)>;

std::unique_ptr<Stage> makeMap(std::unique_ptr<Stage> up, MapFn fn);
// Keeps records where pred is true. pred needs the record's value, so every
// worker computes every record before a filter (no shard saving there).
std::unique_ptr<Stage> makeFilter(std::unique_ptr<Stage> up, FilterFn pred);
// tf.data's buffer semantics: fill `buffer` elements, then emit a uniformly
// chosen one and put the next upstream element in its place. The seed of a
// pass is mixSeed(seed, passKey), so each epoch has its own order.
std::unique_ptr<Stage> makeShuffle(std::unique_ptr<Stage> up, int64_t buffer, uint64_t seed);
// `n` is the global batch; this worker stacks its n / world records (rows
// [rank * n / world, (rank + 1) * n / world) of each global batch). A final
// partial batch of m < n records is split as evenly as possible (rows
// [rank * m / world, (rank + 1) * m / world)), possibly empty, unless
// dropLast drops it. DataError if world does not divide n.
std::unique_ptr<Stage> makeBatch(std::unique_ptr<Stage> up, int64_t n, bool dropLast, Shard shard);
// Integer field (i32/i64, any shape S) -> f32[S..., classes]; DataError on a
// value outside [0, classes).
std::unique_ptr<Stage> makeOneHot(std::unique_ptr<Stage> up, std::string field, int64_t classes);
// Reverses the last axis (horizontal flip of [C, H, W] images) with
// probability 1/2, decided from (seed, pass, record ordinal).
std::unique_ptr<Stage> makeRandomFlip(std::unique_ptr<Stage> up, std::string field, uint64_t seed);
// Zero-pads the last two axes by `padding` on each side, then cuts a random
// height x width window; [..., H, W] -> [..., height, width].
std::unique_ptr<Stage> makeRandomCrop(std::unique_ptr<Stage> up, std::string field, int64_t height,
                                      int64_t width, int64_t padding, uint64_t seed);
std::unique_ptr<Stage> makeTake(std::unique_ptr<Stage> up, int64_t n);
std::unique_ptr<Stage> makeSkip(std::unique_ptr<Stage> up, int64_t n);
// Runs the upstream `times` passes (times < 0: forever); pass k > 0 resets
// the upstream with mixSeed(passKey, k), so a shuffle before it reshuffles.
std::unique_ptr<Stage> makeRepeat(std::unique_ptr<Stage> up, int64_t times);
// The first pass reads upstream and remembers the elements (with whatever
// values get computed); later passes replay them without touching upstream.
std::unique_ptr<Stage> makeCache(std::unique_ptr<Stage> up);
// A background thread computes up to `depth` elements ahead. Exceptions reach
// the consumer on the next() that would have returned the failed element.
std::unique_ptr<Stage> makePrefetch(std::unique_ptr<Stage> up, int64_t depth);

// How often the consumer of a prefetch stage found no element ready: the
// answer to "does the training loop ever wait for data?".
struct PrefetchStats {
  int64_t delivered = 0;    // elements handed to the consumer
  int64_t waited = 0;       // of those, how many the consumer had to wait for
  double waitSeconds = 0.0; // total time spent waiting
};
// The statistics of the prefetch stage nearest the end of `chain` (counting
// since the last reset), or nullopt when the chain has none.
std::optional<PrefetchStats> prefetchStatsOf(const Stage& chain);

} // namespace bdl::data
