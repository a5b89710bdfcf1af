#include "compiler/exec/Executable.h"

#include "compiler/codegen/Jit.h"
#include "compiler/exec/ReferenceExecutable.h"

namespace bdl::exec {

std::string_view engineName(Engine e) { return e == Engine::Jit ? "jit" : "reference"; }

std::optional<Engine> engineFromName(std::string_view name) {
  if (name == "reference") return Engine::Reference;
  if (name == "jit") return Engine::Jit;
  return std::nullopt;
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
