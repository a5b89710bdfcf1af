#include "compiler/syntax/parser/SyntaxErrorStrategy.h"

#include "compiler/syntax/parser/TokenFacts.h"

#include "BdlLexer.h"

#include <Parser.h>
#include <fmt/format.h>

namespace bdl::syntax {

using L = grammar::BdlLexer;
using antlr4::misc::IntervalSet;

namespace {

bool has(const IntervalSet& set, size_t type) { return set.contains(type); }

bool containsAll(const IntervalSet& set, std::initializer_list<size_t> types) {
  for (size_t t : types)
    if (!has(set, t)) return false;
  return true;
}

bool isBinaryOperator(size_t type) {
  return type >= L::PIPE && type <= L::AT;
}

std::string expectedPhrase(const IntervalSet& set, const antlr4::dfa::Vocabulary& vocab) {
  if (containsAll(set, {L::INT, L::FLOAT, L::STRING, L::IDENT, L::LPAREN, L::LBRACK, L::MINUS}))
    return "an expression";
  if (containsAll(set, {L::DEF, L::MODEL, L::TRAIN, L::PIPELINE}))
    return "a declaration ('import', 'def', 'model', 'pipeline' or 'train')";
  if (containsAll(set, {L::PARAM, L::RETURN, L::FOR}))
    return has(set, L::RBRACE) ? "a statement or '}'" : "a statement";
  if (has(set, L::ASSIGN) && has(set, L::UPDATE)) return "'=' or '<-'";
  if (has(set, L::IDENT)) return "a name";
  std::vector<std::string> names;
  for (size_t t : set.toList()) {
    if (t >= L::EVERY && t <= L::ITERATIONS && has(set, L::IDENT)) continue;
    if (names.size() == 5) break;
    names.push_back(describeTokenType(t, vocab));
  }
  if (names.empty()) return "something else";
  std::string out = names[0];
  for (size_t i = 1; i < names.size(); ++i) out += (i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

} // namespace

void SyntaxErrorStrategy::reportNoViableAlternative(antlr4::Parser* parser, const antlr4::NoViableAltException& e) {
  report(parser, e.getOffendingToken(), parser->getExpectedTokens(), Situation::Mismatch);
}

void SyntaxErrorStrategy::reportInputMismatch(antlr4::Parser* parser, const antlr4::InputMismatchException& e) {
  report(parser, e.getOffendingToken(), e.getExpectedTokens(), Situation::Mismatch);
}

void SyntaxErrorStrategy::reportFailedPredicate(antlr4::Parser* parser, const antlr4::FailedPredicateException& e) {
  report(parser, e.getOffendingToken(), parser->getExpectedTokens(), Situation::Mismatch);
}

void SyntaxErrorStrategy::reportUnwantedToken(antlr4::Parser* parser) {
  if (inErrorRecoveryMode(parser)) return;
  beginErrorCondition(parser);
  report(parser, parser->getCurrentToken(), getExpectedTokens(parser), Situation::Unwanted);
}

void SyntaxErrorStrategy::reportMissingToken(antlr4::Parser* parser) {
  if (inErrorRecoveryMode(parser)) return;
  beginErrorCondition(parser);
  report(parser, parser->getCurrentToken(), getExpectedTokens(parser), Situation::Missing);
}

antlr4::Token* SyntaxErrorStrategy::singleTokenDeletion(antlr4::Parser* parser) {
  switch (parser->getCurrentToken()->getType()) {
  case L::PARAM: case L::STATE: case L::RETURN: case L::FOR: case L::IF:
  case L::DEF: case L::MODEL: case L::PIPELINE: case L::TRAIN: case L::IMPORT:
    return nullptr;
  default:
    return DefaultErrorStrategy::singleTokenDeletion(parser);
  }
}

void SyntaxErrorStrategy::report(antlr4::Parser* parser, antlr4::Token* offending, const IntervalSet& expected,
                                 Situation situation) {
  if (!offending) offending = parser->getCurrentToken();
  size_t index = offending->getTokenIndex();
  if (index == lastReportedIndex_ || diags_.limitReached()) return;
  lastReportedIndex_ = index;
  const antlr4::dfa::Vocabulary& vocab = parser->getVocabulary();

  // The brackets still open before the offending token, innermost last.
  std::vector<size_t> open;
  for (size_t i = 0; i < index && i < tokens_.size(); ++i) {
    size_t type = tokens_[i]->getType();
    if (closerOf(type)) {
      open.push_back(i);
    } else if (type == L::RPAREN || type == L::RBRACK || type == L::RBRACE) {
      while (!open.empty() && closerOf(tokens_[open.back()]->getType()) != type) open.pop_back();
      if (!open.empty()) open.pop_back();
    }
  }
  const antlr4::Token* prev = index > 0 && index - 1 < tokens_.size() ? tokens_[index - 1] : nullptr;
  size_t type = offending->getType();

  // A missing token belongs right after the previous one when the offending
  // token is on a later line (or is the end of the file).
  // A token that cannot start the next statement or declaration is better
  // shown where the user stopped typing.
  SourceRange where = tokenRange(file_, offending);
  bool startsSomething = containsAll(expected, {L::PARAM, L::RETURN}) || containsAll(expected, {L::DEF, L::MODEL});
  bool atEndOfPrevious = prev && situation != Situation::Unwanted &&
                         (type == antlr4::Token::EOF || (offending->getLine() > prev->getLine() && !startsSomething));
  if (atEndOfPrevious) where = rangeAfter(file_, prev);

  std::string message;
  const antlr4::Token* opener = nullptr;
  size_t closer = open.empty() ? 0 : closerOf(tokens_[open.back()]->getType());
  auto openingText = [&] {
    opener = tokens_[open.back()];
    return fmt::format("the {} that starts at {}:{}", describeOpening(tokens_, open.back()), opener->getLine(),
                       opener->getCharPositionInLine() + 1);
  };

  bool onLaterLine = prev && (type == antlr4::Token::EOF || offending->getLine() > prev->getLine());
  bool statementContext = containsAll(expected, {L::PARAM, L::RETURN}) && type != antlr4::Token::EOF;
  if (situation == Situation::Unwanted && closer && has(expected, closer) && type != closer && onLaterLine &&
      !statementContext) {
    situation = Situation::Missing;
    where = rangeAfter(file_, prev);
  }
  if (situation == Situation::Unwanted) {
    bool isCloser = type == L::RPAREN || type == L::RBRACK || type == L::RBRACE;
    if (isCloser && closer != type) {
      message = open.empty() ? fmt::format("unexpected {} with no matching opening bracket", describeToken(offending))
                             : fmt::format("unexpected {}: expected {} to close {}", describeToken(offending),
                                           describeTokenType(closer, vocab), openingText());
    } else {
      message = fmt::format("unexpected {}; expected {}", describeToken(offending), expectedPhrase(expected, vocab));
    }
  } else if (closer && has(expected, closer) && type != closer &&
             (type == antlr4::Token::EOF || !containsAll(expected, {L::PARAM, L::RETURN}))) {
    message = fmt::format("expected {} to close {}", describeTokenType(closer, vocab), openingText());
  } else {
    std::string phrase = expectedPhrase(expected, vocab);
    if (phrase == "an expression" && prev && isBinaryOperator(prev->getType()))
      message = fmt::format("expected an expression after '{}', found {}", prev->getText(), describeToken(offending));
    else if (phrase == "'=' or '<-'" && prev)
      message = fmt::format("expected '=' or '<-' after '{}', found {}", prev->getText(), describeToken(offending));
    else
      message = fmt::format("expected {}, found {}", phrase, describeToken(offending));
  }

  Diagnostic& d = diags_.error(where, message);
  if (opener) d.notes.push_back({tokenRange(file_, opener), fmt::format("to match this '{}'", opener->getText())});
  if (prev && prev->getType() == L::IDENT && type == L::IDENT) {
    std::string word = prev->getText();
    if (word == "let" || word == "var" || word == "val" || word == "const")
      d.hint = fmt::format("BDL has no '{}': bind a name with '{} = expression'", word, offending->getText());
  }
}

} // namespace bdl::syntax
