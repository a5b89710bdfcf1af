// An executable graph: one concrete (specialized) graph compiled once for an
// engine and run many times. The trainer, `bdlc eval/predict` and the
// embedding API run graphs only through this interface, so the engine is a
// switch, not a code path.
//
//   EngineOptions opts;                              // engine, threads, fusion, cache
//   auto exe = compile(specialize(g, {{"N", 128}}).value(), opts);
//   if (!exe) report(exe.error().message);
//   Expected<interp::RunResult> r = (*exe)->run(feeds); // outputs, stateUpdates
//
// Engines: Reference runs compiler/interp's plain loops (the oracle);
// Jit is the fused LLVM/oneDNN engine of compiler/codegen.
#pragma once

#include "compiler/interp/Interpreter.h"
#include "compiler/ir/Error.h"
#include "compiler/ir/Graph.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace bdl::exec {

enum class Engine { Reference, Jit };

std::string_view engineName(Engine e); // "reference", "jit"
std::optional<Engine> engineFromName(std::string_view name);

struct EngineOptions {
  Engine engine = Engine::Reference;
  int threads = 1;          // worker threads of one run (kernels, oneDNN)
  bool fusion = true;       // --no-fusion turns it off (Jit)
  std::string cacheDir;     // kernel cache; empty: the engine's default; "-": disabled
  bool checkAgainstReference = false; // Jit: run the oracle too, name the first group that differs
  // Jit: time each convolution's candidate kernels at compile time and keep
  // the fastest (recorded in the kernel cache). A cold compile may pick
  // another candidate than the last one did (f32 rounding differs); false
  // takes oneDNN's own pick, the same on every compile of a machine.
  // BDL_CONV_TIMING=0 or 1 in the environment overrides it.
  bool timeConvolutions = true;
};

class Executable {
public:
  virtual ~Executable() = default;
  // Runs on `feeds` (every Input, Parameter and State by name, with the
  // graph's concrete types). Errors as values: a missing or mistyped feed,
  // bad run-time data (a label out of range).
  virtual ir::Expected<interp::RunResult> run(const interp::Feeds& feeds) = 0;
  virtual const ir::Graph& graph() const = 0;
  virtual Engine engine() const = 0;
};

// Threads for `requested` (0: every core of this machine, at least 1).
int threadsFor(int requested);

// Compiles a graph whose types are all concrete. Errors: a symbolic type, an
// engine that cannot compile this graph.
ir::Expected<std::unique_ptr<Executable>> compile(ir::Graph graph, const EngineOptions& options);

} // namespace bdl::exec
