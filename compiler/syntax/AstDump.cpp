#include "compiler/syntax/AstDump.h"

#include <fmt/format.h>

namespace bdl {

using namespace ast;

namespace {

class Dumper {
public:
  explicit Dumper(bool withRanges) : withRanges_(withRanges) {}
  std::string out;

  void module(const Module& m) {
    line("Module", {});
    ++depth_;
    for (const DeclPtr& d : m.decls) decl(*d);
    --depth_;
  }

private:
  void line(const std::string& text, SourceRange r) {
    out.append(2 * depth_, ' ');
    out += text;
    if (withRanges_ && r.valid())
      out += fmt::format(" <{}:{}-{}:{}>", r.begin.line, r.begin.col, r.end.line, r.end.col);
    out += '\n';
  }
  struct Nest {
    Dumper& d;
    explicit Nest(Dumper& dumper) : d(dumper) { ++d.depth_; }
    ~Nest() { --d.depth_; }
  };

  void decl(const Decl& d) {
    if (auto* i = d.as<ImportDecl>()) {
      std::string what;
      if (i->filePath) what = i->filePath->spelling;
      for (size_t k = 0; k < i->modulePath.size(); ++k) what += (k ? "." : "") + i->modulePath[k].name;
      line(fmt::format("Import {} as {}", what, i->boundName()), d.range);
    } else if (auto* f = d.as<DefDecl>()) {
      line(fmt::format("{} {}", f->isModel ? "Model" : "Def", f->name.name), d.range);
      Nest n(*this);
      for (const ParamDecl& p : f->params) param(p);
      for (const TypeExpr& t : f->results) type("Result", t);
      block("Body", f->body);
    } else if (auto* p = d.as<PipelineDecl>()) {
      line("Pipeline " + p->name.name, d.range);
      Nest n(*this);
      for (const ParamDecl& q : p->params) param(q);
      expr(*p->body);
    } else if (auto* t = d.as<TrainDecl>()) {
      line("Train " + t->name.name, d.range);
      Nest n(*this);
      for (const TrainItem& item : t->items) {
        line("Item " + item.name.name, item.range);
        Nest m(*this);
        expr(*item.value);
        if (item.every) clause("Every", *item.every);
        if (item.with) clause("With", *item.with);
        if (item.keep) clause("Keep", *item.keep);
      }
    }
  }

  void clause(const char* name, const Expr& e) {
    line(name, {});
    Nest n(*this);
    expr(e);
  }

  void param(const ParamDecl& p) {
    line("Param " + p.name.name, p.range);
    Nest n(*this);
    type("Type", p.type);
    if (p.defaultValue) clause("Default", *p.defaultValue);
  }

  void type(const char* label, const TypeExpr& t) {
    line(fmt::format("{} {}{}", label, t.name.name, t.hasDims ? "[]" : ""), t.range);
    Nest n(*this);
    for (const ExprPtr& d : t.dims) expr(*d);
  }

  void block(const char* label, const Block& b) {
    line(label, {});
    Nest n(*this);
    for (const StmtPtr& s : b) stmt(*s);
  }

  void stmt(const Stmt& s) {
    switch (s.kind) {
    case StmtKind::Param:
    case StmtKind::State: {
      auto& v = static_cast<const VarDecl&>(s);
      line(fmt::format("{} {}", s.kind == StmtKind::Param ? "ParamDecl" : "StateDecl", v.name.name), s.range);
      Nest n(*this);
      type("Type", v.type);
      expr(*v.init);
      break;
    }
    case StmtKind::Update: {
      auto& u = static_cast<const UpdateStmt&>(s);
      line("Update " + u.target.name, s.range);
      Nest n(*this);
      expr(*u.value);
      break;
    }
    case StmtKind::Assign: {
      auto& a = static_cast<const AssignStmt&>(s);
      std::string names;
      for (size_t i = 0; i < a.targets.size(); ++i) names += (i ? ", " : "") + a.targets[i].name;
      line("Assign " + names, s.range);
      Nest n(*this);
      expr(*a.value);
      break;
    }
    case StmtKind::Return: {
      line("Return", s.range);
      Nest n(*this);
      for (const ExprPtr& e : static_cast<const ReturnStmt&>(s).values) expr(*e);
      break;
    }
    case StmtKind::For: {
      auto& f = static_cast<const ForStmt&>(s);
      line("For " + f.var.name, s.range);
      Nest n(*this);
      expr(*f.from);
      expr(*f.to);
      block("Body", f.body);
      break;
    }
    case StmtKind::If: {
      auto& i = static_cast<const IfStmt&>(s);
      line("If", s.range);
      Nest n(*this);
      expr(*i.cond);
      block("Then", i.thenBody);
      if (i.hasElse) block("Else", i.elseBody);
      break;
    }
    }
  }

  void expr(const Expr& e) {
    switch (e.kind) {
    case ExprKind::Int: line("Int " + static_cast<const IntLit&>(e).spelling, e.range); return;
    case ExprKind::Float: line("Float " + static_cast<const FloatLit&>(e).spelling, e.range); return;
    case ExprKind::String: line("String " + static_cast<const StringLit&>(e).spelling, e.range); return;
    case ExprKind::Bool: line(static_cast<const BoolLit&>(e).value ? "Bool true" : "Bool false", e.range); return;
    case ExprKind::Duration: {
      auto& d = static_cast<const DurationLit&>(e);
      line(fmt::format("Duration {} {}", d.count, d.unit == DurationUnit::Epochs ? "epochs" : "iterations"), e.range);
      return;
    }
    case ExprKind::Name: line("Name " + static_cast<const NameRef&>(e).name, e.range); return;
    case ExprKind::Member: {
      auto& m = static_cast<const Member&>(e);
      line("Member ." + m.member.name, e.range);
      Nest n(*this);
      expr(*m.object);
      return;
    }
    case ExprKind::Call: {
      auto& c = static_cast<const Call&>(e);
      line("Call", e.range);
      Nest n(*this);
      expr(*c.callee);
      for (const Arg& a : c.args) {
        if (a.name) {
          line("Named " + a.name->name, a.name->range);
          Nest m(*this);
          expr(*a.value);
        } else {
          expr(*a.value);
        }
      }
      return;
    }
    case ExprKind::Index: {
      auto& ix = static_cast<const Index&>(e);
      line("Index", e.range);
      Nest n(*this);
      expr(*ix.object);
      for (const IndexItem& item : ix.items) {
        if (!item.isSlice) {
          expr(*item.lo);
          continue;
        }
        line("Slice", {});
        Nest m(*this);
        if (item.lo) clause("From", *item.lo);
        if (item.hi) clause("To", *item.hi);
      }
      return;
    }
    case ExprKind::Unary: {
      auto& u = static_cast<const Unary&>(e);
      line(fmt::format("Unary {}", spelling(u.op)), e.range);
      Nest n(*this);
      expr(*u.operand);
      return;
    }
    case ExprKind::Binary: {
      auto& b = static_cast<const Binary&>(e);
      line(fmt::format("Binary {}", spelling(b.op)), e.range);
      Nest n(*this);
      expr(*b.lhs);
      expr(*b.rhs);
      return;
    }
    case ExprKind::Lambda: {
      auto& l = static_cast<const Lambda&>(e);
      std::string params;
      for (size_t i = 0; i < l.params.size(); ++i) params += (i ? ", " : "") + l.params[i].name;
      line("Lambda (" + params + ")", e.range);
      Nest n(*this);
      expr(*l.body);
      return;
    }
    case ExprKind::List:
    case ExprKind::Tuple: {
      line(e.kind == ExprKind::List ? "List" : "Tuple", e.range);
      Nest n(*this);
      const auto& items = e.kind == ExprKind::List ? static_cast<const List&>(e).items : static_cast<const Tuple&>(e).items;
      for (const ExprPtr& item : items) expr(*item);
      return;
    }
    }
  }

  bool withRanges_;
  int depth_ = 0;
};

} // namespace

std::string dumpAst(const Module& module, bool withRanges) {
  Dumper d(withRanges);
  d.module(module);
  return d.out;
}

} // namespace bdl
