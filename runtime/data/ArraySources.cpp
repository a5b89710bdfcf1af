// Sources over NumPy files (.npy, .npz) and the synthetic source: all hold
// their arrays in memory and cut record i out of row i.
#include "runtime/data/DataError.h"
#include "runtime/data/IndexedSource.h"
#include "runtime/data/Npy.h"
#include "runtime/data/Npz.h"
#include "runtime/data/Rng.h"
#include "runtime/data/Sources.h"

#include <algorithm>
#include <cstring>

namespace bdl::data {

namespace {

Tensor rowOf(const Tensor& array, int64_t i) {
  Shape rowShape(array.shape().begin() + 1, array.shape().end());
  Tensor row(array.dtype(), rowShape);
  if (row.bytes())
    std::memcpy(row.rawData(), static_cast<const char*>(array.rawData()) + i * row.bytes(), row.bytes());
  return row;
}

class ArraySource final : public IndexedSource {
public:
  ArraySource(std::string kind, const std::string& path, NamedTensors arrays)
      : kind_(std::move(kind)), path_(path), arrays_(std::make_shared<NamedTensors>(std::move(arrays))) {
    for (const auto& [name, array] : *arrays_) {
      if (array.rank() == 0)
        throw DataError(path, "array '" + name + "'",
                        "is a scalar; a source needs arrays with a leading record dimension");
      const int64_t rows = array.shape()[0];
      if (count_ < 0) count_ = rows;
      else if (rows != count_)
        throw DataError(path, "array '" + name + "'",
                        "has " + std::to_string(rows) + " rows but '" + arrays_->front().first +
                            "' has " + std::to_string(count_) + " (record count mismatch)");
    }
    if (count_ < 0) count_ = 0;
  }
  std::string_view kind() const override { return kind_; }
  int64_t size() const override { return count_; }
  std::function<Record()> reader(int64_t i) const override {
    return [arrays = arrays_, i]() {
      Record r;
      for (const auto& [name, array] : *arrays) r.set(name, rowOf(array, i));
      return r;
    };
  }

  void checkClassIndices(const std::string& field, int64_t classes, const std::string& why) const override {
    auto it = std::find_if(arrays_->begin(), arrays_->end(), [&](const auto& a) { return a.first == field; });
    if (it == arrays_->end()) return;
    const Tensor& a = it->second;
    if (a.dtype() != DType::I64 && a.dtype() != DType::I32) return;
    const int64_t perRow = count_ > 0 ? a.numel() / count_ : 1;
    for (int64_t i = 0; i < a.numel(); ++i) {
      const int64_t v = a.dtype() == DType::I64 ? a.data<int64_t>()[i] : a.data<int32_t>()[i];
      if (v < 0 || v >= classes)
        throw DataError(path_, "array '" + field + "', row " + std::to_string(i / perRow),
                        "label " + std::to_string(v) + " out of range [0, " + std::to_string(classes) + "): " + why);
    }
  }

private:
  std::string kind_;
  std::string path_;
  std::shared_ptr<const NamedTensors> arrays_;
  int64_t count_ = -1;
};

class SyntheticSource final : public IndexedSource {
public:
  explicit SyntheticSource(const SyntheticOptions& o) : o_(o) {
    if (o.classes < 1 || o.count < 0)
      throw DataError("", "synthetic(...)",
                      "needs classes >= 1 and count >= 0 (got classes = " + std::to_string(o.classes) +
                          ", count = " + std::to_string(o.count) + ")");
    for (int64_t d : o.shape)
      if (d < 0) throw DataError("", "synthetic(...)", "negative dimension in shape " + shapeToString(o.shape));
  }
  std::string_view kind() const override { return "synthetic"; }
  int64_t size() const override { return o_.count; }
  std::function<Record()> reader(int64_t i) const override {
    return [o = o_, i]() {
      Rng rng(mixSeed(o.seed, static_cast<uint64_t>(i)));
      const int64_t label = static_cast<int64_t>(rng.below(static_cast<uint64_t>(o.classes)));
      // The class prototype comes from its own stream so all records of a class share it.
      Rng proto(mixSeed(mixSeed(o.seed, 0x70726F746F), static_cast<uint64_t>(label)));
      Tensor x(DType::F32, o.shape);
      for (float& v : x.span<float>())
        v = (2.0f * proto.unitFloat() - 1.0f) + o.noise * (2.0f * rng.unitFloat() - 1.0f);
      Tensor y(DType::I64, {});
      *y.data<int64_t>() = label;
      Record r;
      r.set("x", std::move(x));
      r.set("label", std::move(y));
      return r;
    };
  }

private:
  SyntheticOptions o_;
};

} // namespace

std::unique_ptr<Stage> npySource(const std::string& path, const std::string& field) {
  NamedTensors arrays;
  arrays.emplace_back(field, readNpy(path));
  return std::make_unique<ArraySource>("npy", path, std::move(arrays));
}

std::unique_ptr<Stage> npzSource(const std::string& path, const std::vector<std::string>& fields) {
  NamedTensors all = readNpz(path);
  if (fields.empty()) return std::make_unique<ArraySource>("npz", path, std::move(all));
  NamedTensors chosen;
  for (const std::string& f : fields) {
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& a) { return a.first == f; });
    if (it == all.end()) {
      std::string known;
      for (const auto& a : all) known += (known.empty() ? "" : ", ") + a.first;
      throw DataError(path, "", "no array named '" + f + "' (arrays: " + (known.empty() ? "none" : known) + ")");
    }
    chosen.push_back(*it);
  }
  return std::make_unique<ArraySource>("npz", path, std::move(chosen));
}

std::unique_ptr<Stage> syntheticSource(const SyntheticOptions& options) {
  return std::make_unique<SyntheticSource>(options);
}

} // namespace bdl::data
