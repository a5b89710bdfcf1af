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

bool isBinaryOperator(size_t type) { return type >= L::PIPE && type <= L::AT; }
bool isCloser(size_t type) { return type == L::RPAREN || type == L::RBRACK || type == L::RBRACE; }
bool isOpener(size_t type) { return closerOf(type) != 0; }
// Tokens that begin a statement or declaration and cannot continue an
// expression.
bool startsStatement(size_t type) {
  return type == L::PARAM || type == L::STATE || type == L::RETURN || type == L::FOR || type == L::IF ||
         type == L::DEF || type == L::MODEL || type == L::PIPELINE || type == L::TRAIN || type == L::IMPORT;
}
bool expectsExpression(const IntervalSet& set) {
  return containsAll(set, {L::INT, L::FLOAT, L::STRING, L::IDENT, L::LPAREN, L::LBRACK, L::MINUS});
}
bool statementContext(const IntervalSet& set) {
  return containsAll(set, {L::PARAM, L::RETURN}) || containsAll(set, {L::DEF, L::MODEL});
}

std::string expectedPhrase(const IntervalSet& set, const antlr4::dfa::Vocabulary& vocab) {
  if (expectsExpression(set)) return "an expression";
  if (containsAll(set, {L::DEF, L::MODEL, L::TRAIN, L::PIPELINE}))
    return "a declaration ('import', 'def', 'model', 'pipeline' or 'train')";
  if (containsAll(set, {L::PARAM, L::RETURN, L::FOR}))
    return has(set, L::RBRACE) ? "a statement or '}'" : "a statement";
  if (has(set, L::ASSIGN) && has(set, L::UPDATE)) return "'=' or '<-'";
  if (has(set, L::IDENT) && has(set, L::STRING) && !has(set, L::LPAREN)) return "a module name or a file path";
  if (has(set, L::IDENT)) return "a name";
  if (has(set, L::INT) && has(set, L::FLOAT)) return "a number";
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
  // Both predicates (valueOnSameLine, operandFollows) fail when the value
  // after `=`, `<-`, `return` or a binary operator is missing from its line.
  antlr4::Token* offending = e.getOffendingToken() ? e.getOffendingToken() : parser->getCurrentToken();
  size_t index = offending->getTokenIndex();
  if (index == lastReportedIndex_ || diags_.limitReached() || index == 0) return;
  const antlr4::Token* prev = tokens_[index - 1];
  if (prev->getLine() == lastReportedLine_) return;
  lastReportedIndex_ = index;
  lastReportedLine_ = prev->getLine();
  Diagnostic& d = diags_.error(rangeAfter(file_, prev), fmt::format("expected an expression after '{}'", prev->getText()));
  size_t p = prev->getType();
  bool assignment = p == L::ASSIGN || p == L::UPDATE || p == L::RETURN;
  if (assignment && !startsStatement(offending->getType()) && offending->getType() != L::RBRACE &&
      offending->getType() != antlr4::Token::EOF)
    d.hint = fmt::format("a value starts on the line of its '{}'; to break a long line, break it after an "
                         "operator or inside brackets",
                         prev->getText());
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
  size_t type = parser->getCurrentToken()->getType();
  if (startsStatement(type) || isOpener(type)) return nullptr;
  if (type == L::IDENT) {
    // `pipeline P src()` is missing its '=', not holding a stray name: keep
    // a name that would fit after one inserted token.
    const antlr4::atn::ATN& atn = parser->getInterpreter<antlr4::atn::ATNSimulator>()->atn;
    antlr4::atn::ATNState* state = atn.states[parser->getState()];
    if (!state->transitions.empty() &&
        atn.nextTokens(state->transitions[0]->target, parser->getContext()).contains(type))
      return nullptr;
  }
  return DefaultErrorStrategy::singleTokenDeletion(parser);
}

antlr4::Token* SyntaxErrorStrategy::recoverInline(antlr4::Parser* parser) {
  if (singleTokenInsertion(parser)) return getMissingSymbol(parser);
  if (antlr4::Token* matched = singleTokenDeletion(parser)) {
    parser->consume();
    return matched;
  }
  throw antlr4::InputMismatchException(parser);
}

void SyntaxErrorStrategy::report(antlr4::Parser* parser, antlr4::Token* offending, const IntervalSet& expected,
                                 Situation situation) {
  if (!offending) offending = parser->getCurrentToken();
  size_t index = offending->getTokenIndex();
  size_t type = offending->getType();
  bool atEof = type == antlr4::Token::EOF;
  if (index == lastReportedIndex_ || diags_.limitReached()) return;
  const antlr4::dfa::Vocabulary& vocab = parser->getVocabulary();

  // The brackets still open before the offending token, innermost last.
  std::vector<size_t> open;
  for (size_t i = 0; i < index && i < tokens_.size(); ++i) {
    size_t t = tokens_[i]->getType();
    if (isOpener(t)) {
      if (!reportedOpeners_.count(i)) open.push_back(i);
    } else if (isCloser(t)) {
      while (!open.empty() && closerOf(tokens_[open.back()]->getType()) != t) open.pop_back();
      if (!open.empty()) open.pop_back();
    }
  }
  const antlr4::Token* prev = index > 0 && index - 1 < tokens_.size() ? tokens_[index - 1] : nullptr;
  const antlr4::Token* prev2 = index > 1 && index - 2 < tokens_.size() ? tokens_[index - 2] : nullptr;
  bool onLaterLine = prev && (atEof || offending->getLine() > prev->getLine());
  size_t closer = open.empty() ? 0 : closerOf(tokens_[open.back()]->getType());

  SourceRange where = tokenRange(file_, offending);
  std::string message;
  const antlr4::Token* opener = nullptr;
  auto closeMessage = [&] {
    reportedOpeners_.insert(open.back());
    opener = tokens_[open.back()];
    if (prev) where = rangeAfter(file_, prev);
    return fmt::format("expected {} to close the {} that starts at {}:{}", describeTokenType(closer, vocab),
                       describeOpening(tokens_, open.back()), opener->getLine(), opener->getCharPositionInLine() + 1);
  };
  bool hasOpenerOfKind = false;
  for (size_t i : open) hasOpenerOfKind |= closerOf(tokens_[i]->getType()) == type;

  if (atEof && conjuredBraces_ > 0 && has(expected, L::RBRACE)) {
    --conjuredBraces_; // this '}' matches a '{' already reported missing
    return;
  }
  bool afterOperator = prev && (isBinaryOperator(prev->getType()) || prev->getType() == L::FAT_ARROW);
  if (afterOperator && expectsExpression(expected) && (onLaterLine || isCloser(type))) {
    // `a +` or `x =>` with nothing after it on the line.
    message = fmt::format("expected an expression after '{}'", prev->getText());
    where = rangeAfter(file_, prev);
  } else if (prev && (prev->getType() == L::EVERY || prev->getType() == L::WITH || prev->getType() == L::KEEP)) {
    // A train clause without its value.
    const char* what = prev->getType() == L::EVERY  ? "a duration after 'every', such as 'every 1 epoch'"
                       : prev->getType() == L::WITH ? "a list after 'with', such as 'with [accuracy(logits, label)]'"
                                                    : "a count after 'keep', such as 'keep 3'";
    message = fmt::format("expected {}, found {}", what, describeToken(offending));
    if (onLaterLine) where = rangeAfter(file_, prev);
  } else if (type == L::ASSIGN && closer == L::RPAREN && prev &&
             (prev->getType() == L::COMMA || prev->getType() == L::LPAREN)) {
    message = "expected an argument name before '='";
  } else if (type == L::RPAREN && prev && prev->getType() == L::LPAREN && !has(expected, L::RPAREN)) {
    message = "expected an expression inside '()'";
  } else if (type == L::COMMA && prev && (prev->getType() == L::COMMA || isOpener(prev->getType()))) {
    message = fmt::format("unexpected ','; expected {}", has(expected, L::IDENT) && !expectsExpression(expected)
                                                             ? "a name" : "an expression");
  } else if (isCloser(type) && !hasOpenerOfKind) {
    // A closing bracket that closes nothing.
    message = fmt::format("unexpected {} with no matching opening bracket", describeToken(offending));
  } else if (closer && (atEof || (onLaterLine && (startsStatement(type) || type == L::RBRACE) && closer != L::RBRACE))) {
    // The file or the next statement begins while a bracket is open.
    message = closeMessage();
  } else if (closer && isCloser(type) && type != closer) {
    message = fmt::format("unexpected {}: ", describeToken(offending)) + closeMessage();
    where = tokenRange(file_, offending);
  } else if (closer && closer != L::RBRACE && has(expected, closer) && type != closer && !expectsExpression(expected) &&
             !has(expected, L::IDENT)) {
    message = closeMessage();
    if (!onLaterLine) where = tokenRange(file_, offending);
  } else if ((type == L::ASSIGN || type == L::UPDATE) && prev && prev2 && prev->getType() == L::IDENT &&
             prev->getLine() > prev2->getLine()) {
    // `x = a +` then `y = ...`: the next line's name was taken as the value.
    message = fmt::format("expected an expression after '{}'", prev2->getText());
    where = rangeAfter(file_, prev2);
  } else if (prev && prev2 && prev->getType() == L::IDENT && prev2->getType() == L::INT &&
             prev->getLine() == prev2->getLine() && has(expected, L::ASSIGN)) {
    message = fmt::format("unknown duration unit '{}'", prev->getText());
    where = tokenRange(file_, prev);
    lastReportedIndex_ = index;
    lastReportedLine_ = where.begin.line;
    diags_.error(where, message).hint = "durations are written like '5 epochs' or '200 iterations'";
    return;
  } else {
    std::string phrase = expectedPhrase(expected, vocab);
    bool missingAtLineEnd = onLaterLine && !statementContext(expected);
    if (phrase == "an expression" && prev && isBinaryOperator(prev->getType()))
      message = fmt::format("expected an expression after '{}', found {}", prev->getText(), describeToken(offending));
    else if (phrase == "'=' or '<-'" && prev)
      message = fmt::format("expected '=' or '<-' after '{}', found {}", prev->getText(), describeToken(offending));
    else if (situation == Situation::Unwanted)
      message = fmt::format("unexpected {}; expected {}", describeToken(offending), phrase);
    else
      message = fmt::format("expected {}, found {}", phrase, describeToken(offending));
    if (missingAtLineEnd && situation != Situation::Unwanted) where = rangeAfter(file_, prev);
  }

  // A second error on the line of the last one is nearly always its echo.
  if (where.begin.line == lastReportedLine_ && !atEof) return;
  lastReportedIndex_ = index;
  lastReportedLine_ = where.begin.line;
  if (situation == Situation::Missing && message.rfind("expected '{'", 0) == 0) ++conjuredBraces_;
  Diagnostic& d = diags_.error(where, message);
  if (opener) d.notes.push_back({tokenRange(file_, opener), fmt::format("to match this '{}'", opener->getText())});
  if (prev && prev->getType() == L::IDENT && type == L::IDENT) {
    std::string word = prev->getText();
    if (word == "let" || word == "var" || word == "val" || word == "const")
      d.hint = fmt::format("BDL has no '{}': bind a name with '{} = expression'", word, offending->getText());
  }
}

} // namespace bdl::syntax
