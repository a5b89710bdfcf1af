// The one builder from ANTLR's parse tree to the AST: expects an error-free
// tree; guarantees every node has its source range. Reports the few errors
// the grammar cannot (integer overflow, operator chains nested too deep).
#pragma once

#include "compiler/syntax/Ast.h"
#include "compiler/syntax/Diagnostics.h"

#include "BdlParser.h"

namespace bdl::syntax {

bool buildAst(grammar::BdlParser::FileContext* tree, FileId file, ast::Module& module, DiagnosticEngine& diags);

} // namespace bdl::syntax
