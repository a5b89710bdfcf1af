#include "tests/fuzz/FrontendCheck.h"

#include "compiler/syntax/AstDump.h"
#include "compiler/syntax/Formatter.h"
#include "compiler/syntax/Parse.h"

#include <fmt/format.h>

namespace bdl::fuzz {

namespace {

// "line N: `a` vs `b`" for the first line where two texts differ, so a
// failure report shows the difference instead of two whole files.
std::string firstDifference(const std::string& a, const std::string& b) {
  size_t line = 1, start = 0;
  for (size_t i = 0; i < a.size() && i < b.size() && a[i] == b[i]; ++i)
    if (a[i] == '\n') ++line, start = i + 1;
  auto lineAt = [&](const std::string& s) {
    size_t end = s.find('\n', start);
    return start > s.size() ? std::string() : s.substr(start, end == std::string::npos ? end : end - start);
  };
  return fmt::format("first difference at line {}:\n  first:  `{}`\n  second: `{}`", line, lineAt(a), lineAt(b));
}

// The comments of a module in source order, one per line of the result.
std::string commentTexts(const ast::Module& module) {
  std::string out;
  for (const ast::Comment& c : module.comments) out += c.text + "\n";
  return out;
}

struct Parsed {
  SourceManager sources;
  std::unique_ptr<DiagnosticEngine> diags;
  std::unique_ptr<ast::Module> module;
  std::string rendered; // every diagnostic, rendered as bdlc prints it
};

// One parse with its own SourceManager, as `bdlc fmt` does it. No error
// limit, so the error-recovery path runs to the end of the input.
std::unique_ptr<Parsed> parse(std::string name, std::string text) {
  auto p = std::make_unique<Parsed>();
  FileId id = p->sources.addFile(std::move(name), std::move(text));
  p->diags = std::make_unique<DiagnosticEngine>(p->sources, 0);
  p->module = parseModule(p->sources, id, *p->diags);
  p->diags->sortBySource();
  p->rendered = p->diags->renderToString();
  return p;
}

} // namespace

CheckResult checkFrontend(std::string_view input) {
  CheckResult result;
  std::unique_ptr<Parsed> first = parse("fuzz.bdl", std::string(input));
  if (!first->module) {
    if (!first->diags->hasErrors()) result.failure = "parseModule returned no module and reported no error";
    return result;
  }
  result.outcome = Outcome::Parsed;
  if (first->diags->hasErrors()) {
    result.failure = "parseModule returned a module and also reported errors:\n" + first->rendered;
    return result;
  }

  std::string formatted = formatModule(*first->module);
  std::string tree = dumpAst(*first->module, false);
  std::string located = dumpAst(*first->module, true); // exercised for coverage
  if (located.size() < tree.size()) {
    result.failure = "the AST dump with ranges is shorter than the one without";
    return result;
  }

  std::unique_ptr<Parsed> second = parse("fuzz.formatted.bdl", formatted);
  if (!second->module) {
    result.failure = "the formatted text does not parse:\n" + second->rendered + "--- formatted text:\n" + formatted;
    return result;
  }
  std::string reformatted = formatModule(*second->module);
  if (reformatted != formatted) {
    result.failure = "formatting is not idempotent; " + firstDifference(formatted, reformatted) +
                     "\n--- format(x):\n" + formatted + "--- format(parse(format(x))):\n" + reformatted;
    return result;
  }
  std::string comments = commentTexts(*first->module), commentsAgain = commentTexts(*second->module);
  if (commentsAgain != comments) {
    result.failure = "formatting changed the comments (every comment must be kept, in order); " +
                     firstDifference(comments, commentsAgain) + "\n--- formatted text:\n" + formatted;
    return result;
  }
  std::string treeAgain = dumpAst(*second->module, false);
  if (treeAgain != tree) {
    result.failure = "formatting changed the AST; " + firstDifference(tree, treeAgain) +
                     "\n--- formatted text:\n" + formatted;
    return result;
  }
  return result;
}

} // namespace bdl::fuzz
