// check, dump and fmt: the commands that stop at the front end.
#include "tools/bdlc/Commands.h"

#include "bdl/bdl.h"
#include "compiler/sema/ModuleLoader.h"
#include "compiler/syntax/AstDump.h"
#include "compiler/syntax/Formatter.h"
#include "compiler/syntax/Parse.h"

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace bdl::cli {

namespace fs = std::filesystem;

bool useColor(const CommonOptions& options) {
  if (options.color == "always") return true;
  if (options.color == "never") return false;
  return isatty(fileno(stderr)) && !std::getenv("NO_COLOR");
}

void printDiagnostics(DiagnosticEngine& diags, const CommonOptions& options) {
  diags.sortBySource();
  diags.render(stderr, useColor(options));
  if (diags.errorCount() > 1) std::fprintf(stderr, "%zu errors generated.\n", diags.errorCount());
}

namespace {

// Parses one file on its own (no imports), for fmt.
std::unique_ptr<ast::Module> parseAlone(const std::string& path, SourceManager& sources, DiagnosticEngine& diags) {
  std::string text, error;
  if (!readFile(path, text, error)) {
    diags.error({}, fmt::format("cannot read '{}': {}", path, error));
    return nullptr;
  }
  FileId id = sources.addFile(path, std::move(text));
  return parseModule(sources, id, diags);
}

// Writes `text` to `path` through a temporary file and a rename, so that an
// interrupted fmt -i never leaves a half-written source file.
bool replaceFile(const std::string& path, const std::string& text, std::string& error) {
  std::string tmp = path + ".bdlfmt.tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      error = "cannot write " + tmp;
      return false;
    }
  }
  std::error_code ec;
  fs::permissions(tmp, fs::status(path, ec).permissions(), ec);
  fs::rename(tmp, path, ec);
  if (ec) {
    error = ec.message();
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

} // namespace

int runCheck(const std::vector<std::string>& files, const CommonOptions& options) {
  CompileOptions compile;
  compile.color = useColor(options);
  compile.errorLimit = options.errorLimit;
  size_t errors = 0;
  for (const std::string& file : files) {
    Result<Program> program = Program::compileFile(file, compile);
    if (program) continue;
    if (program.error().kind == Error::Kind::Internal) throw std::logic_error(program.error().message);
    std::fputs(program.error().rendered.c_str(), stderr);
    for (const Message& m : program.error().diagnostics) errors += m.severity == Message::Severity::Error;
  }
  if (errors > 1) std::fprintf(stderr, "%zu errors generated.\n", errors);
  return errors ? kUserError : kSuccess;
}

int runDumpAst(const std::string& file, const CommonOptions& options) {
  SourceManager sources;
  DiagnosticEngine diags(sources, options.errorLimit);
  std::unique_ptr<ast::Module> module = parseAlone(file, sources, diags);
  if (!module) {
    printDiagnostics(diags, options);
    return kUserError;
  }
  std::fputs(dumpAst(*module).c_str(), stdout);
  return kSuccess;
}

int runFmt(const std::vector<std::string>& files, bool inPlace, bool checkOnly, const CommonOptions& options) {
  int result = kSuccess;
  for (const std::string& file : files) {
    SourceManager sources;
    DiagnosticEngine diags(sources, options.errorLimit);
    std::unique_ptr<ast::Module> module = parseAlone(file, sources, diags);
    if (!module) {
      printDiagnostics(diags, options);
      result = kUserError;
      continue;
    }
    std::string formatted = formatModule(*module);
    const std::string& original = sources.file(module->file).text;
    if (checkOnly) {
      if (formatted != original) {
        std::fprintf(stderr, "%s: not in canonical form (run: bdlc fmt -i %s)\n", file.c_str(), file.c_str());
        result = kUserError;
      }
    } else if (inPlace) {
      std::string error;
      if (formatted != original && !replaceFile(file, formatted, error)) {
        std::fprintf(stderr, "bdlc: error: cannot rewrite '%s': %s\n", file.c_str(), error.c_str());
        result = kUserError;
      }
    } else {
      std::fputs(formatted.c_str(), stdout);
    }
  }
  return result;
}

} // namespace bdl::cli
