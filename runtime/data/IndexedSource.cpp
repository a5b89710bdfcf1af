#include "runtime/data/IndexedSource.h"

#include "runtime/data/DataError.h"

namespace bdl::data {

void IndexedSource::restoreState(const nlohmann::json& state) {
  checkState(state);
  const int64_t savedSize = state.at("size").get<int64_t>();
  const int64_t index = state.at("index").get<int64_t>();
  if (savedSize != size())
    throw DataError("", "pipeline position",
                    "the '" + std::string(kind()) + "' source had " + std::to_string(savedSize) +
                        " records when the position was saved and has " +
                        std::to_string(size()) + " now (did the data change?)");
  if (index < 0 || index > size())
    throw DataError("", "pipeline position", "source index " + std::to_string(index) + " out of range");
  cursor_ = index;
}

} // namespace bdl::data
