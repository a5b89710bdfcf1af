// ANTLR's error strategy with messages in the user's terms: "expected ')' to
// close the call of 'Dense' that starts at 3:10", not "mismatched input".
// Recovery is ANTLR's (single-token insertion and deletion, then resync), so
// one file reports each of its independent errors.
#pragma once

#include "compiler/syntax/Diagnostics.h"

#include <DefaultErrorStrategy.h>
#include <set>
#include <vector>

namespace bdl::syntax {

class SyntaxErrorStrategy : public antlr4::DefaultErrorStrategy {
public:
  // `tokens` is every token the parser sees, in order (token index = position).
  SyntaxErrorStrategy(FileId file, const std::vector<antlr4::Token*>& tokens, DiagnosticEngine& diags)
      : file_(file), tokens_(tokens), diags_(diags) {}

protected:
  void reportNoViableAlternative(antlr4::Parser* parser, const antlr4::NoViableAltException& e) override;
  void reportInputMismatch(antlr4::Parser* parser, const antlr4::InputMismatchException& e) override;
  void reportFailedPredicate(antlr4::Parser* parser, const antlr4::FailedPredicateException& e) override;
  void reportUnwantedToken(antlr4::Parser* parser) override;
  void reportMissingToken(antlr4::Parser* parser) override;
  // Never recovers by deleting a keyword that starts a statement or a
  // declaration: that keyword is where the user's next intent begins.
  antlr4::Token* singleTokenDeletion(antlr4::Parser* parser) override;
  // Tries inserting the one missing token before deleting the current one:
  // `def (x` is a def missing its name, not a def named x.
  antlr4::Token* recoverInline(antlr4::Parser* parser) override;

private:
  enum class Situation { Missing, Unwanted, Mismatch };
  void report(antlr4::Parser* parser, antlr4::Token* offending, const antlr4::misc::IntervalSet& expected,
              Situation situation);

  FileId file_;
  const std::vector<antlr4::Token*>& tokens_;
  DiagnosticEngine& diags_;
  size_t lastReportedIndex_ = SIZE_MAX;
  size_t lastReportedLine_ = 0; // a second error on one line is nearly always an echo of the first
  std::set<size_t> reportedOpeners_; // brackets already reported unclosed count as closed
  int conjuredBraces_ = 0; // '{' reported missing; their '}' will be missing at EOF too
};

} // namespace bdl::syntax
