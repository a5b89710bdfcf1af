// Helpers for the sema tests: load a program from text or a file and
// elaborate one of its models.
#pragma once

#include "compiler/ir/Graph.h"
#include "compiler/sema/Elaborate.h"
#include "compiler/sema/ModuleLoader.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>

namespace bdl::test {

inline std::filesystem::path sourceDir() {
  const char* dir = std::getenv("BDL_SOURCE_DIR");
  return dir ? dir : BDL_TEST_SOURCE_DIR;
}

struct Elaborated {
  SourceManager sources;
  std::unique_ptr<DiagnosticEngine> diags = std::make_unique<DiagnosticEngine>(sources);
  LoadedProgram program;
  std::optional<ir::Graph> graph;
  std::string errors() const { return diags->renderToString(); }
};

// Elaborates `model` of the file at `path` (the stdlib of this source tree).
inline std::unique_ptr<Elaborated> elaborateFile(const std::filesystem::path& path, const std::string& model,
                                                 bool training = true) {
  auto e = std::make_unique<Elaborated>();
  ModuleSearchPaths paths;
  paths.stdlibDir = sourceDir() / "stdlib";
  if (!loadProgram(path, paths, e->sources, *e->diags, e->program)) return e;
  sema::ModelRef ref = sema::findModel(e->program, model, *e->diags);
  if (ref.decl) e->graph = sema::elaborateModel(e->program, ref, {training, 0}, e->sources, *e->diags);
  return e;
}

// The same for source text, written to a temporary file first.
inline std::unique_ptr<Elaborated> elaborateText(const std::string& text, const std::string& model,
                                                 bool training = true) {
  static int counter = 0;
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("bdl_sema_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".bdl");
  std::ofstream(path) << text;
  auto e = elaborateFile(path, model, training);
  std::filesystem::remove(path);
  return e;
}

} // namespace bdl::test
