// Text and Graphviz forms of a graph. The text form is stable (one line per
// node in graph order, attributes in a fixed order, only non-default ones)
// so golden tests can compare it; it is what `bdlc dump --stage=ir` prints.
#pragma once

#include "compiler/ir/Graph.h"

#include <string>

namespace bdl::ir {

struct PrintOptions {
  bool locations = false; // append "loc(file:line:col)" to nodes with a known location
};

std::string printGraph(const Graph& g, PrintOptions options = {});
std::string printNode(const Graph& g, ValueId id, PrintOptions options = {});
std::string printDot(const Graph& g);

} // namespace bdl::ir
