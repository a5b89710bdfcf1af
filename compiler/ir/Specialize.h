// specialize: binds symbolic dimensions (e.g. the batch size N) to sizes and
// re-runs every shape rule, giving a graph whose types are all concrete, as
// the interpreter and the JIT need. Expects a verified graph; guarantees a
// verified graph with no symbolic dimension, or an Error naming the node.
#pragma once

#include "compiler/ir/Error.h"
#include "compiler/ir/Graph.h"

#include <map>
#include <string>

namespace bdl::ir {

Expected<Graph> specialize(const Graph& g, const std::map<std::string, int64_t>& sizes);

} // namespace bdl::ir
