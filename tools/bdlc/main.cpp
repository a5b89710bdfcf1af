// bdlc: the command line of the BDL compiler and runtime.
#include "tools/bdlc/Commands.h"
#include "tools/bdlc/Version.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

using namespace bdl::cli;

int main(int argc, char** argv) {
  CLI::App app{"bdlc: compile, check and run BDL model definitions"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bdlc ") + bdl::kVersion);
  app.footer("Exit codes: 0 success, 1 errors in the input, 2 bad usage, 3 internal error.\n"
             "Environment: BDL_PATH (module search directories), NO_COLOR.");

  CommonOptions common;
  app.add_option("--color", common.color, "Colour diagnostics: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  app.add_option("--error-limit", common.errorLimit, "Stop after this many errors (0: no limit)")
      ->capture_default_str();

  std::vector<std::string> checkFiles;
  CLI::App* check = app.add_subcommand("check", "Parse and check files and the modules they import");
  check->add_option("files", checkFiles, "BDL files")->required()->check(CLI::ExistingFile);
  check->footer("Example:\n  bdlc check examples/fashion_mlp.bdl");

  std::string dumpFile, stage = "ast";
  CLI::App* dump = app.add_subcommand("dump", "Print a file after a compiler stage");
  dump->add_option("--stage", stage, "Stage to show: ast")->capture_default_str();
  dump->add_option("file", dumpFile, "BDL file")->required()->check(CLI::ExistingFile);
  dump->footer("Example:\n  bdlc dump --stage=ast examples/fashion_mlp.bdl");

  std::vector<std::string> fmtFiles;
  bool inPlace = false, checkOnly = false;
  CLI::App* fmtCmd = app.add_subcommand("fmt", "Print files in canonical form");
  fmtCmd->add_option("files", fmtFiles, "BDL files")->required()->check(CLI::ExistingFile);
  fmtCmd->add_flag("-i,--in-place", inPlace, "Rewrite the files instead of printing them");
  fmtCmd->add_flag("--check", checkOnly, "Print nothing; exit 1 if a file is not in canonical form");
  fmtCmd->footer("Examples:\n  bdlc fmt model.bdl\n  bdlc fmt -i model.bdl\n  bdlc fmt --check *.bdl");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kSuccess : kUsageError;
  }

  try {
    if (*check) return runCheck(checkFiles, common);
    if (*dump) return runDump(dumpFile, stage, common);
    if (*fmtCmd) return runFmt(fmtFiles, inPlace, checkOnly, common);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bdlc: internal error: %s\nPlease report this with the input that caused it.\n", e.what());
    return kInternalError;
  }
  return kUsageError;
}
