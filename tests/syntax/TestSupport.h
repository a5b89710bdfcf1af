// Helpers shared by the front-end tests: parse a string, read repo files.
#pragma once

#include "compiler/syntax/Diagnostics.h"
#include "compiler/syntax/Parse.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace bdl::test {

struct Parsed {
  SourceManager sources;
  std::unique_ptr<DiagnosticEngine> diags;
  std::unique_ptr<ast::Module> module;
  std::string errors() const { return diags->renderToString(); }
};

inline std::unique_ptr<Parsed> parse(std::string text, std::string name = "test.bdl") {
  auto p = std::make_unique<Parsed>();
  p->diags = std::make_unique<DiagnosticEngine>(p->sources);
  FileId id = p->sources.addFile(std::move(name), std::move(text));
  p->module = parseModule(p->sources, id, *p->diags);
  return p;
}

inline std::filesystem::path sourceDir() {
  const char* dir = std::getenv("BDL_SOURCE_DIR");
  return dir ? dir : BDL_TEST_SOURCE_DIR;
}

inline std::string readText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every .bdl file a user sees first: LANGUAGE.md's examples, examples/, stdlib/.
inline std::vector<std::filesystem::path> shippedBdlFiles() {
  std::vector<std::filesystem::path> files;
  for (const char* dir : {"tests/language", "examples", "stdlib"})
    for (const auto& entry : std::filesystem::directory_iterator(sourceDir() / dir))
      if (entry.path().extension() == ".bdl") files.push_back(entry.path());
  return files;
}

} // namespace bdl::test
