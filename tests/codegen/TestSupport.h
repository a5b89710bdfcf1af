// Helpers for the Jit tests: random f32 feeds, running a graph on both
// engines and comparing every output and state update within f32 tolerance.
#pragma once

#include "compiler/codegen/Jit.h"
#include "compiler/exec/Executable.h"
#include "compiler/interp/Interpreter.h"
#include "compiler/ir/Builder.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bdl::codegentest {

Tensor randomTensor(DType dtype, const Shape& shape, uint64_t seed, double lo = -1, double hi = 1);

// Feeds for every leaf of `g`: initial parameters and states, random f32
// inputs, integer inputs in [0, labelRange).
interp::Feeds randomFeeds(const ir::Graph& g, uint64_t seed, int64_t labelRange = 3);

// Largest |a - b| relative to max(1, max |b|), or +inf on shape/dtype mismatch.
double relativeDifference(const Tensor& a, const Tensor& b);

struct JitRun {
  bool fusion = true;
  int threads = 1;
  bool check = false; // checkAgainstReference
};

// Runs `g` on the reference interpreter and the Jit and expects every
// output and state update to agree within `tolerance` (relative to the
// tensor's largest magnitude). Returns the Jit's stats.
codegen::JitStats expectSameAsReference(const ir::Graph& g, const interp::Feeds& feeds, double tolerance = 2e-4,
                                        JitRun how = {});

// The Jit's outputs of `g` at `threads` threads (fusion on, no kernel cache).
std::map<std::string, Tensor> jitOutputs(const ir::Graph& g, const interp::Feeds& feeds, int threads);

// Builds y = f(params) on f32 parameters p0, p1, ... of the given shapes and
// ranges, adds loss = sum(y * r), differentiates, and compares forward and
// backward of the training graph, with fusion on and off.
struct ParamSpec {
  Shape shape;
  double lo = -1, hi = 1;
};
using BuildFn = std::function<ir::Expected<ir::ValueId>(ir::GraphBuilder&, const std::vector<ir::ValueId>&)>;
codegen::JitStats checkOp(const std::string& name, const std::vector<ParamSpec>& params, const BuildFn& build,
                          double tolerance = 2e-4);

} // namespace bdl::codegentest
