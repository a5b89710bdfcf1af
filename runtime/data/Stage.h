// The pull-iterator interface every source and stage implements. A pipeline
// is a chain: each stage owns its upstream. A pass (one epoch, or one
// repetition inside repeat()) starts with reset(passKey); next() returns the
// next element or nullopt at the end of the pass. saveState()/restoreState()
// capture the exact position as JSON for checkpoints.
#pragma once

#include "runtime/data/Element.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace bdl::data {

class Stage {
public:
  explicit Stage(std::unique_ptr<Stage> upstream = nullptr) : upstream_(std::move(upstream)) {}
  virtual ~Stage() = default;
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  // Short name used in positions and messages: "idx", "shuffle", ...
  virtual std::string_view kind() const = 0;
  // kind() with the parameters that decide the order of records, e.g.
  // "shuffle(60000, 7)": a position only restores into a pipeline with the
  // same description. Sources leave out their paths (data may move).
  virtual std::string describe() const { return std::string(kind()); }
  virtual std::optional<Element> next() = 0;

  // Starts a pass from the beginning. Seeded stages derive their seed from
  // their own seed and passKey (the epoch, mixed with the repetition number
  // inside repeat()). Default: reset the upstream.
  virtual void reset(uint64_t passKey);

  // The position as JSON: {"kind": ..., stage fields..., "up": upstream}.
  // restoreState() accepts what saveState() of the same pipeline returned and
  // throws DataError when it does not match this stage.
  virtual nlohmann::json saveState() const;
  virtual void restoreState(const nlohmann::json& state);

  // Records (or batches) one pass yields, when known without reading data
  // (a filter makes it unknown). Default: the upstream's.
  virtual std::optional<int64_t> passLength() const { return upstream_ ? upstream_->passLength() : std::nullopt; }

  // Sources whose records are in memory (npy, npz) check that integer field
  // `field` holds class indices in [0, classes) and throw DataError naming
  // the file and row otherwise; `why` says where `classes` comes from.
  // Default: nothing to check. Pipeline::checkClassIndices decides when
  // the source's values are the ones the job will see.
  virtual void checkClassIndices(const std::string& field, int64_t classes, const std::string& why) const {}

  Stage* upstream() const { return upstream_.get(); }
  // "idx |> map |> shuffle |> batch"
  std::string describeChain() const;

protected:
  nlohmann::json baseState() const; // {"kind": kind(), "up": upstream state}
  // Checks that `state` was saved by a stage of this kind and returns it.
  const nlohmann::json& checkState(const nlohmann::json& state) const;

  std::unique_ptr<Stage> upstream_;
};

} // namespace bdl::data
