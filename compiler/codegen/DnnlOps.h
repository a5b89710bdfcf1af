// Matrix products and convolutions on oneDNN 2.x (op descriptor, then
// primitive descriptor, then primitive), created once at compile time and
// executed on the executable's stream with the plan's buffers; a
// convolution may instead run a direct kernel (ConvKernels.h) when that
// times faster.
#pragma once

#include "compiler/codegen/OrcCompiler.h"
#include "compiler/codegen/Program.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

// Conv2d, Conv2dGradInput and Conv2dGradWeight (f32, NCHW / OIHW in the
// plan). A convolution large enough to matter times its candidates (the
// layouts oneDNN is asked for times the implementations it offers for each,
// reorders from and to the plan included) on scratch buffers and keeps the
// fastest; the choice is recorded in `cacheDir` (when given) under a key of
// the convolution, the thread count, the host and the oneDNN version, so a
// warm start rebuilds it without timing. `choice` names what runs.
struct ConvStep {
  StepFn run;
  std::string choice; // "onednn nhwc jit:avx512_core", "kernel nchw direct"
};
struct ConvOptions {
  std::optional<std::filesystem::path> cacheDir; // nullopt: choices are not recorded
  HostTarget host;                               // part of a recorded choice's key
  // false: no timing, oneDNN's first implementation for `any` (the same
  // kernels on every cold compile of a machine; BDL_CONV_TIMING=0).
  bool timing = true;
};
std::optional<ConvStep> dnnlConv(const std::shared_ptr<DnnlRuntime>& rt, const ir::Graph& g, ir::ValueId out,
                                 const ConvOptions& options);

// For tests: the candidates of a convolution, in the order they are timed,
// and the step of one of them (nullopt if it is not a candidate).
std::vector<std::string> dnnlConvCandidates(const std::shared_ptr<DnnlRuntime>& rt, const ir::Graph& g,
                                            ir::ValueId out);
std::optional<StepFn> dnnlConvCandidate(const std::shared_ptr<DnnlRuntime>& rt, const ir::Graph& g,
                                        ir::ValueId out, const std::string& candidate);

} // namespace bdl::codegen
