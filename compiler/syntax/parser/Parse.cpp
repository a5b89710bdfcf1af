// parseModule: input checks, lexing with lexical diagnostics, a fast SLL
// parse, and on failure an LL parse with SyntaxErrorStrategy that reports
// every independent error. The AST is built only from an error-free tree.
#include "compiler/syntax/Parse.h"

#include "compiler/syntax/parser/AstBuilder.h"
#include "compiler/syntax/parser/SyntaxErrorStrategy.h"
#include "compiler/syntax/parser/TokenFacts.h"

#include "BdlLexer.h"
#include "BdlParser.h"

#include <antlr4-runtime.h>
#include <fmt/format.h>
#include <stdexcept>

namespace bdl {

using grammar::BdlLexer;
using grammar::BdlParser;

namespace {

// Line and column (code points) of byte `offset`, for errors found before
// lexing.
SourceLoc locOfByte(const std::string& text, size_t offset) {
  SourceLoc loc{1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++loc.line;
      loc.col = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++loc.col;
    }
  }
  return loc;
}

// Rejects what is not BDL source text before ANTLR sees it.
bool checkText(const SourceFile& file, FileId id, DiagnosticEngine& diags) {
  const std::string& text = file.text;
  SourceRange whole{id, {1, 1}, {1, 1}};
  if (text.size() > kMaxSourceBytes) {
    diags.error(whole, fmt::format("file is {:.1f} MiB; bdlc reads source files of at most {} MiB",
                                   text.size() / 1048576.0, kMaxSourceBytes >> 20))
        .hint = "is this a data file? Data is read by a pipeline source such as idx(...) or npy(...)";
    return false;
  }
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\0') {
      SourceLoc at = locOfByte(text, i);
      diags.error({id, at, at}, fmt::format("file contains a NUL byte at offset {}; it is not BDL source text", i))
          .hint = "a .bdl file is UTF-8 text";
      return false;
    }
    size_t n = utf8SequenceLength(text, i);
    if (n == 0) {
      SourceLoc at = locOfByte(text, i);
      diags.error({id, at, at}, fmt::format("invalid UTF-8 byte 0x{:02x} at offset {}", static_cast<unsigned char>(text[i]), i))
          .hint = "a .bdl file is UTF-8 text";
      return false;
    }
    i += n;
  }
  return true;
}

// Reports lexical errors, drops the tokens the parser must not see and
// refuses nesting deep enough to exhaust the stack. Returns false when
// parsing should not start.
bool screenTokens(std::vector<std::unique_ptr<antlr4::Token>>& raw, FileId id, DiagnosticEngine& diags,
                  ast::Module& module, std::vector<std::unique_ptr<antlr4::Token>>& kept) {
  int depth = 0;
  for (auto& token : raw) {
    SourceRange range = syntax::tokenRange(id, token.get());
    switch (token->getType()) {
    case BdlLexer::LINE_COMMENT:
    case BdlLexer::BLOCK_COMMENT:
      module.comments.push_back({range, token->getText()});
      continue;
    case BdlLexer::UNTERMINATED_COMMENT:
      diags.error({id, range.begin, range.begin}, "unterminated '/*' comment").hint = "close it with '*/'";
      continue;
    case BdlLexer::BAD_CHAR: {
      std::string text = token->getText();
      Diagnostic& d = diags.error(range, fmt::format("unexpected character '{}'", text == "\t" ? "\\t" : text));
      if (text == ";") d.hint = "BDL statements end at the end of the line; remove the ';'";
      if (text == "'") d.hint = "strings use double quotes: \"...\"";
      continue;
    }
    case BdlLexer::UNTERMINATED_STRING: {
      diags.error(range, "unterminated string").hint = "close the string with '\"' on the same line";
      // Parse on as if the string were closed, so later errors still show.
      auto* fixed = dynamic_cast<antlr4::CommonToken*>(token.get());
      if (fixed) fixed->setType(BdlLexer::STRING);
      break;
    }
    case BdlLexer::LPAREN:
    case BdlLexer::LBRACK:
    case BdlLexer::LBRACE:
      if (++depth > kMaxNesting) {
        diags.error(range, fmt::format("brackets nested more than {} deep", kMaxNesting))
            .hint = "split the expression with intermediate names";
        return false;
      }
      break;
    case BdlLexer::RPAREN:
    case BdlLexer::RBRACK:
    case BdlLexer::RBRACE:
      depth = depth > 0 ? depth - 1 : 0;
      break;
    default:
      break;
    }
    kept.push_back(std::move(token));
  }
  return true;
}

// Silences ANTLR's console output; errors go through SyntaxErrorStrategy.
class NoConsole : public antlr4::BaseErrorListener {};

// ANTLR's parser is recursive descent: `- - - x`, `x => x => x` and `else if`
// chains nest rules without brackets, and ~40,000 levels overflow the stack.
// Every such cycle passes through expr, unaryExpr or ifStatement; a bracket
// level is at most 13 rule levels, so real programs stay far below the cap.
constexpr size_t kMaxRuleDepth = 16 * kMaxNesting;
struct NestedTooDeep {
  antlr4::Token* at;
};
class DepthLimitedParser : public BdlParser {
public:
  using BdlParser::BdlParser;
  void enterRule(antlr4::ParserRuleContext* ctx, size_t state, size_t rule) override {
    bool recursive = rule == RuleExpr || rule == RuleUnaryExpr || rule == RuleIfStatement;
    if (recursive && static_cast<size_t>(ctx->depth()) > kMaxRuleDepth) throw NestedTooDeep{getCurrentToken()};
    BdlParser::enterRule(ctx, state, rule);
  }
};

} // namespace

std::unique_ptr<ast::Module> parseModule(const SourceManager& sources, FileId id, DiagnosticEngine& diags) {
  const SourceFile& file = sources.file(id);
  auto module = std::make_unique<ast::Module>();
  module->file = id;
  if (!checkText(file, id, diags)) return nullptr;

  antlr4::ANTLRInputStream input(file.text);
  BdlLexer lexer(&input);
  lexer.removeErrorListeners();
  std::vector<std::unique_ptr<antlr4::Token>> raw = lexer.getAllTokens();
  std::vector<std::unique_ptr<antlr4::Token>> kept;
  size_t errorsBefore = diags.errorCount();
  if (!screenTokens(raw, id, diags, *module, kept)) return nullptr;
  if (kept.empty()) {
    if (diags.errorCount() == errorsBefore)
      diags.error({id, {1, 1}, {1, 1}}, "file has no declarations")
          .hint = "a .bdl file holds imports, defs, models, pipelines and train jobs";
    return nullptr;
  }

  // Token indices must equal positions in `tokens` for SyntaxErrorStrategy.
  std::vector<antlr4::Token*> tokens;
  for (auto& t : kept) tokens.push_back(t.get());
  antlr4::ListTokenSource source(std::move(kept));
  antlr4::CommonTokenStream stream(&source);
  stream.fill();
  for (size_t i = 0; i < stream.size(); ++i)
    if (i >= tokens.size()) tokens.push_back(stream.get(i)); // the EOF token

  DepthLimitedParser parser(&stream);
  parser.removeErrorListeners();
  NoConsole quiet;
  parser.addErrorListener(&quiet);

  // Stage 1: SLL with bail-out is fast and right for almost every file.
  auto* interpreter = parser.getInterpreter<antlr4::atn::ParserATNSimulator>();
  interpreter->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
  BdlParser::FileContext* tree = nullptr;
  try {
    try {
      tree = parser.file();
    } catch (const antlr4::ParseCancellationException&) {
      tree = nullptr;
    }
    if (!tree) {
      // Stage 2: full LL with recovery, reporting every error.
      stream.seek(0);
      parser.reset();
      interpreter->setPredictionMode(antlr4::atn::PredictionMode::LL);
      parser.setErrorHandler(std::make_shared<syntax::SyntaxErrorStrategy>(id, tokens, diags));
      tree = parser.file();
    }
  } catch (const NestedTooDeep& e) {
    diags.error(syntax::tokenRange(id, e.at), fmt::format("code nested more than {} levels deep", kMaxNesting))
        .hint = "split deep expressions with intermediate names, and long 'else if' chains into separate 'if's";
    return nullptr;
  } catch (const antlr4::RuntimeException& e) {
    // ANTLR's recovery handles every syntax error; reaching here is our bug.
    throw std::logic_error(fmt::format("internal error at {}:{}: parser failed on {}: {}", __FILE__, __LINE__,
                                       file.path, e.what()));
  } catch (const char* e) {
    throw std::logic_error(fmt::format("internal error at {}:{}: parser failed on {}: {}", __FILE__, __LINE__,
                                       file.path, e));
  }
  if (diags.errorCount() > errorsBefore) {
    diags.sortBySource(); // lexical errors were reported before syntax errors
    return nullptr;
  }
  if (!syntax::buildAst(tree, id, *module, diags)) return nullptr;
  return module;
}

} // namespace bdl
