// Elaboration: a loaded program → the graph IR of one model. Resolves names,
// evaluates compile-time values, inlines every `def` call with its instance
// path (`h1.W`, `out.b`, `blocks[0].conv.W`), unrolls `for`, selects `if`,
// instantiates `param` and `state`, binds and checks symbolic dimensions and
// runs each op's shape rule.
// Expects: a program whose modules all parsed (ModuleLoader succeeded).
// Guarantees: a verified forward graph whose inputs are the model's tensor
//   arguments, one Parameter per `param` instance, and outputs "out" (or
//   "out0", "out1", ... for several results); or diagnostics explaining why
//   not, each at the failing expression with notes on where shapes came from.
#pragma once

#include "compiler/ir/Graph.h"
#include "compiler/sema/ModuleLoader.h"

#include <optional>
#include <string>
#include <vector>

namespace bdl::sema {

struct ElaborateOptions {
  bool training = true; // the compile-time flag `training`
  uint64_t seed = 0;    // the job's seed (dropout masks)
};

struct ModelRef {
  size_t module = 0;
  const ast::DefDecl* decl = nullptr;
};

// The models a module defines, in source order.
std::vector<ModelRef> findModels(const LoadedProgram& program, size_t module = 0);
// The model named `name` in the root module (or null decl), with a
// diagnostic when it does not exist.
ModelRef findModel(const LoadedProgram& program, const std::string& name, DiagnosticEngine& diags);

std::optional<ir::Graph> elaborateModel(const LoadedProgram& program, ModelRef model,
                                        const ElaborateOptions& options, const SourceManager& sources,
                                        DiagnosticEngine& diags);

// Elaborates every model of the root module, in training and in evaluation
// mode; returns false if any failed.
bool checkProgram(const LoadedProgram& program, const SourceManager& sources, DiagnosticEngine& diags);

} // namespace bdl::sema
