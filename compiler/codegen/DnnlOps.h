// Matrix products and convolutions on oneDNN 2.x (op descriptor, then
// primitive descriptor, then primitive), created once at compile time and
// executed on the executable's stream with the plan's buffers.
#pragma once

#include "compiler/codegen/Program.h"

#include <memory>
#include <optional>

namespace bdl::codegen {

class DnnlRuntime; // engine + stream, shared by the steps of one executable
// `threads`: the OpenMP team of the executable's runs (EngineOptions::threads).
std::shared_ptr<DnnlRuntime> makeDnnlRuntime(int threads);

// An operand of a product, possibly read through a transpose of its last two
// dimensions (the transpose node itself is never materialised).
struct MatOperand {
  ir::ValueId value;      // the buffer read
  bool transposed = false; // value holds [.., k, m] for a logical [.., m, k]
};

// f32 matmul out = a @ b with batch broadcasting; nullopt when oneDNN
// cannot take it (the caller falls back to the reference kernel).
std::optional<StepFn> dnnlMatMul(const std::shared_ptr<DnnlRuntime>& rt, const ir::Graph& g,
                                 ir::ValueId out, MatOperand a, MatOperand b);

// Conv2d, Conv2dGradInput and Conv2dGradWeight (f32, NCHW / OIHW).
std::optional<StepFn> dnnlConv(const std::shared_ptr<DnnlRuntime>& rt, const ir::Graph& g, ir::ValueId out);

} // namespace bdl::codegen
