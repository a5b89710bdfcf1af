// Parsing: source text → AST. Checks the input is text a person wrote
// (size, UTF-8, no NUL), lexes, reports lexical and syntax errors in the
// user's terms, and builds the AST. ANTLR stays inside parser/.
#pragma once

#include "compiler/syntax/Ast.h"
#include "compiler/syntax/Diagnostics.h"

#include <memory>

namespace bdl {

// Source files larger than this are refused with a diagnostic; a generated
// model of 100,000 lines is about 4 MiB.
inline constexpr size_t kMaxSourceBytes = 8u << 20;
// Brackets and operator chains nested deeper than this are refused, which
// bounds the recursion of every later pass.
inline constexpr int kMaxNesting = 200;

// Parses one file. Returns null when it had errors (all reported to `diags`).
std::unique_ptr<ast::Module> parseModule(const SourceManager& sources, FileId file,
                                         DiagnosticEngine& diags);

} // namespace bdl
