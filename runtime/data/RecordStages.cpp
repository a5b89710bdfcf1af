// Per-record stages: map, filter, one_hot, random_flip, random_crop. All but
// filter stay lazy: they wrap the upstream element in a deferred one.
#include "runtime/data/DataError.h"
#include "runtime/data/Rng.h"
#include "runtime/data/Stages.h"

#include <cstring>

namespace bdl::data {

namespace {

class MapStage final : public Stage {
public:
  MapStage(std::unique_ptr<Stage> up, MapFn fn)
      : Stage(std::move(up)), fn_(std::make_shared<MapFn>(std::move(fn))) {}
  std::string_view kind() const override { return "map"; }
  std::optional<Element> next() override {
    std::optional<Element> e = upstream_->next();
    if (!e) return std::nullopt;
    return Element::deferred([e = std::move(*e), fn = fn_]() { return (*fn)(e.get()); });
  }

private:
  std::shared_ptr<MapFn> fn_;
};

class FilterStage final : public Stage {
public:
  FilterStage(std::unique_ptr<Stage> up, FilterFn pred) : Stage(std::move(up)), pred_(std::move(pred)) {}
  std::string_view kind() const override { return "filter"; }
  std::optional<int64_t> passLength() const override { return std::nullopt; } // depends on the data
  std::optional<Element> next() override {
    while (std::optional<Element> e = upstream_->next())
      if (pred_(e->get())) return e;
    return std::nullopt;
  }

private:
  FilterFn pred_;
};

class OneHotStage final : public Stage {
public:
  OneHotStage(std::unique_ptr<Stage> up, std::string field, int64_t classes)
      : Stage(std::move(up)), field_(std::move(field)), classes_(classes) {
    if (classes < 1)
      throw DataError("", "one_hot(" + field_ + ", " + std::to_string(classes) + ")",
                      "classes must be at least 1");
  }
  std::string_view kind() const override { return "one_hot"; }
  std::string describe() const override {
    return "one_hot(" + field_ + ", " + std::to_string(classes_) + ")";
  }
  std::optional<Element> next() override {
    std::optional<Element> e = upstream_->next();
    if (!e) return std::nullopt;
    return Element::deferred([e = std::move(*e), field = field_, classes = classes_]() {
      Record r = e.get();
      const Tensor& in = r.get(field);
      const std::string where = "one_hot(" + field + ", " + std::to_string(classes) + ")";
      if (in.dtype() != DType::I64 && in.dtype() != DType::I32)
        throw DataError("", where,
                        "field '" + field + "' is " + std::string(dtypeName(in.dtype())) +
                            ", expected integer class indices (i64 or i32)");
      Shape shape = in.shape();
      shape.push_back(classes);
      Tensor out(DType::F32, shape);
      float* dst = out.data<float>();
      for (int64_t i = 0; i < in.numel(); ++i) {
        const int64_t v = in.dtype() == DType::I64 ? in.data<int64_t>()[i] : in.data<int32_t>()[i];
        if (v < 0 || v >= classes)
          throw DataError("", where,
                          "label " + std::to_string(v) + " out of range [0, " + std::to_string(classes) + ")");
        dst[i * classes + v] = 1.0f;
      }
      r.set(field, std::move(out));
      return r;
    });
  }

private:
  std::string field_;
  int64_t classes_;
};

// Shared by the random stages: a per-record seed from (seed, pass, ordinal),
// so the choice does not depend on which worker computes the record.
class RandomRecordStage : public Stage {
public:
  RandomRecordStage(std::unique_ptr<Stage> up, std::string field, uint64_t seed)
      : Stage(std::move(up)), field_(std::move(field)), seed_(seed) {}
  std::optional<Element> next() override {
    std::optional<Element> e = upstream_->next();
    if (!e) return std::nullopt;
    const uint64_t recordSeed = mixSeed(mixSeed(seed_, passKey_), ordinal_++);
    return Element::deferred(transform(std::move(*e), recordSeed));
  }
  void reset(uint64_t passKey) override {
    passKey_ = passKey;
    ordinal_ = 0;
    upstream_->reset(passKey);
  }
  nlohmann::json saveState() const override {
    nlohmann::json s = baseState();
    s["pass"] = passKey_;
    s["ordinal"] = ordinal_;
    return s;
  }
  void restoreState(const nlohmann::json& state) override {
    checkState(state);
    passKey_ = state.at("pass").get<uint64_t>();
    ordinal_ = state.at("ordinal").get<uint64_t>();
    upstream_->restoreState(state.at("up"));
  }

protected:
  virtual std::function<Record()> transform(Element e, uint64_t recordSeed) const = 0;
  uint64_t seed() const { return seed_; }
  std::string field_;

private:
  uint64_t seed_;
  uint64_t passKey_ = 0;
  uint64_t ordinal_ = 0;
};

class RandomFlipStage final : public RandomRecordStage {
public:
  using RandomRecordStage::RandomRecordStage;
  std::string_view kind() const override { return "random_flip"; }
  std::string describe() const override { return "random_flip(" + field_ + ", seed " + std::to_string(seed()) + ")"; }

protected:
  std::function<Record()> transform(Element e, uint64_t recordSeed) const override {
    return [e = std::move(e), field = field_, recordSeed]() {
      Record r = e.get();
      if ((Rng(recordSeed).next() >> 63) == 0) return r; // no flip
      const Tensor& in = r.get(field);
      if (in.rank() < 1) throw DataError("", "random_flip(" + field + ")", "field '" + field + "' is a scalar");
      Tensor out(in.dtype(), in.shape());
      const size_t elem = dtypeSize(in.dtype());
      const int64_t width = in.shape().back();
      const int64_t rows = width ? in.numel() / width : 0;
      const char* src = static_cast<const char*>(in.rawData());
      char* dst = static_cast<char*>(out.rawData());
      for (int64_t row = 0; row < rows; ++row)
        for (int64_t x = 0; x < width; ++x)
          std::memcpy(dst + (row * width + x) * elem, src + (row * width + width - 1 - x) * elem, elem);
      r.set(field, std::move(out));
      return r;
    };
  }
};

class RandomCropStage final : public RandomRecordStage {
public:
  RandomCropStage(std::unique_ptr<Stage> up, std::string field, int64_t height, int64_t width,
                  int64_t padding, uint64_t seed)
      : RandomRecordStage(std::move(up), std::move(field), seed), height_(height), width_(width),
        padding_(padding) {
    if (height < 1 || width < 1 || padding < 0)
      throw DataError("", "random_crop(" + field_ + ")", "needs a size >= 1 and padding >= 0");
  }
  std::string_view kind() const override { return "random_crop"; }
  std::string describe() const override {
    return "random_crop(" + field_ + ", " + std::to_string(height_) + "x" + std::to_string(width_) + ", " +
           std::to_string(padding_) + ", seed " + std::to_string(seed()) + ")";
  }

protected:
  std::function<Record()> transform(Element e, uint64_t recordSeed) const override {
    return [e = std::move(e), field = field_, h = height_, w = width_, pad = padding_, recordSeed]() {
      Record r = e.get();
      const Tensor& in = r.get(field);
      const std::string where = "random_crop(" + field + ", [" + std::to_string(h) + ", " +
                                std::to_string(w) + "], " + std::to_string(pad) + ")";
      if (in.rank() < 2) throw DataError("", where, "field '" + field + "' needs at least 2 dimensions");
      const int64_t inH = in.shape()[in.rank() - 2], inW = in.shape()[in.rank() - 1];
      if (inH + 2 * pad < h || inW + 2 * pad < w)
        throw DataError("", where,
                        "the padded image " + std::to_string(inH + 2 * pad) + "x" +
                            std::to_string(inW + 2 * pad) + " is smaller than the crop");
      Rng rng(recordSeed);
      const int64_t top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(inH + 2 * pad - h + 1))) - pad;
      const int64_t left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(inW + 2 * pad - w + 1))) - pad;
      Shape shape = in.shape();
      shape[shape.size() - 2] = h;
      shape[shape.size() - 1] = w;
      Tensor out(in.dtype(), shape); // zero-filled: the padding
      const size_t elem = dtypeSize(in.dtype());
      const int64_t planes = (inH > 0 && inW > 0) ? in.numel() / (inH * inW) : 0;
      const char* src = static_cast<const char*>(in.rawData());
      char* dst = static_cast<char*>(out.rawData());
      for (int64_t p = 0; p < planes; ++p)
        for (int64_t y = 0; y < h; ++y) {
          const int64_t sy = top + y;
          if (sy < 0 || sy >= inH) continue;
          for (int64_t x = 0; x < w; ++x) {
            const int64_t sx = left + x;
            if (sx < 0 || sx >= inW) continue;
            std::memcpy(dst + ((p * h + y) * w + x) * elem, src + ((p * inH + sy) * inW + sx) * elem, elem);
          }
        }
      r.set(field, std::move(out));
      return r;
    };
  }

private:
  int64_t height_, width_, padding_;
};

} // namespace

std::unique_ptr<Stage> makeMap(std::unique_ptr<Stage> up, MapFn fn) {
  return std::make_unique<MapStage>(std::move(up), std::move(fn));
}
std::unique_ptr<Stage> makeFilter(std::unique_ptr<Stage> up, FilterFn pred) {
  return std::make_unique<FilterStage>(std::move(up), std::move(pred));
}
std::unique_ptr<Stage> makeOneHot(std::unique_ptr<Stage> up, std::string field, int64_t classes) {
  return std::make_unique<OneHotStage>(std::move(up), std::move(field), classes);
}
std::unique_ptr<Stage> makeRandomFlip(std::unique_ptr<Stage> up, std::string field, uint64_t seed) {
  return std::make_unique<RandomFlipStage>(std::move(up), std::move(field), seed);
}
std::unique_ptr<Stage> makeRandomCrop(std::unique_ptr<Stage> up, std::string field, int64_t height,
                                      int64_t width, int64_t padding, uint64_t seed) {
  return std::make_unique<RandomCropStage>(std::move(up), std::move(field), height, width, padding, seed);
}

} // namespace bdl::data
