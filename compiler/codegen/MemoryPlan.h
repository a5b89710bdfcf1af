// MemoryPlan: one arena for every value a step writes, reused by liveness.
// Expects: a Program whose steps list their inputs and outputs, with the
//   homes of step outputs set to Arena (bytes filled in) and every other
//   value's home set (Feed, Constant, Alias, None).
// Guarantees: offsets (64-byte aligned) such that no two values live at the
//   same step overlap, except a step's one output taking over exactly the
//   block of one of its inPlaceInputs that dies there (recorded in the
//   step's writesOver); values read by the graph's outputs or state
//   updates live to the end; arenaBytes is the peak.
#pragma once

#include "compiler/codegen/Program.h"

#include <string>

namespace bdl::codegen {

void planMemory(const ir::Graph& g, Program& program);

// `bdlc dump --stage=plan`: steps, the buffers they touch, and the peak.
std::string describePlan(const ir::Graph& g, const Program& program);

} // namespace bdl::codegen
