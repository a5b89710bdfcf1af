// The reference engine behind exec::compile: the graph as given, run by the
// interpreter node by node.
#pragma once

#include "compiler/exec/Executable.h"

namespace bdl::exec {

std::unique_ptr<Executable> makeReferenceExecutable(ir::Graph graph);

} // namespace bdl::exec
