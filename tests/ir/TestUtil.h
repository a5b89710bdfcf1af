// Helpers for the IR tests: random tensors, running a graph through
// autodiff and the interpreter, and checking gradients against central
// finite differences in f64.
#pragma once

#include "compiler/interp/Interpreter.h"
#include "compiler/ir/Builder.h"

#include <functional>
#include <string>
#include <vector>

namespace bdl::irtest {

// Uniform values in [lo, hi); with awayFromZero, magnitudes are at least
// 0.15 * max(|lo|, |hi|) so kinks (relu, abs, max) are not straddled by FD.
Tensor randomTensor(DType dtype, const Shape& shape, uint64_t seed, double lo = -1.0,
                    double hi = 1.0, bool awayFromZero = false);
Tensor makeTensor(DType dtype, const Shape& shape, const std::vector<double>& values);
std::vector<double> values(const Tensor& t);

struct ParamSpec {
  Shape shape;
  double lo = -1, hi = 1;
  bool awayFromZero = false;
};

// Builds y = f(params...) with f64 parameters p0, p1, ..., adds the scalar
// loss sum(y * r) for a fixed random r, differentiates it and compares every
// parameter gradient with central differences. Reports failures with gtest.
using BuildFn = std::function<ir::Expected<ir::ValueId>(ir::GraphBuilder&,
                                                         const std::vector<ir::ValueId>&)>;
void checkGradients(const std::string& name, const std::vector<ParamSpec>& params,
                    const BuildFn& build, double tolerance = 1e-6);

} // namespace bdl::irtest
