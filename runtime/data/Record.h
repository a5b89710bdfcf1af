// A record is an ordered set of named tensors (`image: f32[1, 28, 28]`,
// `label: i64`); a batch is a record whose tensors have a leading batch
// dimension. stackRecords() turns records into a batch.
#pragma once

#include "runtime/tensor/Tensor.h"

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bdl {

class Record {
public:
  using Field = std::pair<std::string, Tensor>;

  Record() = default;
  Record(std::initializer_list<Field> fields);

  // Replaces the field if it exists, else appends it (field order is kept).
  void set(std::string name, Tensor value);
  bool has(std::string_view name) const;
  // Throws DataError naming the available fields when `name` is missing.
  const Tensor& get(std::string_view name) const;
  Tensor& get(std::string_view name);

  const std::vector<Field>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  std::string fieldNames() const; // "image, label"
  std::string describe() const;   // "image: f32[1, 28, 28], label: i64[]"

  // Set on batches only. globalBatchSize is the number of records in the
  // global batch this worker's share belongs to (n, or fewer for a final
  // partial batch); shardOffset is the index of this share's first row in
  // it. A trainer weights a worker's mean loss by rows / globalBatchSize.
  int64_t globalBatchSize = 0;
  int64_t shardOffset = 0;

private:
  std::vector<Field> fields_;
};

// Stacks records with the same fields, dtypes and shapes into a batch with a
// leading dimension of records.size(). `shapeTemplate` gives the fields of an
// empty batch (rows == 0); it is ignored otherwise. Throws DataError when a
// record differs from the first.
Record stackRecords(std::span<const Record* const> records, const Record* shapeTemplate = nullptr);

} // namespace bdl
