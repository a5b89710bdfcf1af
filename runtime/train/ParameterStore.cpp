#include "runtime/train/ParameterStore.h"

#include "runtime/train/TrainError.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace bdl::train {

ParameterStore::ParameterStore(const ir::Graph& graph, uint64_t seed) {
  interp::Feeds initial = interp::initialParameters(graph, seed);
  size_t offset = 0;
  for (ir::ValueId id : graph.leaves(ir::OpKind::Parameter)) {
    const ir::Node& n = graph.node(id);
    if (n.type.dtype != DType::F32)
      throw TrainError(fmt::format("parameter '{}' is {}; trainable parameters must be f32", n.name,
                                   n.type.toString()));
    const Tensor& t = initial.at(n.name);
    slots_.push_back({n.name, t.shape(), offset, static_cast<size_t>(t.numel())});
    offset += static_cast<size_t>(t.numel());
  }
  flat_ = Tensor(DType::F32, {static_cast<int64_t>(offset)});
  for (const ParameterSlot& s : slots_) {
    std::span<const float> v = initial.at(s.name).span<float>();
    std::copy(v.begin(), v.end(), flat().begin() + static_cast<std::ptrdiff_t>(s.offset));
  }
  for (ir::ValueId id : graph.leaves(ir::OpKind::State)) states_[graph.node(id).name] = initial.at(graph.node(id).name);
}

void ParameterStore::addFeeds(interp::Feeds& feeds) const {
  for (const ParameterSlot& s : slots_) feeds[s.name] = flat_.view(static_cast<int64_t>(s.offset), s.shape);
  for (const auto& [name, value] : states_) feeds[name] = value;
}

void ParameterStore::gatherGradients(const std::map<std::string, Tensor>& outputs, std::span<float> grads) const {
  for (const ParameterSlot& s : slots_) {
    auto it = outputs.find("grad:" + s.name);
    if (it == outputs.end())
      throw std::logic_error(fmt::format("{}:{}: the training graph has no gradient for '{}'", __FILE__, __LINE__, s.name));
    std::span<const float> g = it->second.span<float>();
    std::copy(g.begin(), g.end(), grads.begin() + static_cast<std::ptrdiff_t>(s.offset));
  }
}

void ParameterStore::applyStateUpdates(const std::map<std::string, Tensor>& updates) {
  for (const auto& [name, value] : updates) states_[name] = value;
}

std::vector<std::pair<std::string, Tensor>> ParameterStore::named() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const ParameterSlot& s : slots_) out.emplace_back(s.name, flat_.view(static_cast<int64_t>(s.offset), s.shape).clone());
  for (const auto& [name, value] : states_) out.emplace_back(name, value.clone());
  return out;
}

void ParameterStore::restore(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::map<std::string, const Tensor*> byName;
  for (const auto& [name, t] : named) byName[name] = &t;
  auto take = [&](const std::string& name, DType dtype, const Shape& shape) -> const Tensor& {
    auto it = byName.find(name);
    if (it == byName.end())
      throw TrainError(fmt::format("the checkpoint has no value for '{}'", name),
                       "was it written by a different model? `bdlc params` lists this model's parameters");
    const Tensor& t = *it->second;
    if (t.dtype() != dtype || t.shape() != shape)
      throw TrainError(fmt::format("the checkpoint's '{}' is {}{} but the model's is {}{}", name, dtypeName(t.dtype()),
                                   shapeToString(t.shape()), dtypeName(dtype), shapeToString(shape)));
    byName.erase(it);
    return t;
  };
  Tensor flat = flat_.clone();
  for (const ParameterSlot& s : slots_) {
    std::span<const float> v = take(s.name, DType::F32, s.shape).span<float>();
    std::copy(v.begin(), v.end(), flat.span<float>().begin() + static_cast<std::ptrdiff_t>(s.offset));
  }
  std::map<std::string, Tensor> states;
  for (const auto& [name, value] : states_) states[name] = take(name, value.dtype(), value.shape()).clone();
  if (!byName.empty())
    throw TrainError(fmt::format("the checkpoint has '{}', which this model does not have", byName.begin()->first),
                     "was it written by a different model? `bdlc params` lists this model's parameters");
  flat_ = std::move(flat);
  states_ = std::move(states);
}

} // namespace bdl::train
