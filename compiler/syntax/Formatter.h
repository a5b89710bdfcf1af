// `bdlc fmt`: the canonical source form of a module. Two-space indentation,
// spaces around binary operators and named-argument `=`, train items aligned,
// pipeline stages one per line, calls broken one argument per line when they
// pass 80 columns. Every comment is kept. Formatting is idempotent.
#pragma once

#include "compiler/syntax/Ast.h"

#include <string>

namespace bdl {

std::string formatModule(const ast::Module& module);

} // namespace bdl
