#include "compiler/sema/ModuleLoader.h"

#include "compiler/syntax/Parse.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace bdl {

namespace fs = std::filesystem;

bool readFile(const fs::path& path, std::string& text, std::string& error) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    error = "is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    error = "read failed";
    return false;
  }
  text = std::move(buffer).str();
  return true;
}

ModuleSearchPaths ModuleSearchPaths::fromEnvironment() {
  ModuleSearchPaths paths;
  if (const char* env = std::getenv("BDL_PATH")) {
    std::string list = env;
    size_t start = 0;
    while (start <= list.size()) {
      size_t colon = list.find(':', start);
      std::string dir = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!dir.empty()) paths.userDirs.emplace_back(dir);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  std::vector<fs::path> candidates;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    fs::path dir = fs::path(std::string(exe, static_cast<size_t>(n))).parent_path();
    candidates.push_back(dir / "stdlib");                        // build tree
    candidates.push_back(dir / ".." / "share" / "bdl" / "stdlib"); // installed
  }
#ifdef BDL_SOURCE_STDLIB_DIR
  candidates.emplace_back(BDL_SOURCE_STDLIB_DIR);
#endif
  for (const fs::path& c : candidates) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) {
      paths.stdlibDir = fs::weakly_canonical(c, ec);
      break;
    }
  }
  return paths;
}

namespace {

class Loader {
public:
  Loader(const ModuleSearchPaths& paths, SourceManager& sources, DiagnosticEngine& diags, LoadedProgram& out)
      : paths_(paths), sources_(sources), diags_(diags), out_(out) {}

  // Loads `path` (already resolved); returns its module index or -1.
  long load(const fs::path& path, SourceRange importedAt, std::optional<std::string> givenText = std::nullopt) {
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(path, ec);
    if (ec) canonical = path;
    for (size_t i = 0; i < stack_.size(); ++i) {
      if (stack_[i].path != canonical) continue;
      // Bare file names, unless two files of the cycle share one: then paths
      // relative to the first file's folder.
      std::set<std::string> names;
      for (size_t k = i; k < stack_.size(); ++k) names.insert(stack_[k].path.filename().string());
      bool ambiguous = names.size() < stack_.size() - i;
      fs::path base = stack_[i].path.parent_path(); // the folder all of them share
      for (size_t k = i + 1; k < stack_.size(); ++k) {
        fs::path common;
        auto a = base.begin();
        for (auto b = stack_[k].path.begin(); a != base.end() && b != stack_[k].path.end() && *a == *b; ++a, ++b)
          common /= *a;
        base = common;
      }
      auto shown = [&](const fs::path& p) {
        if (!ambiguous) return p.filename().string();
        std::error_code rel;
        fs::path r = fs::relative(p, base, rel);
        return rel || r.empty() ? p.string() : r.string();
      };
      std::string cycle;
      for (size_t k = i; k < stack_.size(); ++k) cycle += shown(stack_[k].path) + " -> ";
      cycle += shown(canonical);
      Diagnostic& d = diags_.error(importedAt, "import cycle: " + cycle);
      for (size_t k = i + 1; k < stack_.size(); ++k)
        d.notes.push_back({stack_[k].importedAt, fmt::format("{} is imported here", shown(stack_[k].path))});
      d.hint = "move what both modules need into a third module that imports neither";
      return -1;
    }
    if (auto it = byPath_.find(canonical); it != byPath_.end()) return static_cast<long>(it->second);

    std::string text, error;
    if (givenText) {
      text = std::move(*givenText);
    } else if (!readFile(canonical, text, error)) {
      diags_.error(importedAt, fmt::format("cannot read '{}': {}", path.string(), error));
      return -1;
    }
    FileId file = sources_.addFile(importedAt.valid() ? canonical.string() : path.string(), std::move(text));
    size_t index = out_.modules.size();
    out_.modules.push_back({file, canonical, nullptr, {}});
    byPath_[canonical] = index;
    std::unique_ptr<ast::Module> module = parseModule(sources_, file, diags_);
    if (!module) return -1;

    stack_.push_back({canonical, importedAt});
    std::map<const ast::ImportDecl*, size_t> imports;
    for (const ast::DeclPtr& decl : module->decls) {
      auto* import = decl->as<ast::ImportDecl>();
      if (!import) continue;
      std::optional<fs::path> target = resolve(*import, canonical.parent_path());
      if (!target) continue;
      long child = load(*target, import->range);
      if (child >= 0) imports[import] = static_cast<size_t>(child);
    }
    stack_.pop_back();
    out_.modules[index].ast = std::move(module);
    out_.modules[index].imports = std::move(imports);
    return static_cast<long>(index);
  }

private:
  std::optional<fs::path> resolve(const ast::ImportDecl& import, const fs::path& fromDir) {
    std::error_code ec;
    if (import.filePath) {
      fs::path p = import.filePath->value;
      if (p.is_relative()) p = fromDir / p;
      if (fs::is_regular_file(p, ec)) return p;
      diags_.error(import.filePath->range, fmt::format("cannot find '{}'", import.filePath->value))
          .notes.push_back({{}, fmt::format("looked for {}", p.string())});
      return std::nullopt;
    }
    std::string dotted;
    fs::path relative;
    for (const ast::Ident& part : import.modulePath) {
      dotted += (dotted.empty() ? "" : ".") + part.name;
      relative /= part.name;
    }
    relative += ".bdl";
    std::vector<fs::path> tried;
    auto found = [&](const fs::path& p) {
      tried.push_back(p);
      return fs::is_regular_file(p, ec);
    };
    for (const fs::path& dir : paths_.userDirs)
      if (found(dir / relative)) return dir / relative;
    bool isStd = import.modulePath.size() > 1 && import.modulePath[0].name == "std";
    if (isStd) {
      fs::path inStd;
      for (size_t i = 1; i < import.modulePath.size(); ++i) inStd /= import.modulePath[i].name;
      inStd += ".bdl";
      if (!paths_.stdlibDir.empty() && found(paths_.stdlibDir / inStd)) return paths_.stdlibDir / inStd;
    } else if (found(fromDir / relative)) {
      return fromDir / relative;
    }
    Diagnostic& d = diags_.error(import.range, fmt::format("cannot find module '{}'", dotted));
    for (const fs::path& p : tried) d.notes.push_back({{}, "looked for " + p.string()});
    if (isStd && paths_.stdlibDir.empty()) d.hint = "the standard library was not found; set BDL_PATH to a directory holding std/";
    else if (!isStd) d.hint = "set BDL_PATH to the directories that hold your modules, or import a file: import \"path/to/file.bdl\"";
    return std::nullopt;
  }

  struct OnStack {
    fs::path path;
    SourceRange importedAt;
  };

  const ModuleSearchPaths& paths_;
  SourceManager& sources_;
  DiagnosticEngine& diags_;
  LoadedProgram& out_;
  std::vector<OnStack> stack_;
  std::map<fs::path, size_t> byPath_;
};

} // namespace

bool loadProgramFromText(const fs::path& root, std::string text, const ModuleSearchPaths& paths, SourceManager& sources,
                         DiagnosticEngine& diags, LoadedProgram& out) {
  size_t before = diags.errorCount();
  Loader(paths, sources, diags, out).load(root, {}, std::move(text));
  return diags.errorCount() == before;
}

bool loadProgram(const fs::path& root, const ModuleSearchPaths& paths, SourceManager& sources, DiagnosticEngine& diags,
                 LoadedProgram& out) {
  size_t before = diags.errorCount();
  Loader(paths, sources, diags, out).load(root, {});
  return diags.errorCount() == before;
}

} // namespace bdl
