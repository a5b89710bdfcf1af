// Shared base of the sources: a cursor over records 0..size-1, each produced
// on demand by reader(i). Internal to runtime/data.
#pragma once

#include "runtime/data/Stage.h"

#include <functional>

namespace bdl::data {

class IndexedSource : public Stage {
public:
  std::optional<Element> next() override {
    if (cursor_ >= size()) return std::nullopt;
    return Element::deferred(reader(cursor_++));
  }
  void reset(uint64_t) override { cursor_ = 0; }
  nlohmann::json saveState() const override {
    return {{"kind", std::string(kind())}, {"index", cursor_}, {"size", size()}};
  }
  void restoreState(const nlohmann::json& state) override;

  virtual int64_t size() const = 0;
  std::optional<int64_t> passLength() const override { return size(); }
  // A producer of record i that owns (shares) what it needs to read it.
  virtual std::function<Record()> reader(int64_t i) const = 0;

private:
  int64_t cursor_ = 0;
};

} // namespace bdl::data
