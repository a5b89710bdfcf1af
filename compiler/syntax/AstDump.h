// `bdlc dump --stage=ast`: the AST as an indented tree, one node per line,
// each with its source range. Stable, so golden tests can compare it.
#pragma once

#include "compiler/syntax/Ast.h"

#include <string>

namespace bdl {

// With `withRanges` false the dump omits locations: two parses of sources
// that differ only in layout dump the same.
std::string dumpAst(const ast::Module& module, bool withRanges = true);

} // namespace bdl
