// A graph with symbolic dimensions (the batch N) compiled once per binding
// of its symbols: the last batch of an epoch, predict's last chunk and a
// serving call of another size each get their own executable, kept.
#pragma once

#include "compiler/exec/Executable.h"

#include <map>
#include <memory>
#include <string>

namespace bdl::exec {

class SpecializedExecutables {
public:
  SpecializedExecutables(ir::Graph graph, EngineOptions options)
      : graph_(std::move(graph)), options_(std::move(options)) {}

  // The executable for `sizes` (every symbol of the graph bound), compiled
  // on first use. Errors: sizes that do not fit, a graph the engine cannot compile.
  ir::Expected<Executable*> get(const std::map<std::string, int64_t>& sizes);
  const ir::Graph& graph() const { return graph_; }

private:
  ir::Graph graph_;
  EngineOptions options_;
  std::map<std::map<std::string, int64_t>, std::unique_ptr<Executable>> compiled_;
};

} // namespace bdl::exec
