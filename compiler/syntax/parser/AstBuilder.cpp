#include "compiler/syntax/parser/AstBuilder.h"

#include "compiler/syntax/Parse.h"
#include "compiler/syntax/parser/TokenFacts.h"

#include <cerrno>
#include <cstdlib>
#include <fmt/format.h>
#include <stdexcept>

namespace bdl::syntax {

using P = grammar::BdlParser;
using namespace ast;

namespace {

// Thrown only inside this file to stop building after a reported error.
struct BuildStopped {};

class Builder {
public:
  Builder(FileId file, DiagnosticEngine& diags) : file_(file), diags_(diags) {}

  void module(P::FileContext* ctx, Module& out) {
    for (P::TopLevelContext* top : ctx->topLevel()) out.decls.push_back(decl(top));
  }

private:
  SourceRange range(antlr4::ParserRuleContext* ctx) const {
    SourceRange r = tokenRange(file_, ctx->getStart());
    antlr4::Token* stop = ctx->getStop();
    if (stop && stop->getTokenIndex() >= ctx->getStart()->getTokenIndex()) r.end = tokenRange(file_, stop).end;
    return r;
  }
  SourceRange range(antlr4::tree::TerminalNode* node) const { return tokenRange(file_, node->getSymbol()); }
  static SourceRange join(SourceRange a, SourceRange b) { return {a.file, a.begin, b.end}; }

  [[noreturn]] void internal(const char* what, int line) {
    throw std::logic_error(fmt::format("internal error at {}:{}: {}", __FILE__, line, what));
  }
  template <typename T> T* need(T* p, int line) {
    if (!p) internal("parse tree is missing a node the grammar requires", line);
    return p;
  }
#define NEED(p) need((p), __LINE__)

  Ident ident(P::IdentContext* ctx) { return {NEED(ctx)->getText(), range(ctx)}; }

  DeclPtr decl(P::TopLevelContext* ctx) {
    if (auto* c = ctx->importDecl()) return importDecl(c);
    if (auto* c = ctx->defDecl()) return defDecl(c);
    if (auto* c = ctx->pipelineDecl()) return pipelineDecl(c);
    if (auto* c = ctx->trainDecl()) return trainDecl(c);
    internal("unknown top-level declaration", __LINE__);
  }

  DeclPtr importDecl(P::ImportDeclContext* ctx) {
    auto d = std::make_unique<ImportDecl>(range(ctx));
    if (auto* dotted = ctx->dottedName())
      for (P::IdentContext* part : dotted->ident()) d->modulePath.push_back(ident(part));
    else
      d->filePath = stringLit(ctx->STRING());
    if (ctx->alias) d->alias = ident(ctx->alias);
    return d;
  }

  std::vector<ParamDecl> paramList(P::ParamListContext* ctx) {
    std::vector<ParamDecl> out;
    if (!ctx) return out;
    for (P::ParamDeclContext* p : ctx->paramDecl())
      out.push_back({ident(p->name), typeExpr(p->typeExpr()), p->defaultValue ? expr(p->defaultValue) : nullptr, range(p)});
    return out;
  }

  TypeExpr typeExpr(P::TypeExprContext* ctx) {
    TypeExpr t;
    t.name = ident(NEED(ctx)->name);
    t.range = range(ctx);
    t.hasDims = ctx->LBRACK() != nullptr;
    if (auto* dims = ctx->dimList())
      for (P::ExprContext* e : dims->expr()) t.dims.push_back(expr(e));
    return t;
  }

  DeclPtr defDecl(P::DefDeclContext* ctx) {
    auto d = std::make_unique<DefDecl>(range(ctx));
    d->isModel = NEED(ctx->kind)->getType() == P::MODEL;
    d->name = ident(ctx->name);
    d->params = paramList(ctx->paramList());
    if (auto* results = ctx->resultTypes()) {
      if (auto* single = dynamic_cast<P::SingleResultContext*>(results)) {
        d->results.push_back(typeExpr(single->typeExpr()));
      } else if (auto* tuple = dynamic_cast<P::TupleResultContext*>(results)) {
        d->resultsParenthesized = true;
        for (P::TypeExprContext* t : tuple->typeExpr()) d->results.push_back(typeExpr(t));
      }
    }
    d->body = block(ctx->block());
    d->open = tokenRange(file_, ctx->block()->getStart()).begin;
    d->close = closeOf(ctx->block());
    return d;
  }

  DeclPtr pipelineDecl(P::PipelineDeclContext* ctx) {
    auto d = std::make_unique<PipelineDecl>(range(ctx));
    d->name = ident(ctx->name);
    d->hasParamList = ctx->LPAREN() != nullptr;
    d->params = paramList(ctx->paramList());
    d->body = expr(ctx->body);
    return d;
  }

  DeclPtr trainDecl(P::TrainDeclContext* ctx) {
    auto d = std::make_unique<TrainDecl>(range(ctx));
    d->name = ident(ctx->name);
    for (P::TrainItemContext* item : ctx->trainItem()) {
      TrainItem t;
      t.name = ident(item->name);
      t.value = expr(item->value);
      if (item->every) t.every = durationExpr(item->every);
      if (item->with) t.with = listExpr(item->with);
      if (item->keep) t.keep = std::make_unique<IntLit>(range(item->keep), integer(item->keep->INT()), item->keep->getText());
      t.range = range(item);
      d->items.push_back(std::move(t));
    }
    d->open = tokenRange(file_, NEED(ctx->LBRACE())->getSymbol()).begin;
    d->close = tokenRange(file_, ctx->getStop()).begin;
    return d;
  }

  SourceLoc closeOf(P::BlockContext* ctx) { return tokenRange(file_, NEED(ctx)->getStop()).begin; }

  Block block(P::BlockContext* ctx) {
    Block out;
    for (P::StatementContext* s : NEED(ctx)->statement()) out.push_back(statement(s));
    return out;
  }

  StmtPtr statement(P::StatementContext* ctx) {
    SourceRange r = range(ctx);
    if (auto* s = dynamic_cast<P::ParamStmtContext*>(ctx))
      return std::make_unique<ParamStmt>(r, ident(s->name), typeExpr(s->typeExpr()), expr(s->init));
    if (auto* s = dynamic_cast<P::StateStmtContext*>(ctx))
      return std::make_unique<StateStmt>(r, ident(s->name), typeExpr(s->typeExpr()), expr(s->init));
    if (auto* s = dynamic_cast<P::UpdateStmtContext*>(ctx))
      return std::make_unique<UpdateStmt>(r, ident(s->name), expr(s->value));
    if (auto* s = dynamic_cast<P::AssignStmtContext*>(ctx)) {
      std::vector<Ident> targets;
      for (P::IdentContext* t : s->ident()) targets.push_back(ident(t));
      return std::make_unique<AssignStmt>(r, std::move(targets), expr(s->value));
    }
    if (auto* s = dynamic_cast<P::ReturnStmtContext*>(ctx)) {
      std::vector<ExprPtr> values;
      for (P::ExprContext* e : s->expr()) values.push_back(expr(e));
      return std::make_unique<ReturnStmt>(r, std::move(values));
    }
    if (auto* s = dynamic_cast<P::ForStmtContext*>(ctx)) {
      auto f = std::make_unique<ForStmt>(r, ident(s->var), expr(s->from), expr(s->to), block(s->block()));
      f->open = tokenRange(file_, s->block()->getStart()).begin;
      f->close = closeOf(s->block());
      return f;
    }
    if (auto* s = dynamic_cast<P::IfStmtContext*>(ctx)) return ifStatement(s->ifStatement());
    internal("unknown statement form", __LINE__);
  }

  StmtPtr ifStatement(P::IfStatementContext* ctx) {
    auto s = std::make_unique<IfStmt>(range(NEED(ctx)), expr(ctx->cond));
    s->thenBody = block(ctx->then);
    s->thenOpen = tokenRange(file_, ctx->then->getStart()).begin;
    s->thenClose = closeOf(ctx->then);
    if (ctx->elseIf) {
      s->hasElse = s->elseIsIf = true;
      s->elseBody.push_back(ifStatement(ctx->elseIf));
    } else if (ctx->otherwise) {
      s->hasElse = true;
      s->elseBody = block(ctx->otherwise);
      s->elseOpen = tokenRange(file_, ctx->otherwise->getStart()).begin;
      s->elseClose = closeOf(ctx->otherwise);
    }
    return s;
  }

  // ---- expressions: `depth_` bounds recursion in every later pass --------

  struct DepthGuard {
    Builder& b;
    SourceRange r;
    DepthGuard(Builder& builder, SourceRange range) : b(builder), r(range) {
      if (++b.depth_ > kMaxNesting) {
        b.diags_.error(r, fmt::format("expression nested more than {} deep", kMaxNesting))
            .hint = "split the expression with intermediate names";
        throw BuildStopped{};
      }
    }
    ~DepthGuard() { --b.depth_; }
  };

  ExprPtr expr(P::ExprContext* ctx) {
    DepthGuard guard(*this, range(NEED(ctx)));
    if (auto* l = ctx->lambdaExpr()) return lambda(l);
    return pipeExpr(NEED(ctx->pipeExpr()));
  }

  ExprPtr lambda(P::LambdaExprContext* ctx) {
    std::vector<Ident> params;
    bool paren = false;
    P::ExprContext* body = nullptr;
    if (auto* single = dynamic_cast<P::SingleParamLambdaContext*>(ctx)) {
      params.push_back(ident(single->ident()));
      body = single->body;
    } else if (auto* multi = dynamic_cast<P::MultiParamLambdaContext*>(ctx)) {
      paren = true;
      for (P::IdentContext* p : multi->ident()) params.push_back(ident(p));
      body = multi->body;
    }
    return std::make_unique<Lambda>(range(ctx), std::move(params), paren, expr(NEED(body)));
  }

  // Folds `operand (op operand)*` to the left, counting the chain as depth.
  template <typename OperandCtx, typename OpOf>
  ExprPtr leftFold(const std::vector<OperandCtx*>& operands, OpOf opOf, ExprPtr (Builder::*build)(OperandCtx*)) {
    ExprPtr acc = (this->*build)(NEED(operands.at(0)));
    int chain = 0;
    for (size_t i = 1; i < operands.size(); ++i) {
      auto [op, opRange] = opOf(i - 1);
      ExprPtr rhs = (this->*build)(operands[i]);
      if (++chain + depth_ > kMaxNesting) {
        diags_.error(opRange, fmt::format("operator chain longer than {}", kMaxNesting))
            .hint = "split the expression with intermediate names";
        throw BuildStopped{};
      }
      SourceRange r = join(acc->range, rhs->range);
      acc = std::make_unique<Binary>(r, op, opRange, std::move(acc), std::move(rhs));
    }
    return acc;
  }

  ExprPtr pipeExpr(P::PipeExprContext* ctx) {
    return leftFold(ctx->orExpr(), [&](size_t i) { return std::pair{BinaryOp::Pipe, range(ctx->PIPE(i))}; }, &Builder::orExpr);
  }
  ExprPtr orExpr(P::OrExprContext* ctx) {
    return leftFold(ctx->andExpr(), [&](size_t i) { return std::pair{BinaryOp::Or, range(ctx->OROR(i))}; }, &Builder::andExpr);
  }
  ExprPtr andExpr(P::AndExprContext* ctx) {
    return leftFold(ctx->compareExpr(), [&](size_t i) { return std::pair{BinaryOp::And, range(ctx->ANDAND(i))}; },
                    &Builder::compareExpr);
  }
  ExprPtr compareExpr(P::CompareExprContext* ctx) {
    auto opOf = [&](size_t) {
      BinaryOp op = BinaryOp::Eq;
      switch (NEED(ctx->op)->getType()) {
      case P::LT: op = BinaryOp::Lt; break;
      case P::LE: op = BinaryOp::Le; break;
      case P::GT: op = BinaryOp::Gt; break;
      case P::GE: op = BinaryOp::Ge; break;
      case P::EQ: op = BinaryOp::Eq; break;
      case P::NE: op = BinaryOp::Ne; break;
      default: internal("unknown comparison", __LINE__);
      }
      return std::pair{op, tokenRange(file_, ctx->op)};
    };
    return leftFold(ctx->addExpr(), opOf, &Builder::addExpr);
  }
  ExprPtr addExpr(P::AddExprContext* ctx) {
    auto opOf = [&](size_t i) {
      P::AddOpContext* op = ctx->addOp(i);
      return std::pair{op->PLUS() ? BinaryOp::Add : BinaryOp::Sub, range(op)};
    };
    return leftFold(ctx->mulExpr(), opOf, &Builder::mulExpr);
  }
  ExprPtr mulExpr(P::MulExprContext* ctx) {
    auto opOf = [&](size_t i) {
      P::MulOpContext* op = ctx->mulOp(i);
      BinaryOp b = op->STAR() ? BinaryOp::Mul : op->SLASH() ? BinaryOp::Div : op->PERCENT() ? BinaryOp::Mod : BinaryOp::MatMul;
      return std::pair{b, range(op)};
    };
    return leftFold(ctx->unaryExpr(), opOf, &Builder::unaryExpr);
  }

  ExprPtr unaryExpr(P::UnaryExprContext* ctx) {
    if (ctx->postfixExpr()) return postfixExpr(ctx->postfixExpr());
    DepthGuard guard(*this, range(ctx));
    UnaryOp op = NEED(ctx->op)->getType() == P::MINUS ? UnaryOp::Neg : UnaryOp::Not;
    return std::make_unique<Unary>(range(ctx), op, unaryExpr(NEED(ctx->unaryExpr())));
  }

  ExprPtr postfixExpr(P::PostfixExprContext* ctx) {
    ExprPtr acc = primary(NEED(ctx->primary()));
    int chain = 0;
    for (P::PostfixContext* p : ctx->postfix()) {
      DepthGuard guard(*this, range(p));
      if (++chain + depth_ > kMaxNesting) {
        diags_.error(range(p), fmt::format("chain of calls, indexes and members longer than {}", kMaxNesting))
            .hint = "split the expression with intermediate names";
        throw BuildStopped{};
      }
      SourceRange r = join(acc->range, range(p));
      if (auto* call = dynamic_cast<P::CallSuffixContext*>(p)) {
        std::vector<Arg> args;
        if (auto* list = call->argList())
          for (P::ArgContext* a : list->arg())
            args.push_back({a->name ? std::optional<Ident>(Ident{a->name->getText(), range(a->name)}) : std::nullopt,
                            expr(a->expr())});
        acc = std::make_unique<Call>(r, std::move(acc), std::move(args));
      } else if (auto* index = dynamic_cast<P::IndexSuffixContext*>(p)) {
        std::vector<IndexItem> items;
        for (P::IndexItemContext* item : NEED(index->indexList())->indexItem()) {
          if (auto* slice = dynamic_cast<P::SliceIndexContext*>(item))
            items.push_back({true, slice->lo ? expr(slice->lo) : nullptr, slice->hi ? expr(slice->hi) : nullptr});
          else if (auto* single = dynamic_cast<P::SingleIndexContext*>(item))
            items.push_back({false, expr(single->expr()), nullptr});
        }
        acc = std::make_unique<Index>(r, std::move(acc), std::move(items));
      } else if (auto* member = dynamic_cast<P::MemberSuffixContext*>(p)) {
        acc = std::make_unique<Member>(r, std::move(acc), ident(member->ident()));
      }
    }
    return acc;
  }

  int64_t integer(antlr4::tree::TerminalNode* node) {
    std::string text = node->getText();
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno == ERANGE) {
      diags_.error(range(node), fmt::format("integer {} does not fit in 64 bits", text));
      throw BuildStopped{};
    }
    return v;
  }

  std::unique_ptr<StringLit> stringLitPtr(antlr4::tree::TerminalNode* node) {
    std::string spelled = NEED(node)->getText();
    std::string value;
    for (size_t i = 1; i + 1 < spelled.size(); ++i) {
      char c = spelled[i];
      if (c != '\\') {
        value += c;
        continue;
      }
      char e = spelled[++i];
      switch (e) {
      case 'n': value += '\n'; break;
      case 't': value += '\t'; break;
      case '\\': value += '\\'; break;
      case '"': value += '"'; break;
      default: {
        SourceRange r = range(node);
        diags_.error(r, fmt::format("unknown escape '\\{}' in string", e)).hint = "BDL strings know \\n, \\t, \\\\ and \\\"";
        throw BuildStopped{};
      }
      }
    }
    return std::make_unique<StringLit>(range(node), std::move(value), std::move(spelled));
  }
  StringLit stringLit(antlr4::tree::TerminalNode* node) { return std::move(*stringLitPtr(node)); }

  ExprPtr durationExpr(P::DurationExprContext* ctx) {
    auto* unit = NEED(NEED(ctx)->durationUnit());
    DurationUnit u = unit->EPOCH() || unit->EPOCHS() ? DurationUnit::Epochs : DurationUnit::Iterations;
    return std::make_unique<DurationLit>(range(ctx), integer(ctx->INT()), u, unit->EPOCH() || unit->ITERATION());
  }

  ExprPtr listExpr(P::ListExprContext* ctx) {
    std::vector<ExprPtr> items;
    for (P::ExprContext* e : NEED(ctx)->expr()) items.push_back(expr(e));
    return std::make_unique<List>(range(ctx), std::move(items));
  }

  ExprPtr primary(P::PrimaryContext* ctx) {
    SourceRange r = range(ctx);
    if (auto* d = dynamic_cast<P::DurationLiteralContext*>(ctx)) return durationExpr(d->durationExpr());
    if (auto* i = dynamic_cast<P::IntLiteralContext*>(ctx))
      return std::make_unique<IntLit>(r, integer(i->INT()), i->getText());
    if (auto* f = dynamic_cast<P::FloatLiteralContext*>(ctx))
      return std::make_unique<FloatLit>(r, std::strtod(f->getText().c_str(), nullptr), f->getText());
    if (auto* s = dynamic_cast<P::StringLiteralContext*>(ctx)) return stringLitPtr(s->STRING());
    if (auto* b = dynamic_cast<P::BoolLiteralContext*>(ctx)) return std::make_unique<BoolLit>(r, b->TRUE() != nullptr);
    if (auto* n = dynamic_cast<P::NameRefContext*>(ctx)) return std::make_unique<NameRef>(r, NEED(n->ident())->getText());
    if (auto* p = dynamic_cast<P::ParenExprContext*>(ctx)) {
      ExprPtr inner = expr(p->expr());
      // Parentheses are not a node; widening the range keeps carets honest.
      inner->range = r;
      return inner;
    }
    if (auto* t = dynamic_cast<P::TupleExprContext*>(ctx)) {
      std::vector<ExprPtr> items;
      for (P::ExprContext* e : t->expr()) items.push_back(expr(e));
      return std::make_unique<Tuple>(r, std::move(items));
    }
    if (auto* l = dynamic_cast<P::ListLiteralContext*>(ctx)) return listExpr(l->listExpr());
    internal("unknown primary expression", __LINE__);
  }
#undef NEED

  FileId file_;
  DiagnosticEngine& diags_;
  int depth_ = 0;
};

} // namespace

bool buildAst(P::FileContext* tree, FileId file, Module& module, DiagnosticEngine& diags) {
  try {
    Builder(file, diags).module(tree, module);
  } catch (const BuildStopped&) {
    return false;
  }
  return true;
}

} // namespace bdl::syntax
