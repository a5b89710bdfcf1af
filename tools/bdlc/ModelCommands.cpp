// params and dump --stage=ir|grad: the commands that elaborate one model.
#include "tools/bdlc/Commands.h"

#include "bdl/bdl.h"
#include "compiler/codegen/Jit.h"
#include "compiler/ir/Printer.h"
#include "compiler/ir/Specialize.h"
#include "compiler/passes/DeadCode.h"
#include "compiler/passes/Autodiff.h"
#include "compiler/sema/AddLoss.h"
#include "compiler/sema/Elaborate.h"
#include "compiler/sema/ModuleLoader.h"

#include <cstdio>
#include <fmt/format.h>
#include <stdexcept>

namespace bdl::cli {

namespace {

// Loads `file` and elaborates the model the options name (or its only one).
std::optional<ir::Graph> loadModel(const std::string& file, const ModelOptions& model, bool training,
                                   SourceManager& sources, DiagnosticEngine& diags) {
  LoadedProgram program;
  if (!loadProgram(file, ModuleSearchPaths::fromEnvironment(), sources, diags, program)) return std::nullopt;
  sema::ModelRef ref;
  if (model.model.empty()) {
    std::vector<sema::ModelRef> models = sema::findModels(program);
    if (models.size() != 1) {
      std::string names;
      for (const auto& m : models) names += (names.empty() ? "" : ", ") + m.decl->name.name;
      diags.error({}, models.empty() ? fmt::format("'{}' defines no model", file)
                                     : fmt::format("'{}' defines several models; choose one with --model", file))
          .hint = names.empty() ? "a model is declared with 'model Name(x: f32[N, ...]) -> ... { ... }'"
                                : "the models are: " + names;
      return std::nullopt;
    }
    ref = models[0];
  } else {
    ref = sema::findModel(program, model.model, diags);
    if (!ref.decl) return std::nullopt;
  }
  return sema::elaborateModel(program, ref, {training, 0}, sources, diags);
}

std::string withThousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Prints an API error: diagnostics for the user's mistakes; an internal
// error is a bug and ends with exit code 3.
int report(const Error& error) {
  if (error.kind == Error::Kind::Internal) throw std::logic_error(error.message);
  std::fputs(error.rendered.c_str(), stderr);
  size_t errors = 0;
  for (const Message& m : error.diagnostics) errors += m.severity == Message::Severity::Error;
  if (errors > 1) std::fprintf(stderr, "%zu errors generated.\n", errors);
  return kUserError;
}

} // namespace

int runParams(const std::string& file, const ModelOptions& model, const CommonOptions& options) {
  CompileOptions compile;
  compile.color = useColor(options);
  compile.errorLimit = options.errorLimit;
  Result<Program> program = Program::compileFile(file, compile);
  if (!program) return report(program.error());
  std::string name = model.model;
  if (name.empty()) {
    std::vector<std::string> models = program->models();
    if (models.size() != 1) {
      std::string list;
      for (const std::string& m : models) list += (list.empty() ? "" : ", ") + m;
      std::fprintf(stderr, "bdlc: error: '%s' defines %s; choose one with --model\n%s", file.c_str(),
                   models.empty() ? "no model" : "several models",
                   models.empty() ? "" : ("hint: the models are: " + list + "\n").c_str());
      return models.empty() ? kUserError : kUsageError;
    }
    name = models[0];
  }
  Result<Model> m = program->model(name);
  if (!m) return report(m.error());
  struct Row {
    std::string name, type, count;
  };
  std::vector<Row> rows;
  int64_t stateTotal = 0;
  size_t nameWidth = 5, typeWidth = 4;
  for (const ParameterInfo& p : m->parameters()) {
    if (!p.trainable) stateTotal += p.count;
    std::string type = fmt::format("{}{}", dtypeName(p.dtype), shapeToString(p.shape));
    rows.push_back({p.name + (p.trainable ? "" : " (state)"), type, withThousands(p.count)});
    nameWidth = std::max(nameWidth, rows.back().name.size());
    typeWidth = std::max(typeWidth, type.size());
  }
  std::string out;
  for (const Row& r : rows) out += fmt::format("{:<{}}  {:<{}}  {:>12}\n", r.name, nameWidth, r.type, typeWidth, r.count);
  out += fmt::format("{:<{}}  {:<{}}  {:>12}\n", "total", nameWidth, "", typeWidth, withThousands(m->parameterCount()));
  if (stateTotal) out += fmt::format("{:<{}}  {:<{}}  {:>12}\n", "state", nameWidth, "", typeWidth, withThousands(stateTotal));
  std::fputs(out.c_str(), stdout);
  return kSuccess;
}

int runDumpGraph(const std::string& file, const std::string& stage, const ModelOptions& model,
                 const CommonOptions& options) {
  SourceManager sources;
  DiagnosticEngine diags(sources, options.errorLimit);
  bool codegenStage = stage == "fused" || stage == "llvm" || stage == "plan";
  bool training = codegenStage ? model.training : stage != "eval";
  std::optional<ir::Graph> graph = loadModel(file, model, training, sources, diags);
  if (!graph) {
    printDiagnostics(diags, options);
    return kUserError;
  }
  if (stage == "grad" || (codegenStage && training)) {
    ir::Expected<ir::Graph> withLoss = sema::addLoss(std::move(*graph), model.loss);
    ir::Expected<ir::Graph> training =
        withLoss ? passes::buildTrainingGraph(*withLoss, "loss") : ir::Expected<ir::Graph>(withLoss.error());
    if (!training) {
      std::fprintf(stderr, "bdlc: error: %s\n", training.error().message.c_str());
      return kUserError;
    }
    graph = std::move(*training);
  }
  if (codegenStage) {
    // The engine compiles concrete graphs: bind every batch symbol.
    std::map<std::string, int64_t> sizes;
    for (const ir::Node& n : graph->nodes)
      for (const ir::Dim& d : n.type.dims)
        if (d.isSymbolic()) sizes[d.symbol] = model.batch;
    ir::Expected<ir::Graph> concrete = ir::specialize(passes::eliminateDeadCode(*graph), sizes);
    if (!concrete) {
      std::fprintf(stderr, "bdlc: error: %s\n", concrete.error().message.c_str());
      return kUserError;
    }
    ir::Expected<std::string> text = stage == "fused"  ? ir::Expected<std::string>(codegen::dumpFused(*concrete, !model.noFusion))
                                     : stage == "llvm" ? codegen::dumpLlvm(*concrete, false, !model.noFusion)
                                                       : codegen::dumpPlan(*concrete, !model.noFusion);
    if (!text) {
      std::fprintf(stderr, "bdlc: error: %s\n", text.error().message.c_str());
      return kUserError;
    }
    std::fputs(text->c_str(), stdout);
    return kSuccess;
  }
  std::string text = model.format == "dot" ? ir::printDot(*graph) : ir::printGraph(*graph);
  std::fputs(text.c_str(), stdout);
  return kSuccess;
}

} // namespace bdl::cli
