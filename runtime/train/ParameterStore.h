// The values a job trains and carries between iterations: every trainable
// parameter packed into one flat f32 vector (the optimizer and the dist
// layer work on flat blocks), and every state tensor (running statistics,
// dropout's step counter) by name.
#pragma once

#include "compiler/interp/Interpreter.h"
#include "compiler/ir/Graph.h"
#include "runtime/tensor/Tensor.h"

#include <map>
#include <span>
#include <string>
#include <vector>

namespace bdl::train {

struct ParameterSlot {
  std::string name;
  Shape shape;
  size_t offset = 0; // into the flat vector
  size_t count = 0;
};

class ParameterStore {
public:
  // Layout from the graph's Parameter leaves (graph order) and initial values
  // of parameters and states from their initializers and `seed`. Every
  // trainable parameter must be f32.
  ParameterStore(const ir::Graph& graph, uint64_t seed);

  const std::vector<ParameterSlot>& slots() const { return slots_; }
  std::span<float> flat() { return flat_.span<float>(); }
  std::span<const float> flat() const { return flat_.span<float>(); }
  const std::map<std::string, Tensor>& states() const { return states_; }

  // Parameters (views of the flat vector, no copy) and states, by name.
  void addFeeds(interp::Feeds& feeds) const;
  // Packs the graph outputs "grad:<name>" into `grads` (same layout as flat()).
  void gatherGradients(const std::map<std::string, Tensor>& outputs, std::span<float> grads) const;
  void applyStateUpdates(const std::map<std::string, Tensor>& updates);

  // Every parameter and state by full name, for params.npz.
  std::vector<std::pair<std::string, Tensor>> named() const;
  // Replaces values from params.npz; throws TrainError naming the first
  // missing, unexpected or mis-shaped entry.
  void restore(const std::vector<std::pair<std::string, Tensor>>& named);

private:
  std::vector<ParameterSlot> slots_;
  Tensor flat_; // f32[total]: every parameter's elements, slot by slot
  std::map<std::string, Tensor> states_;
};

} // namespace bdl::train
