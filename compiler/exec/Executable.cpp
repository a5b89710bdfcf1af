#include "compiler/exec/Executable.h"

#include "compiler/codegen/Jit.h"
#include "compiler/exec/ReferenceExecutable.h"

#include <thread>

namespace bdl::exec {

std::string_view engineName(Engine e) { return e == Engine::Jit ? "jit" : "reference"; }

std::optional<Engine> engineFromName(std::string_view name) {
  if (name == "reference") return Engine::Reference;
  if (name == "jit") return Engine::Jit;
  return std::nullopt;
}

int threadsFor(int requested) {
  if (requested > 0) return requested;
  unsigned cores = std::thread::hardware_concurrency();
  return cores ? static_cast<int>(cores) : 1;
}

ir::Expected<std::unique_ptr<Executable>> compile(ir::Graph graph, const EngineOptions& options) {
  for (const ir::Node& n : graph.nodes)
    if (!n.type.isConcrete())
      return ir::makeError("cannot compile a graph with symbolic type " + n.type.toString() +
                           "; specialize it first");
  switch (options.engine) {
  case Engine::Reference: return makeReferenceExecutable(std::move(graph));
  case Engine::Jit: return codegen::compileJit(std::move(graph), options);
  }
  return ir::makeError("unknown engine");
}

} // namespace bdl::exec
