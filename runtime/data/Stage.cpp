#include "runtime/data/Stage.h"

#include "runtime/data/DataError.h"

namespace bdl::data {

void Stage::reset(uint64_t passKey) {
  if (upstream_) upstream_->reset(passKey);
}

nlohmann::json Stage::baseState() const {
  nlohmann::json s;
  s["kind"] = std::string(kind());
  if (upstream_) s["up"] = upstream_->saveState();
  return s;
}

nlohmann::json Stage::saveState() const { return baseState(); }

const nlohmann::json& Stage::checkState(const nlohmann::json& state) const {
  if (!state.is_object() || !state.contains("kind") || !state["kind"].is_string())
    throw DataError("", "pipeline position",
                    "malformed position for stage '" + std::string(kind()) + "'");
  if (state["kind"].get<std::string>() != kind())
    throw DataError("", "pipeline position",
                    "saved for a different pipeline: expected stage '" + std::string(kind()) +
                        "', found '" + state["kind"].get<std::string>() + "'");
  return state;
}

void Stage::restoreState(const nlohmann::json& state) {
  checkState(state);
  if (upstream_) upstream_->restoreState(state.at("up"));
}

std::string Stage::describeChain() const {
  std::string self = describe();
  return upstream_ ? upstream_->describeChain() + " |> " + self : self;
}

} // namespace bdl::data
