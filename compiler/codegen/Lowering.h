// Lowering: a concrete graph -> a Program (steps, homes, arena size).
// Expects: a verified graph whose types are all concrete.
// Guarantees: one step per fused group (LLVM), per matmul (oneDNN), per
//   convolution (the fastest of oneDNN's and the direct kernels, timed),
//   per pool/reduction/softmax/loss (f32 kernels) and per remaining node
//   (the reference kernel on copies: any graph runs); reshapes and state
//   updates alias their operand, transposes feeding only matmuls are folded
//   into the product, scalar shape counts become constants; memory planned.
#pragma once

#include "compiler/codegen/Fusion.h"
#include "compiler/codegen/Program.h"
#include "compiler/ir/Error.h"

#include <filesystem>
#include <optional>

namespace bdl::codegen {

struct LoweringOptions {
  bool fusion = true;
  int threads = 1; // the OpenMP team of runs (oneDNN sizes its kernels for it)
  std::optional<std::filesystem::path> cacheDir; // nullopt: no kernel cache
  bool timeConvolutions = true; // EngineOptions::timeConvolutions
  // Stop once the plan and the module's text are made, without compiling
  // the module (`dump --stage=llvm`): the program cannot run.
  bool emitOnly = false;
};

ir::Expected<Program> lower(const ir::Graph& g, const LoweringOptions& options);

// The LLVM module of the graph's fused groups (text, before optimisation).
// `writesOver[i]`: the input group i's output is stored over, if any.
std::string groupsModule(const ir::Graph& g, const Fusion& fusion,
                         const std::vector<std::optional<ir::ValueId>>& writesOver = {});

} // namespace bdl::codegen
