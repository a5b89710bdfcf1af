// LLVM IR (text) for fused groups: one loop nest per group over its static
// shape, the inner loop unit-stride or broadcast for every operand so that
// the O3 pipeline vectorises it for the host CPU. Groups with a reduction
// root are emitted by ReduceEmit.
// Expects: groups from fuseElementwise. Guarantees: a module whose function
//   `<name>(ptr args, i64 begin, i64 end)` computes the group's elements with
//   linear indices [begin, end) (begin < end), reading args[0..inputs) and
//   writing args[inputs..inputs+outputs) (scalar f32 constants are inlined
//   and take no slot); inputs and outputs never overlap, except that with
//   `writesOver` (an input of the group's shape and its one output's bytes)
//   the output is stored through that input's pointer, each element after
//   it is loaded, and the output's own pointer is not used.
#pragma once

#include "compiler/codegen/Fusion.h"

#include <optional>
#include <string>
#include <vector>

namespace bdl::codegen {

// The pointers a group's kernel takes, in order: its non-inlined inputs,
// then its outputs.
std::vector<ir::ValueId> kernelArguments(const ir::Graph& g, const FusedGroup& group);

std::string emitGroupFunction(const ir::Graph& g, const FusedGroup& group, const std::string& name,
                              std::optional<ir::ValueId> writesOver = std::nullopt);

// The module around a list of functions: declarations of the math they call.
std::string emitModule(const std::vector<std::string>& functions);

} // namespace bdl::codegen
