// Fusion: groups element-wise and broadcast chains into one loop nest each;
// a sum, mean, max or min of a group's value can close the group as its root.
// Expects: a concrete graph in topological order.
// Guarantees: every group's members are fusable element-wise nodes (f32 or
//   bool) of one output shape, so no element is computed twice, except a
//   reduction root: the group's last member, reducing a member over some
//   axes (its output is smaller and always materialised); a group runs
//   at the position of its last member but the root, and no node outside it
//   reads a member before that (the root reads only its group, and whatever
//   reads the root comes after the root); `outputs` are the members read outside the group or by the
//   graph's outputs and state updates, the rest are never materialised.
//   With fusion off every fusable node is a group of its own.
#pragma once

#include "compiler/ir/Graph.h"

#include <optional>
#include <string>
#include <vector>

namespace bdl::codegen {

struct FusedGroup {
  std::vector<ir::ValueId> members; // in graph order
  std::vector<ir::ValueId> inputs;  // values from outside, first use order, distinct
  std::vector<ir::ValueId> outputs; // members materialised
  Shape shape;                      // every member's shape but the root's: the loop space
  std::optional<ir::ValueId> root;  // a reduction of a member, the last member
};

struct Fusion {
  std::vector<int> groupOf; // by value id; -1 outside every group
  std::vector<FusedGroup> groups;
};

// True for the element-wise ops the JIT compiles (f32 math, bool logic).
bool isFusable(const ir::Graph& g, ir::ValueId id);

// True for the reductions that can close a group (f32 sum, mean, max, min).
bool isReductionRoot(const ir::Graph& g, ir::ValueId id);

Fusion fuseElementwise(const ir::Graph& g, bool enabled);

// The canonical text of a group: ops, attributes, input shapes and strides,
// with values renumbered from 0, so equal groups of two graphs print equal.
std::string canonicalText(const ir::Graph& g, const FusedGroup& group);

} // namespace bdl::codegen
