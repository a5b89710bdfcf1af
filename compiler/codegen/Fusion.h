// Fusion: groups element-wise and broadcast chains into one loop nest each.
// Expects: a concrete graph in topological order.
// Guarantees: every group's members are fusable element-wise nodes (f32 or
//   bool) of one output shape, so no element is computed twice; a group runs
//   at the position of its last member and no node outside it reads a member
//   before that; `outputs` are the members read outside the group or by the
//   graph's outputs and state updates, the rest are never materialised.
//   With fusion off every fusable node is a group of its own.
#pragma once

#include "compiler/ir/Graph.h"

#include <string>
#include <vector>

namespace bdl::codegen {

struct FusedGroup {
  std::vector<ir::ValueId> members; // in graph order
  std::vector<ir::ValueId> inputs;  // values from outside, first use order, distinct
  std::vector<ir::ValueId> outputs; // members materialised
  Shape shape;                      // every member's shape
};

struct Fusion {
  std::vector<int> groupOf; // by value id; -1 outside every group
  std::vector<FusedGroup> groups;
};

// True for the element-wise ops the JIT compiles (f32 math, bool logic).
bool isFusable(const ir::Graph& g, ir::ValueId id);

Fusion fuseElementwise(const ir::Graph& g, bool enabled);

// The canonical text of a group: ops, attributes, input shapes and strides,
// with values renumbered from 0, so equal groups of two graphs print equal.
std::string canonicalText(const ir::Graph& g, const FusedGroup& group);

} // namespace bdl::codegen
