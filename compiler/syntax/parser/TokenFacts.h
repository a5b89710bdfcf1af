// Facts about tokens that diagnostics need: where a token is, how to name it
// to a user, and what bracket construct an opening token starts.
#pragma once

#include "compiler/syntax/Source.h"

#include <Token.h>
#include <Vocabulary.h>
#include <string>
#include <vector>

namespace bdl::syntax {

SourceRange tokenRange(FileId file, const antlr4::Token* token);
// The zero-width range just after a token (where a missing token belongs).
SourceRange rangeAfter(FileId file, const antlr4::Token* token);
// "'}'", "end of file", "name 'x'", "number '12'", "keyword 'def'".
std::string describeToken(const antlr4::Token* token);
// "')'", "'def'", "a name", "a number" for a token type.
std::string describeTokenType(size_t type, const antlr4::dfa::Vocabulary& vocabulary);
// For an opening bracket at `index` in `tokens`: "call", "parameter list of
// 'Dense'", "shape", "list", "body of 'MLP'", ...
std::string describeOpening(const std::vector<antlr4::Token*>& tokens, size_t index);
// The closing bracket for an opening one, or 0.
size_t closerOf(size_t openType);

} // namespace bdl::syntax
