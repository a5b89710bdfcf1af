// Loads a root .bdl file and, transitively, every module it imports.
// `import std.nn` is `nn.bdl` in the standard library; `import a.b` is
// `a/b.bdl` beside the importing file or in a BDL_PATH directory;
// `import "x.bdl"` is a path relative to the importing file. An import cycle
// is a diagnostic naming the cycle. Guarantees: each file is parsed once.
#pragma once

#include "compiler/syntax/Ast.h"
#include "compiler/syntax/Diagnostics.h"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bdl {

struct LoadedModule {
  FileId file = kNoFile;
  std::filesystem::path path; // canonical
  std::unique_ptr<ast::Module> ast;
  // For each ImportDecl of `ast`, in order, the index of the module it names.
  std::map<const ast::ImportDecl*, size_t> imports;
};

struct ModuleSearchPaths {
  std::vector<std::filesystem::path> userDirs; // BDL_PATH, searched first
  std::filesystem::path stdlibDir;             // where std.* lives
  // From the environment (BDL_PATH) and the location of the executable or,
  // failing that, the source tree this build came from.
  static ModuleSearchPaths fromEnvironment();
};

struct LoadedProgram {
  std::vector<LoadedModule> modules; // the root is modules[0]
};

// Returns false if any file failed to load or parse (errors in `diags`).
bool loadProgram(const std::filesystem::path& root, const ModuleSearchPaths& paths, SourceManager& sources,
                 DiagnosticEngine& diags, LoadedProgram& out);

// The same with the root's text given (named `root` in diagnostics); its
// relative imports are found beside `root`.
bool loadProgramFromText(const std::filesystem::path& root, std::string text, const ModuleSearchPaths& paths,
                         SourceManager& sources, DiagnosticEngine& diags, LoadedProgram& out);

// Reads a whole file; on failure returns false and sets `error`.
bool readFile(const std::filesystem::path& path, std::string& text, std::string& error);

} // namespace bdl
