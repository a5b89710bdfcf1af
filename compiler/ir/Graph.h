// The graph IR: a list of single-result nodes in topological order (every
// operand precedes its user), named outputs, and StateUpdate nodes as the
// graph's side effects. Nodes are plain data; GraphBuilder creates them and
// checks their types, Verifier re-checks a whole graph.
#pragma once

#include "compiler/ir/Location.h"
#include "compiler/ir/OpKind.h"
#include "compiler/ir/Types.h"
#include "runtime/tensor/Tensor.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bdl::ir {

using ValueId = uint32_t; // index of the node that produces the value

enum class InitKind : uint8_t {
  Zeros, Ones, Constant, Uniform, Normal, GlorotUniform, GlorotNormal, HeUniform, HeNormal
};

// How a Parameter or State gets its first value (see Initializers.h).
struct Initializer {
  InitKind kind = InitKind::Zeros;
  double a = 0; // constant(v): v; uniform(lo, hi): lo; normal(mean, std): mean
  double b = 0; // uniform: hi; normal: std

  static Initializer zeros() { return {InitKind::Zeros}; }
  static Initializer ones() { return {InitKind::Ones}; }
  static Initializer constant(double v) { return {InitKind::Constant, v}; }
  static Initializer uniform(double lo, double hi) { return {InitKind::Uniform, lo, hi}; }
  static Initializer normal(double mean, double std) { return {InitKind::Normal, mean, std}; }
  static Initializer glorotUniform() { return {InitKind::GlorotUniform}; }
  static Initializer glorotNormal() { return {InitKind::GlorotNormal}; }
  static Initializer heUniform() { return {InitKind::HeUniform}; }
  static Initializer heNormal() { return {InitKind::HeNormal}; }
  bool operator==(const Initializer&) const = default;
  std::string toString() const; // "glorot_uniform()", "uniform(-0.1, 0.1)"
};

// Attributes of all ops in one plain struct; each op uses the fields its
// family documents and leaves the others at their defaults, so that equality
// (for CSE) and printing are uniform.
struct Attrs {
  std::vector<int64_t> axes;  // reduce axes (empty: all), transpose perm, the axis of
                              // softmax/log_softmax/argmax/concat/slice/pad
  Dims shape;                 // target of reshape/broadcast_to; input or weight dims of
                              // the *_grad ops
  bool keepdims = false;
  double alpha = 0;           // leaky_relu/elu alpha, dropout p
  int64_t start = 0, end = 0; // slice [start, end); pad before/after
  int64_t count = 0;          // one_hot classes, top_k k, conv groups
  std::array<int64_t, 2> window{0, 0}, stride{1, 1}, padding{0, 0}, dilation{1, 1};
  uint64_t seed = 0;          // dropout
  DType dtype = DType::F32;   // cast / one_hot / num_elements result type
  bool operator==(const Attrs&) const = default;
};

struct Node {
  OpKind op = OpKind::Constant;
  std::vector<ValueId> operands;
  TensorType type;
  Attrs attrs;
  Location loc;
  std::string name;  // Input / Parameter / State: the full name (e.g. "h1.W")
  Initializer init;  // Parameter / State
  Tensor value;      // Constant
};

struct GraphOutput {
  std::string name;
  ValueId value = 0;
};

struct Graph {
  std::vector<Node> nodes;
  std::vector<GraphOutput> outputs;
  std::vector<std::string> files; // Location::fileId indexes this (optional)

  const Node& node(ValueId id) const { return nodes.at(id); }
  const TensorType& type(ValueId id) const { return nodes.at(id).type; }
  size_t size() const { return nodes.size(); }
  std::optional<ValueId> findOutput(std::string_view name) const;
  // The leaf (Input, Parameter or State) of that op and name.
  std::optional<ValueId> findLeaf(OpKind op, std::string_view name) const;
  std::vector<ValueId> leaves(OpKind op) const; // in graph order
};

} // namespace bdl::ir
