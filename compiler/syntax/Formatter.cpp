#include "compiler/syntax/Formatter.h"

#include <algorithm>
#include <fmt/format.h>

namespace bdl {

using namespace ast;

namespace {

constexpr int kWidth = 80;
// A call or list this short is never broken over lines: breaking it would
// not help the reader more than the overflow hurts.
constexpr size_t kUnbreakable = 32;

int lastLineWidth(const std::string& s) {
  size_t nl = s.rfind('\n');
  std::string_view last = nl == std::string::npos ? std::string_view(s) : std::string_view(s).substr(nl + 1);
  int n = 0;
  for (unsigned char c : last) n += (c & 0xC0) != 0x80;
  return n;
}

bool multiLine(const std::string& s) { return s.find('\n') != std::string::npos; }

// Expressions, laid out for a given starting column.
class ExprPrinter {
public:
  std::string print(const Expr& e, int col, int minPrec = 0) {
    switch (e.kind) {
    case ExprKind::Int: return static_cast<const IntLit&>(e).spelling;
    case ExprKind::Float: return static_cast<const FloatLit&>(e).spelling;
    case ExprKind::String: return static_cast<const StringLit&>(e).spelling;
    case ExprKind::Bool: return static_cast<const BoolLit&>(e).value ? "true" : "false";
    case ExprKind::Duration: {
      auto& d = static_cast<const DurationLit&>(e);
      const char* unit = d.unit == DurationUnit::Epochs ? (d.singular ? "epoch" : "epochs")
                                                          : (d.singular ? "iteration" : "iterations");
      return fmt::format("{} {}", d.count, unit);
    }
    case ExprKind::Name: return static_cast<const NameRef&>(e).name;
    case ExprKind::Member: {
      auto& m = static_cast<const Member&>(e);
      return postfixObject(*m.object, col) + "." + m.member.name;
    }
    case ExprKind::Call: return call(static_cast<const Call&>(e), col);
    case ExprKind::Index: {
      auto& ix = static_cast<const Index&>(e);
      std::string out = postfixObject(*ix.object, col) + "[";
      for (size_t i = 0; i < ix.items.size(); ++i) {
        if (i) out += ", ";
        const IndexItem& item = ix.items[i];
        if (item.lo) out += flat(*item.lo);
        if (item.isSlice) out += ":";
        if (item.isSlice && item.hi) out += flat(*item.hi);
      }
      return out + "]";
    }
    case ExprKind::Unary: {
      auto& u = static_cast<const Unary&>(e);
      bool paren = u.operand->kind == ExprKind::Binary || u.operand->kind == ExprKind::Lambda;
      std::string inner = print(*u.operand, col + 1 + paren);
      return std::string(spelling(u.op)) + (paren ? "(" + inner + ")" : inner);
    }
    case ExprKind::Binary: return binary(static_cast<const Binary&>(e), col, minPrec);
    case ExprKind::Lambda: {
      auto& l = static_cast<const Lambda&>(e);
      std::string head;
      if (l.parenthesized || l.params.size() != 1) {
        head = "(";
        for (size_t i = 0; i < l.params.size(); ++i) head += (i ? ", " : "") + l.params[i].name;
        head += ")";
      } else {
        head = l.params[0].name;
      }
      head += " => ";
      std::string body = print(*l.body, col + lastLineWidth(head));
      std::string out = head + body;
      return minPrec > 0 ? "(" + out + ")" : out;
    }
    case ExprKind::List: return sequence("[", static_cast<const List&>(e).items, "]", col, false);
    case ExprKind::Tuple: return sequence("(", static_cast<const Tuple&>(e).items, ")", col, true);
    }
    return "";
  }

  std::string flat(const Expr& e) { return print(e, -100000); }

private:
  // Callee of a call, object of an index or member: parenthesised unless it
  // is itself a primary or postfix form.
  std::string postfixObject(const Expr& e, int col) {
    bool paren = e.kind == ExprKind::Binary || e.kind == ExprKind::Unary || e.kind == ExprKind::Lambda;
    return paren ? "(" + print(e, col + 1) + ")" : print(e, col);
  }

  std::string binary(const Binary& b, int col, int minPrec) {
    int prec = precedence(b.op);
    bool comparison = prec == precedence(BinaryOp::Eq);
    bool paren = prec < minPrec;
    int start = col + paren;
    std::string lhs = print(*b.lhs, start, comparison ? prec + 1 : prec);
    std::string op = std::string(" ") + spelling(b.op) + " ";
    std::string rhs = print(*b.rhs, start + lastLineWidth(lhs) + static_cast<int>(op.size()), prec + 1);
    std::string out = lhs + op + rhs;
    return paren ? "(" + out + ")" : out;
  }

  std::string call(const Call& c, int col) {
    std::string head = postfixObject(*c.callee, col) + "(";
    int argCol = col + lastLineWidth(head);
    std::vector<std::string> flatArgs;
    size_t width = 0;
    bool anyMulti = false;
    for (const Arg& a : c.args) {
      std::string prefix = a.name ? a.name->name + " = " : "";
      std::string s = prefix + print(*a.value, argCol + static_cast<int>(prefix.size()));
      anyMulti |= multiLine(s);
      width += s.size() + 2;
      flatArgs.push_back(std::move(s));
    }
    bool fits = argCol + static_cast<int>(width) <= kWidth || width <= kUnbreakable;
    if (c.args.size() < 2 || (fits && !anyMulti)) {
      std::string out = head;
      for (size_t i = 0; i < flatArgs.size(); ++i) out += (i ? ", " : "") + flatArgs[i];
      return out + ")";
    }
    std::string out = head;
    std::string indent(std::max(argCol, 0), ' ');
    for (size_t i = 0; i < flatArgs.size(); ++i) out += (i ? ",\n" + indent : "") + flatArgs[i];
    return out + ")";
  }

  std::string sequence(const char* open, const std::vector<ExprPtr>& items, const char* close, int col, bool tuple) {
    int itemCol = col + 1;
    std::vector<std::string> parts;
    size_t width = 0;
    bool anyMulti = false;
    for (const ExprPtr& item : items) {
      parts.push_back(print(*item, itemCol));
      anyMulti |= multiLine(parts.back());
      width += parts.back().size() + 2;
    }
    bool breakLines = items.size() > 1 && (anyMulti || (itemCol + static_cast<int>(width) > kWidth && width > kUnbreakable));
    std::string sep = breakLines ? ",\n" + std::string(std::max(itemCol, 0), ' ') : ", ";
    std::string out = open;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
    if (tuple && items.size() == 1) out += ",";
    return out + close;
  }
};

// Declarations and statements, with comments re-attached by position.
class ModulePrinter {
public:
  explicit ModulePrinter(const Module& m) : module_(m) {}

  std::string run() {
    const Decl* prev = nullptr;
    for (const DeclPtr& d : module_.decls) {
      bool bothImports = prev && prev->kind == DeclKind::Import && d->kind == DeclKind::Import;
      if (prev && !bothImports) blankLine();
      else if (prev && d->range.begin.line > lastLine_ + 1) blankLine();
      leading(d->range.begin, 0);
      decl(*d);
      prev = d.get();
    }
    leading(SourceLoc{UINT32_MAX, UINT32_MAX}, 0);
    while (out_.size() > 1 && out_[out_.size() - 1] == '\n' && out_[out_.size() - 2] == '\n') out_.pop_back();
    return out_;
  }

private:
  // Keeps one blank line where the source had one or more before `begin`
  // (or before the comments that come first).
  void blankLineBefore(SourceLoc begin) {
    uint32_t first = begin.line;
    if (next_ < module_.comments.size() && module_.comments[next_].range.begin < begin)
      first = std::min(first, module_.comments[next_].range.begin.line);
    if (!atBlockStart_ && lastLine_ && first > lastLine_ + 1) blankLine();
  }

  void blankLine() {
    if (out_.empty() || (out_.size() >= 2 && out_.substr(out_.size() - 2) == "\n\n")) return;
    out_ += '\n';
  }

  // Comments before `before` go on their own lines at `indent`.
  void leading(SourceLoc before, int indent) {
    const auto& comments = module_.comments;
    while (next_ < comments.size() && comments[next_].range.begin < before) {
      const Comment& c = comments[next_++];
      if (lastLine_ && c.range.begin.line > lastLine_ + 1 && !atBlockStart_) blankLine();
      out_ += std::string(indent, ' ') + c.text + "\n";
      lastLine_ = std::max(lastLine_, c.range.end.line);
      atBlockStart_ = false;
    }
  }

  // Ends the current output line, first appending comments that sat at the
  // end of source line `line`.
  void endLine(uint32_t line) {
    const auto& comments = module_.comments;
    while (next_ < comments.size() && comments[next_].range.begin.line == line) {
      const Comment& c = comments[next_++];
      int here = lastLineWidth(out_);
      // Keep a comment's column (alignment) unless it sits past the width.
      int original = static_cast<int>(c.range.begin.col) - 1;
      int column = original <= kWidth ? std::max(here + 2, original) : here + 2;
      out_ += std::string(column - here, ' ') + c.text;
      line = c.range.end.line;
    }
    out_ += "\n";
    lastLine_ = std::max(lastLine_, line);
    atBlockStart_ = false;
  }

  void emit(const std::string& s) { out_ += s; }
  int column() const { return lastLineWidth(out_); }
  std::string expr(const Expr& e, int minPrec = 0) { return exprs_.print(e, column(), minPrec); }

  std::string type(const TypeExpr& t) {
    std::string out = t.name.name;
    if (!t.hasDims) return out;
    out += "[";
    for (size_t i = 0; i < t.dims.size(); ++i) out += (i ? ", " : "") + exprs_.flat(*t.dims[i]);
    return out + "]";
  }

  std::string params(const std::vector<ParamDecl>& ps, int col) {
    std::vector<std::string> parts;
    size_t width = 0;
    for (const ParamDecl& p : ps) {
      std::string s = p.name.name + ": " + type(p.type);
      if (p.defaultValue) s += " = " + exprs_.flat(*p.defaultValue);
      width += s.size() + 2;
      parts.push_back(std::move(s));
    }
    bool breakLines = parts.size() > 1 && col + static_cast<int>(width) > kWidth;
    std::string sep = breakLines ? ",\n" + std::string(col, ' ') : ", ";
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
    return out;
  }

  void decl(const Decl& d) {
    if (auto* i = d.as<ImportDecl>()) {
      emit("import ");
      if (i->filePath) emit(i->filePath->spelling);
      for (size_t k = 0; k < i->modulePath.size(); ++k) emit((k ? "." : "") + i->modulePath[k].name);
      if (i->alias) emit(" as " + i->alias->name);
      endLine(d.range.end.line);
    } else if (auto* f = d.as<DefDecl>()) {
      emit(std::string(f->isModel ? "model " : "def ") + f->name.name + "(");
      emit(params(f->params, column()) + ")");
      if (!f->results.empty()) {
        bool paren = f->resultsParenthesized || f->results.size() > 1;
        emit(paren ? " -> (" : " -> ");
        for (size_t k = 0; k < f->results.size(); ++k) emit((k ? ", " : "") + type(f->results[k]));
        if (paren) emit(")");
      }
      emit(" ");
      body(f->body, f->close, 0, f->open.line);
      endLine(f->close.line);
    } else if (auto* p = d.as<PipelineDecl>()) {
      emit("pipeline " + p->name.name);
      if (p->hasParamList) emit("(" + params(p->params, column() + 1) + ")");
      emit(" =");
      endLine(p->name.range.begin.line);
      pipeChain(*p->body, 2);
    } else if (auto* t = d.as<TrainDecl>()) {
      train(*t);
    }
  }

  // A pipeline body: one stage per line, each stage keeping its comment.
  void pipeChain(const Expr& body, int indent) {
    std::vector<const Expr*> stages;
    const Expr* e = &body;
    while (auto* b = e->as<Binary>()) {
      if (b->op != BinaryOp::Pipe) break;
      stages.push_back(b->rhs.get());
      e = b->lhs.get();
    }
    stages.push_back(e);
    std::reverse(stages.begin(), stages.end());
    for (size_t i = 0; i < stages.size(); ++i) {
      leading(stages[i]->range.begin, indent);
      emit(std::string(indent, ' ') + (i ? "|> " : ""));
      emit(expr(*stages[i], precedence(BinaryOp::Pipe) + 1));
      endLine(stages[i]->range.end.line);
    }
  }

  void train(const TrainDecl& t) {
    emit("train " + t.name.name + " {");
    atBlockStart_ = true;
    endLine(t.open.line);
    atBlockStart_ = true;
    size_t width = 0;
    for (const TrainItem& item : t.items) width = std::max(width, item.name.name.size());
    for (const TrainItem& item : t.items) {
      blankLineBefore(item.range.begin);
      leading(item.range.begin, 2);
      std::string name = item.name.name;
      name.resize(width, ' ');
      emit("  " + name + " = ");
      emit(expr(*item.value));
      if (item.every) emit(" every " + expr(*item.every));
      if (item.with) emit(" with " + expr(*item.with));
      if (item.keep) emit(" keep " + expr(*item.keep));
      endLine(item.range.end.line);
    }
    leading(t.close, 2);
    emit("}");
    endLine(t.close.line);
  }

  // `{`, the statements, `}` (the caller ends the line after the brace).
  void body(const Block& stmts, SourceLoc close, int indent, uint32_t openLine) {
    emit("{");
    endLine(openLine);
    atBlockStart_ = true;
    for (const StmtPtr& s : stmts) statement(*s, indent + 2);
    leading(close, indent + 2);
    emit(std::string(indent, ' ') + "}");
  }

  void statement(const Stmt& s, int indent) {
    blankLineBefore(s.range.begin);
    leading(s.range.begin, indent);
    emit(std::string(indent, ' '));
    switch (s.kind) {
    case StmtKind::Param:
    case StmtKind::State: {
      auto& v = static_cast<const VarDecl&>(s);
      emit(std::string(s.kind == StmtKind::Param ? "param " : "state ") + v.name.name + ": " + type(v.type) + " = ");
      emit(expr(*v.init));
      break;
    }
    case StmtKind::Update: {
      auto& u = static_cast<const UpdateStmt&>(s);
      emit(u.target.name + " <- ");
      emit(expr(*u.value));
      break;
    }
    case StmtKind::Assign: {
      auto& a = static_cast<const AssignStmt&>(s);
      for (size_t i = 0; i < a.targets.size(); ++i) emit((i ? ", " : "") + a.targets[i].name);
      emit(" = ");
      emit(expr(*a.value));
      break;
    }
    case StmtKind::Return: {
      emit("return ");
      auto& r = static_cast<const ReturnStmt&>(s);
      for (size_t i = 0; i < r.values.size(); ++i) {
        if (i) emit(", ");
        emit(expr(*r.values[i]));
      }
      break;
    }
    case StmtKind::For: {
      auto& f = static_cast<const ForStmt&>(s);
      emit("for " + f.var.name + " in " + exprs_.flat(*f.from) + ".." + exprs_.flat(*f.to) + " ");
      body(f.body, f.close, indent, f.open.line);
      endLine(f.close.line);
      return;
    }
    case StmtKind::If:
      ifChain(static_cast<const IfStmt&>(s), indent);
      return;
    }
    endLine(s.range.end.line);
  }

  void ifChain(const IfStmt& s, int indent) {
    emit("if " + expr(*s.cond) + " ");
    body(s.thenBody, s.thenClose, indent, s.thenOpen.line);
    if (s.hasElse && s.elseIsIf && !s.elseBody.empty()) {
      emit(" else ");
      const auto& inner = static_cast<const IfStmt&>(*s.elseBody.front());
      ifChain(inner, indent);
      return;
    }
    if (s.hasElse) {
      emit(" else ");
      body(s.elseBody, s.elseClose, indent, s.elseOpen.line);
      endLine(s.elseClose.line);
      return;
    }
    endLine(s.thenClose.line);
  }

  const Module& module_;
  ExprPrinter exprs_;
  std::string out_;
  size_t next_ = 0;        // next comment to place
  uint32_t lastLine_ = 0;  // last source line printed
  bool atBlockStart_ = true;
};

} // namespace

std::string formatModule(const Module& module) { return ModulePrinter(module).run(); }

} // namespace bdl
