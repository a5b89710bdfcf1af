// The named, serialisable state of an optimizer over one block of the flat
// parameter vector, and re-sharding: state is per element, so blocks gather
// into the full vector and the full vector slices into any other blocks.
#pragma once

#include "runtime/optim/OptimizerConfig.h"
#include "runtime/optim/Result.h"
#include "runtime/tensor/Tensor.h"

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace bdl::optim {

// A contiguous range [offset, offset + length) of the flat parameter vector.
struct BlockRange {
  int64_t offset = 0;
  int64_t length = 0;
  int64_t end() const { return offset + length; }
  bool operator==(const BlockRange&) const = default;
};

// The W contiguous blocks the dist layer uses: sizes differ by at most one,
// the first (total % W) blocks one longer. Some are empty when W > total.
std::vector<BlockRange> splitIntoBlocks(int64_t total, int64_t workers);

struct StateBuffer {
  std::string name; // torch's state key: "exp_avg", "momentum_buffer", ...
  std::vector<float> values; // one per element of the block
};

struct OptimizerState {
  OptimizerKind kind = OptimizerKind::Sgd;
  int64_t step = 0; // optimizer steps taken so far (torch's state["step"])
  BlockRange block;
  std::vector<StateBuffer> buffers; // in stateBufferNames() order

  const StateBuffer* find(std::string_view name) const;
};

// Joins the states of blocks that tile [0, total) (in any order) into the
// state of the whole vector. Errors if they overlap, leave gaps, disagree on
// kind, step or buffer names.
Result<OptimizerState> gatherState(std::span<const OptimizerState> blocks);

// The part of a state that covers `block`, which must lie inside it.
Result<OptimizerState> sliceState(const OptimizerState& state, BlockRange block);

// For optimizer.npz: one f32 tensor of shape [length] per buffer, by its
// name, and "step" as an i64 scalar. Offsets are not stored: a checkpoint
// holds the gathered, whole-vector state (offset 0).
std::vector<std::pair<std::string, Tensor>> stateToTensors(const OptimizerState& state);

// The inverse, checked against what `config` needs: every buffer present
// with `length` f32 elements, "step" an integer scalar, no unknown names.
Result<OptimizerState> stateFromTensors(const OptimizerConfig& config, int64_t length,
                                        std::span<const std::pair<std::string, Tensor>> tensors);

} // namespace bdl::optim
