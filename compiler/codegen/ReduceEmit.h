// LLVM IR (text) for a group closed by a reduction root (sum, mean, max,
// min over any axes): the group's element-wise chain is computed inside the
// reduction's loop and only the members read elsewhere are stored.
// Expects: a group from fuseElementwise with `root` set.
// Guarantees: `<name>(ptr args, i64 begin, i64 end)` runs work items
//   [begin, end) of reduceLayout(); args are kernelArguments() (the root is
//   the last), then, with `partials`, a float buffer of `items` slots. Each
//   item owns whole output elements (or, with `partials`, one slot), and
//   each output's order of accumulation is fixed by the shapes alone, so
//   any split of the items over threads gives the same bits.
#pragma once

#include "compiler/codegen/Fusion.h"

#include <string>

namespace bdl::codegen {

struct ReduceLayout {
  ir::OpKind op = ir::OpKind::Sum;
  int64_t items = 1;     // work items of the function
  int64_t outputs = 1;   // root elements
  int64_t split = 1;     // items per output (chunks of its reduced rows or run), or per output row (column blocks)
  bool partials = false; // items write slot `item`: output o adds slots o*outputStride + c*chunkStride, c in order
  int64_t outputStride = 1, chunkStride = 1;
  double scale = 1;      // applied after combining: mean's 1 / reduced count
};

ReduceLayout reduceLayout(const ir::Graph& g, const FusedGroup& group);

std::string emitReduceFunction(const ir::Graph& g, const FusedGroup& group, const std::string& name);

} // namespace bdl::codegen
