// An element flowing through a pipeline: a record that may not be computed
// yet. Sources and per-record stages hand out deferred elements, so shuffle
// buffers hold cheap handles and a worker only decodes and transforms the
// records of its own shard of each global batch (see BatchStage).
#pragma once

#include "runtime/data/Record.h"

#include <functional>
#include <memory>
#include <optional>

namespace bdl::data {

class Element {
public:
  Element() = default;
  static Element ready(Record record);
  static Element deferred(std::function<Record()> produce);

  // Computes the record on first use and keeps it (copies of an Element share
  // it, which is what cache() relies on). Exceptions from the producer pass
  // through and leave the element uncomputed. Not thread-safe: one thread
  // uses an element at a time (prefetch hands it over through a mutex).
  const Record& get() const;
  bool isReady() const { return state_ && state_->value.has_value(); }

private:
  struct State {
    std::optional<Record> value;
    std::function<Record()> produce;
  };
  std::shared_ptr<State> state_;
};

} // namespace bdl::data
