// The Jit engine behind exec::compile(graph, {.engine = Engine::Jit}):
// element-wise chains fused and compiled by LLVM (ORC LLJIT, O3, host CPU),
// matmul and convolutions on oneDNN, f32 kernels for pooling, reductions and
// losses, the reference kernel for anything else; one arena per executable.
//
//   exec::EngineOptions opts{.engine = exec::Engine::Jit, .threads = 2};
//   auto exe = codegen::compileJit(std::move(concreteGraph), opts);
//   auto r = (*exe)->run(feeds);          // same RunResult as interp::run
//   std::string groups = codegen::dumpFused(concreteGraph);
//
// This library includes compiler/exec/Executable.h for the interface only
// (header, no link dependency), so bdl_exec can link bdl_codegen.
#pragma once

#include "compiler/exec/Executable.h"

#include <cstddef>
#include <optional>
#include <string>

namespace bdl::codegen {

ir::Expected<std::unique_ptr<exec::Executable>> compileJit(ir::Graph graph, const exec::EngineOptions& options);

// What a Jit executable was compiled into (tests, benchmarks, `bdlc` verbose).
struct JitStats {
  size_t arenaBytes = 0; // peak of the memory plan
  int steps = 0;
  int fusedGroups = 0;
  int referenceSteps = 0; // nodes run by the reference kernel (fallback)
  std::string referenceOps; // their labels, one per line
  bool cacheHit = false;  // the LLVM kernels came from the kernel cache
  double compileMs = 0;
};
std::optional<JitStats> jitStats(const exec::Executable& exe);

// The texts of `bdlc dump --stage=fused|llvm|plan` for a concrete graph.
std::string dumpFused(const ir::Graph& graph, bool fusion = true);
ir::Expected<std::string> dumpLlvm(const ir::Graph& graph, bool optimized = false, bool fusion = true);
ir::Expected<std::string> dumpPlan(const ir::Graph& graph, bool fusion = true);

} // namespace bdl::codegen
