// Pipeline sources. Each is random-access by record index: next() hands out
// deferred elements, and a record is decoded only when a stage needs its
// value, so a worker decodes only its shard. Bad files throw DataError at
// construction (headers, sizes, counts, labels are checked up front).
#pragma once

#include "runtime/data/Stage.h"

#include <memory>
#include <string>
#include <vector>

namespace bdl::data {

// MNIST IDX: `image: f32[1, rows, cols]` (raw 0..255 as floats) and
// `label: i64`. Plain or gzip files. Labels outside [0, numClasses) are an
// error (numClasses = 0 disables the check).
struct IdxOptions {
  std::string images;
  std::string labels;
  int64_t numClasses = 10;
};
std::unique_ptr<Stage> idxSource(const IdxOptions& options);

// CSV: `features: f32[k]` and `label: i64` (no label field when label is
// empty). Columns are named by the header line, or "0", "1", ... without
// one. sklearn's bundled files (iris.csv, wine_data.csv, ...) start with
// "n_samples,n_features,class names..." instead of a header: with
// format = Auto they are recognised, their columns are named "0".."k-1" and
// the label column "target", and labels are checked against the class count.
struct CsvOptions {
  enum class Format { Auto, Plain, Sklearn };
  std::string path;
  std::vector<std::string> features; // empty: every column except the label
  std::string label;                 // empty: no label field; Sklearn default "target"
  bool header = true;
  Format format = Format::Auto;
  int64_t numClasses = 0; // > 0 checks labels; sklearn files give it themselves
};
std::unique_ptr<Stage> csvSource(const CsvOptions& options);

// .npy: one array; record i is row i, in field `field`.
std::unique_ptr<Stage> npySource(const std::string& path, const std::string& field = "x");

// .npz: the named arrays (all, in archive order, when `fields` is empty),
// which must share their leading dimension; record i holds row i of each.
std::unique_ptr<Stage> npzSource(const std::string& path, const std::vector<std::string>& fields = {});

// Deterministic synthetic classification data: record i has `x: f32[shape]`
// = a per-class prototype (uniform in [-1, 1)) + noise (uniform in
// [-noise, noise)) and `label: i64` in [0, classes); all from `seed` and i.
struct SyntheticOptions {
  Shape shape;
  int64_t classes = 2;
  int64_t count = 0;
  uint64_t seed = 0;
  float noise = 0.5f;
};
std::unique_ptr<Stage> syntheticSource(const SyntheticOptions& options);

} // namespace bdl::data
