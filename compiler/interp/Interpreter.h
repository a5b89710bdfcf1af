// The reference interpreter: runs a concrete (specialized) graph node by node
// with the plain-loop kernels of compiler/ir/ops. It is the oracle every
// faster path is tested against, so it favours clarity over speed.
//
//   Feeds feeds = initialParameters(graph, /*seed=*/42);   // parameters, states
//   feeds["x"] = images;                                    // inputs by name
//   Expected<RunResult> r = run(graph, feeds);
//   r->outputs.at("loss"), r->stateUpdates.at("bn.mean")
#pragma once

#include "compiler/ir/Error.h"
#include "compiler/ir/Graph.h"

#include <map>
#include <optional>
#include <string>

namespace bdl::interp {

// Values of the graph's leaves by full name: every Input, Parameter and State.
using Feeds = std::map<std::string, Tensor>;

struct RunResult {
  std::map<std::string, Tensor> outputs;      // by output name
  std::map<std::string, Tensor> stateUpdates; // new value of each updated state
};

// The feed for leaf `n` (an Input, Parameter or State), pointed to by `out`
// (it lives in `feeds`), or the
// error naming what is missing or mistyped. Every engine checks feeds so.
std::optional<ir::Error> checkFeed(const ir::Node& n, const Feeds& feeds, const Tensor*& out);

// Runs `g` (all types concrete) on `feeds`. Errors: a missing or mistyped
// feed, a symbolic type, bad run-time data (labels out of range).
ir::Expected<RunResult> run(const ir::Graph& g, const Feeds& feeds);

// Initial values of every Parameter and State of `g` from their initializers
// (see compiler/ir/Initializers.h). Types must be concrete.
Feeds initialParameters(const ir::Graph& g, uint64_t seed);

} // namespace bdl::interp
