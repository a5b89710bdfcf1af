#include "compiler/syntax/parser/TokenFacts.h"

#include "BdlLexer.h"

#include <fmt/format.h>

namespace bdl::syntax {

using L = grammar::BdlLexer;

namespace {

uint32_t codePoints(const std::string& s) {
  uint32_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// Where a token ends: after its last character, across newlines for block
// comments.
SourceLoc endOf(const antlr4::Token* t) {
  std::string text = t->getText();
  uint32_t line = static_cast<uint32_t>(t->getLine());
  uint32_t col = static_cast<uint32_t>(t->getCharPositionInLine()) + 1;
  size_t nl = text.rfind('\n');
  if (nl == std::string::npos) return {line, col + codePoints(text)};
  for (char c : text) line += c == '\n';
  return {line, 1 + codePoints(text.substr(nl + 1))};
}

bool isDTypeName(const std::string& s) {
  return s == "f32" || s == "f64" || s == "i32" || s == "i64" || s == "bool";
}

} // namespace

SourceRange tokenRange(FileId file, const antlr4::Token* t) {
  SourceLoc begin{static_cast<uint32_t>(t->getLine()), static_cast<uint32_t>(t->getCharPositionInLine()) + 1};
  if (t->getType() == antlr4::Token::EOF) return {file, begin, begin};
  return {file, begin, endOf(t)};
}

SourceRange rangeAfter(FileId file, const antlr4::Token* t) {
  SourceLoc end = tokenRange(file, t).end;
  return {file, end, end};
}

std::string describeTokenType(size_t type, const antlr4::dfa::Vocabulary& vocabulary) {
  switch (type) {
  case antlr4::Token::EOF: return "end of file";
  case L::IDENT: return "a name";
  case L::INT: return "an integer";
  case L::FLOAT: return "a number";
  case L::STRING: return "a string";
  default: break;
  }
  std::string literal = vocabulary.getLiteralName(type);
  return literal.empty() ? "a token" : literal;
}

std::string describeToken(const antlr4::Token* t) {
  size_t type = t->getType();
  std::string text = t->getText();
  if (text.size() > 24) text = text.substr(0, 21) + "...";
  switch (type) {
  case antlr4::Token::EOF: return "end of file";
  case L::IDENT: return fmt::format("name '{}'", text);
  case L::INT:
  case L::FLOAT: return fmt::format("number '{}'", text);
  case L::STRING: return fmt::format("string {}", text);
  default: break;
  }
  if (type >= L::IMPORT && type <= L::ITERATIONS) return fmt::format("keyword '{}'", text);
  return fmt::format("'{}'", text);
}

size_t closerOf(size_t openType) {
  switch (openType) {
  case L::LPAREN: return L::RPAREN;
  case L::LBRACK: return L::RBRACK;
  case L::LBRACE: return L::RBRACE;
  default: return 0;
  }
}

std::string describeOpening(const std::vector<antlr4::Token*>& tokens, size_t index) {
  auto typeAt = [&](size_t i) -> size_t { return i < tokens.size() ? tokens[i]->getType() : 0; };
  auto textAt = [&](size_t i) { return i < tokens.size() ? tokens[i]->getText() : std::string(); };
  size_t open = typeAt(index);
  size_t prev = index > 0 ? typeAt(index - 1) : 0;
  size_t prev2 = index > 1 ? typeAt(index - 2) : 0;
  if (open == L::LPAREN) {
    if (prev == L::IDENT && (prev2 == L::DEF || prev2 == L::MODEL || prev2 == L::PIPELINE))
      return fmt::format("parameter list of '{}'", textAt(index - 1));
    if (prev == L::ARROW) return "result types";
    if (prev == L::IDENT || prev == L::RPAREN || prev == L::RBRACK)
      return prev == L::IDENT ? fmt::format("call of '{}'", textAt(index - 1)) : "call";
    return "parenthesis";
  }
  if (open == L::LBRACK) {
    if (prev == L::IDENT && isDTypeName(textAt(index - 1))) return "shape";
    if (prev == L::IDENT || prev == L::RPAREN || prev == L::RBRACK) return "index";
    return "list";
  }
  // A brace: find the construct it opens by walking back to its keyword.
  for (size_t i = index; i-- > 0;) {
    switch (typeAt(i)) {
    case L::DEF:
    case L::MODEL: return fmt::format("body of '{}'", textAt(i + 1));
    case L::TRAIN: return fmt::format("train block '{}'", textAt(i + 1));
    case L::FOR: return "'for' loop body";
    case L::IF: return "'if' body";
    case L::ELSE: return "'else' body";
    case L::LBRACE:
    case L::RBRACE: return "block";
    default: break;
    }
  }
  return "block";
}

} // namespace bdl::syntax
