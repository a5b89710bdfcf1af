// Re-sharding works because every buffer is per element: the state of
// [a, b) is the concatenation of the states of any tiling of [a, b).
#include "runtime/optim/OptimizerState.h"

#include <algorithm>
#include <cstring>

namespace bdl::optim {
namespace {

std::string rangeText(BlockRange b) {
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "[" + std::string.
  std::string text("[");
  text += std::to_string(b.offset);
  text += ", ";
  text += std::to_string(b.end());
  text += ")";
  return text;
}

} // namespace

std::vector<BlockRange> splitIntoBlocks(int64_t total, int64_t workers) {
  std::vector<BlockRange> blocks;
  if (workers <= 0 || total < 0) return blocks;
  const int64_t base = total / workers, extra = total % workers;
  int64_t offset = 0;
  for (int64_t r = 0; r < workers; ++r) {
    const int64_t len = base + (r < extra ? 1 : 0);
    blocks.push_back({offset, len});
    offset += len;
  }
  return blocks;
}

const StateBuffer* OptimizerState::find(std::string_view name) const {
  for (const StateBuffer& b : buffers)
    if (b.name == name) return &b;
  return nullptr;
}

Result<OptimizerState> gatherState(std::span<const OptimizerState> blocks) {
  if (blocks.empty()) return Error{"gatherState: no blocks given"};
  std::vector<const OptimizerState*> order;
  for (const OptimizerState& s : blocks) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const OptimizerState* a, const OptimizerState* b) {
    return a->block.offset < b->block.offset;
  });
  const OptimizerState& first = *order.front();
  OptimizerState whole{first.kind, first.step, BlockRange{first.block.offset, 0}, {}};
  for (const StateBuffer& b : first.buffers) whole.buffers.push_back({b.name, {}});

  int64_t expected = first.block.offset;
  for (const OptimizerState* s : order) {
    const std::string where = "gatherState: block " + rangeText(s->block);
    if (s->block.length < 0) return Error{where + " has a negative length"};
    if (s->block.offset != expected)
      return Error{where + (s->block.offset < expected ? " overlaps the block before it"
                                                       : " leaves a gap after offset " +
                                                             std::to_string(expected))};
    if (s->kind != first.kind) return Error{where + " is for another optimizer kind"};
    if (s->step != first.step)
      return Error{where + " is at step " + std::to_string(s->step) + ", the first block at step " +
                   std::to_string(first.step)};
    if (s->buffers.size() != whole.buffers.size())
      return Error{where + " has " + std::to_string(s->buffers.size()) + " state buffers, expected " +
                   std::to_string(whole.buffers.size())};
    for (size_t i = 0; i < s->buffers.size(); ++i) {
      const StateBuffer& b = s->buffers[i];
      if (b.name != whole.buffers[i].name)
        return Error{where + " has buffer '" + b.name + "' where '" + whole.buffers[i].name +
                     "' was expected"};
      if (static_cast<int64_t>(b.values.size()) != s->block.length)
        return Error{where + " buffer '" + b.name + "' has " + std::to_string(b.values.size()) +
                     " elements"};
      auto& out = whole.buffers[i].values;
      out.insert(out.end(), b.values.begin(), b.values.end());
    }
    expected = s->block.end();
  }
  whole.block.length = expected - whole.block.offset;
  return whole;
}

Result<OptimizerState> sliceState(const OptimizerState& state, BlockRange block) {
  if (block.length < 0 || block.offset < state.block.offset || block.end() > state.block.end())
    return Error{"sliceState: block " + rangeText(block) + " is not inside the state's " +
                 rangeText(state.block)};
  OptimizerState part{state.kind, state.step, block, {}};
  const auto from = static_cast<size_t>(block.offset - state.block.offset);
  for (const StateBuffer& b : state.buffers) {
    if (static_cast<int64_t>(b.values.size()) != state.block.length)
      return Error{"sliceState: buffer '" + b.name + "' has " + std::to_string(b.values.size()) +
                   " elements, the state's block " + std::to_string(state.block.length)};
    part.buffers.push_back(
        {b.name, std::vector<float>(b.values.begin() + static_cast<std::ptrdiff_t>(from),
                                    b.values.begin() + static_cast<std::ptrdiff_t>(from) + block.length)});
  }
  return part;
}

std::vector<std::pair<std::string, Tensor>> stateToTensors(const OptimizerState& state) {
  std::vector<std::pair<std::string, Tensor>> out;
  Tensor step(DType::I64, {});
  step.data<int64_t>()[0] = state.step;
  out.emplace_back("step", step);
  for (const StateBuffer& b : state.buffers) {
    Tensor t(DType::F32, {static_cast<int64_t>(b.values.size())});
    if (!b.values.empty()) std::memcpy(t.rawData(), b.values.data(), t.bytes());
    out.emplace_back(b.name, t);
  }
  return out;
}

Result<OptimizerState> stateFromTensors(const OptimizerConfig& config, int64_t length,
                                        std::span<const std::pair<std::string, Tensor>> tensors) {
  const std::string where = "optimizer state for " + std::string(optimizerName(config.kind)) + ": ";
  OptimizerState state{config.kind, 0, BlockRange{0, length}, {}};
  auto findTensor = [&](std::string_view name) -> const Tensor* {
    for (const auto& [n, t] : tensors)
      if (n == name) return &t;
    return nullptr;
  };
  const Tensor* step = findTensor("step");
  if (!step) return Error{where + "'step' is missing"};
  if (!step->defined() || step->numel() != 1)
    return Error{where + "'step' must be a scalar, got shape " + shapeToString(step->shape())};
  switch (step->dtype()) {
  case DType::I64: state.step = step->data<int64_t>()[0]; break;
  case DType::I32: state.step = step->data<int32_t>()[0]; break;
  case DType::F32: state.step = static_cast<int64_t>(step->data<float>()[0]); break; // torch's own
  case DType::F64: state.step = static_cast<int64_t>(step->data<double>()[0]); break;
  default: return Error{where + "'step' must be an integer, got " + std::string(dtypeName(step->dtype()))};
  }
  if (state.step < 0) return Error{where + "'step' must be >= 0, got " + std::to_string(state.step)};

  const std::vector<std::string> names = stateBufferNames(config);
  for (const std::string& name : names) {
    const Tensor* t = findTensor(name);
    if (!t) return Error{where + "buffer '" + name + "' is missing"};
    if (!t->defined() || t->dtype() != DType::F32 || t->numel() != length)
      return Error{where + "buffer '" + name + "' must be f32 with " + std::to_string(length) +
                   " elements, got " + std::string(dtypeName(t->dtype())) + shapeToString(t->shape())};
    const auto span = t->span<float>();
    state.buffers.push_back({name, std::vector<float>(span.begin(), span.end())});
  }
  for (const auto& [n, t] : tensors)
    if (n != "step" && std::find(names.begin(), names.end(), n) == names.end())
      return Error{where + "unexpected buffer '" + n +
                   "' (was it saved with other options, e.g. momentum or amsgrad?)"};
  return state;
}

} // namespace bdl::optim
