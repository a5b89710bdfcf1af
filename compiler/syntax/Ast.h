// The BDL abstract syntax tree. One node base per category (expression,
// statement, declaration) with a kind enum; every node owns its SourceRange.
// Built from the parse tree by AstBuilder; nothing here knows of ANTLR.
#pragma once

#include "compiler/syntax/Source.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bdl::ast {

struct Ident {
  std::string name;
  SourceRange range;
};

// ---- expressions ----------------------------------------------------------

enum class ExprKind {
  Int, Float, String, Bool, Duration, Name, Member, Call, Index, Unary, Binary,
  Lambda, List, Tuple
};

struct Expr {
  ExprKind kind;
  SourceRange range;
  explicit Expr(ExprKind k, SourceRange r) : kind(k), range(r) {}
  virtual ~Expr() = default;
  template <typename T> const T* as() const { return kind == T::kKind ? static_cast<const T*>(this) : nullptr; }
  template <typename T> T* as() { return kind == T::kKind ? static_cast<T*>(this) : nullptr; }
};
using ExprPtr = std::unique_ptr<Expr>;

struct IntLit : Expr {
  static constexpr ExprKind kKind = ExprKind::Int;
  int64_t value;
  std::string spelling; // as written, so the formatter keeps it
  IntLit(SourceRange r, int64_t v, std::string s) : Expr(kKind, r), value(v), spelling(std::move(s)) {}
};

struct FloatLit : Expr {
  static constexpr ExprKind kKind = ExprKind::Float;
  double value;
  std::string spelling;
  FloatLit(SourceRange r, double v, std::string s) : Expr(kKind, r), value(v), spelling(std::move(s)) {}
};

struct StringLit : Expr {
  static constexpr ExprKind kKind = ExprKind::String;
  std::string value;    // escapes resolved
  std::string spelling; // with quotes and escapes, as written
  StringLit(SourceRange r, std::string v, std::string s)
      : Expr(kKind, r), value(std::move(v)), spelling(std::move(s)) {}
};

struct BoolLit : Expr {
  static constexpr ExprKind kKind = ExprKind::Bool;
  bool value;
  BoolLit(SourceRange r, bool v) : Expr(kKind, r), value(v) {}
};

enum class DurationUnit { Epochs, Iterations };

// `5 epochs`, `200 iterations`; `singular` records `1 epoch` spelling.
struct DurationLit : Expr {
  static constexpr ExprKind kKind = ExprKind::Duration;
  int64_t count;
  DurationUnit unit;
  bool singular;
  DurationLit(SourceRange r, int64_t c, DurationUnit u, bool s)
      : Expr(kKind, r), count(c), unit(u), singular(s) {}
};

struct NameRef : Expr {
  static constexpr ExprKind kKind = ExprKind::Name;
  std::string name;
  NameRef(SourceRange r, std::string n) : Expr(kKind, r), name(std::move(n)) {}
};

// `object.member`, e.g. `nn.Dense`.
struct Member : Expr {
  static constexpr ExprKind kKind = ExprKind::Member;
  ExprPtr object;
  Ident member;
  Member(SourceRange r, ExprPtr o, Ident m) : Expr(kKind, r), object(std::move(o)), member(std::move(m)) {}
};

struct Arg {
  std::optional<Ident> name; // set for `name = value`
  ExprPtr value;
};

struct Call : Expr {
  static constexpr ExprKind kKind = ExprKind::Call;
  ExprPtr callee;
  std::vector<Arg> args;
  Call(SourceRange r, ExprPtr c, std::vector<Arg> a) : Expr(kKind, r), callee(std::move(c)), args(std::move(a)) {}
};

// One index position: `i`, or a slice `lo:hi` with either bound optional.
struct IndexItem {
  bool isSlice = false;
  ExprPtr lo; // the index itself when not a slice
  ExprPtr hi;
};

struct Index : Expr {
  static constexpr ExprKind kKind = ExprKind::Index;
  ExprPtr object;
  std::vector<IndexItem> items;
  Index(SourceRange r, ExprPtr o, std::vector<IndexItem> i) : Expr(kKind, r), object(std::move(o)), items(std::move(i)) {}
};

enum class UnaryOp { Neg, Not };

struct Unary : Expr {
  static constexpr ExprKind kKind = ExprKind::Unary;
  UnaryOp op;
  ExprPtr operand;
  Unary(SourceRange r, UnaryOp o, ExprPtr e) : Expr(kKind, r), op(o), operand(std::move(e)) {}
};

// Lowest precedence first; BinaryOp order is also the precedence order
// used by the formatter to decide on parentheses.
enum class BinaryOp { Pipe, Or, And, Lt, Le, Gt, Ge, Eq, Ne, Add, Sub, Mul, Div, Mod, MatMul };

int precedence(BinaryOp op); // higher binds tighter
const char* spelling(BinaryOp op);
const char* spelling(UnaryOp op);

struct Binary : Expr {
  static constexpr ExprKind kKind = ExprKind::Binary;
  BinaryOp op;
  SourceRange opRange;
  ExprPtr lhs, rhs;
  Binary(SourceRange r, BinaryOp o, SourceRange orng, ExprPtr l, ExprPtr rh)
      : Expr(kKind, r), op(o), opRange(orng), lhs(std::move(l)), rhs(std::move(rh)) {}
};

// `x => body` or `(a, b) => body`.
struct Lambda : Expr {
  static constexpr ExprKind kKind = ExprKind::Lambda;
  std::vector<Ident> params;
  bool parenthesized;
  ExprPtr body;
  Lambda(SourceRange r, std::vector<Ident> p, bool paren, ExprPtr b)
      : Expr(kKind, r), params(std::move(p)), parenthesized(paren), body(std::move(b)) {}
};

struct List : Expr {
  static constexpr ExprKind kKind = ExprKind::List;
  std::vector<ExprPtr> items;
  List(SourceRange r, std::vector<ExprPtr> i) : Expr(kKind, r), items(std::move(i)) {}
};

struct Tuple : Expr {
  static constexpr ExprKind kKind = ExprKind::Tuple;
  std::vector<ExprPtr> items;
  Tuple(SourceRange r, std::vector<ExprPtr> i) : Expr(kKind, r), items(std::move(i)) {}
};

// ---- types ----------------------------------------------------------------

// `f32[N, 784]`, `int`, `fn`. `dims` is empty and hasDims false for scalars
// and compile-time types; `f32[]` is a rank-0 tensor.
struct TypeExpr {
  Ident name;
  bool hasDims = false;
  std::vector<ExprPtr> dims;
  SourceRange range;
};

struct ParamDecl {
  Ident name;
  TypeExpr type;
  ExprPtr defaultValue; // may be null
  SourceRange range;
};

// ---- statements -----------------------------------------------------------

enum class StmtKind { Param, State, Update, Assign, Return, For, If };

struct Stmt {
  StmtKind kind;
  SourceRange range;
  explicit Stmt(StmtKind k, SourceRange r) : kind(k), range(r) {}
  virtual ~Stmt() = default;
  template <typename T> const T* as() const { return kind == T::kKind ? static_cast<const T*>(this) : nullptr; }
};
using StmtPtr = std::unique_ptr<Stmt>;
using Block = std::vector<StmtPtr>;

// `param NAME: TYPE = INIT` and `state NAME: TYPE = INIT`.
struct VarDecl : Stmt {
  Ident name;
  TypeExpr type;
  ExprPtr init;
  VarDecl(StmtKind k, SourceRange r, Ident n, TypeExpr t, ExprPtr i)
      : Stmt(k, r), name(std::move(n)), type(std::move(t)), init(std::move(i)) {}
};

struct ParamStmt : VarDecl {
  static constexpr StmtKind kKind = StmtKind::Param;
  ParamStmt(SourceRange r, Ident n, TypeExpr t, ExprPtr i) : VarDecl(kKind, r, std::move(n), std::move(t), std::move(i)) {}
};

struct StateStmt : VarDecl {
  static constexpr StmtKind kKind = StmtKind::State;
  StateStmt(SourceRange r, Ident n, TypeExpr t, ExprPtr i) : VarDecl(kKind, r, std::move(n), std::move(t), std::move(i)) {}
};

// `NAME <- EXPR`
struct UpdateStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Update;
  Ident target;
  ExprPtr value;
  UpdateStmt(SourceRange r, Ident t, ExprPtr v) : Stmt(kKind, r), target(std::move(t)), value(std::move(v)) {}
};

// `a = e` or `a, b = e`
struct AssignStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Assign;
  std::vector<Ident> targets;
  ExprPtr value;
  AssignStmt(SourceRange r, std::vector<Ident> t, ExprPtr v) : Stmt(kKind, r), targets(std::move(t)), value(std::move(v)) {}
};

struct ReturnStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Return;
  std::vector<ExprPtr> values;
  ReturnStmt(SourceRange r, std::vector<ExprPtr> v) : Stmt(kKind, r), values(std::move(v)) {}
};

// `for var in from..to { body }`, unrolled at compile time.
struct ForStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::For;
  Ident var;
  ExprPtr from, to;
  Block body;
  SourceLoc open, close; // the braces, for comments at the start and end of the body
  ForStmt(SourceRange r, Ident v, ExprPtr f, ExprPtr t, Block b)
      : Stmt(kKind, r), var(std::move(v)), from(std::move(f)), to(std::move(t)), body(std::move(b)) {}
};

// `if c { } else if d { } else { }`: an else-if is an else block holding one
// IfStmt with elseIf set.
struct IfStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::If;
  ExprPtr cond;
  Block thenBody;
  Block elseBody;
  bool hasElse = false;
  bool elseIsIf = false;
  SourceLoc thenOpen, thenClose, elseOpen, elseClose; // the braces
  IfStmt(SourceRange r, ExprPtr c) : Stmt(kKind, r), cond(std::move(c)) {}
};

// ---- declarations ---------------------------------------------------------

enum class DeclKind { Import, Def, Pipeline, Train };

struct Decl {
  DeclKind kind;
  SourceRange range;
  explicit Decl(DeclKind k, SourceRange r) : kind(k), range(r) {}
  virtual ~Decl() = default;
  template <typename T> const T* as() const { return kind == T::kKind ? static_cast<const T*>(this) : nullptr; }
};
using DeclPtr = std::unique_ptr<Decl>;

// `import std.nn`, `import std.nn as layers`, `import "lib/blocks.bdl" as b`.
struct ImportDecl : Decl {
  static constexpr DeclKind kKind = DeclKind::Import;
  std::vector<Ident> modulePath; // dotted form; empty for a file import
  std::optional<StringLit> filePath;
  std::optional<Ident> alias;
  ImportDecl(SourceRange r) : Decl(kKind, r) {}
  // The name the import binds: the alias, else the last path component, else
  // the file's stem.
  std::string boundName() const;
};

// `def` and `model` (a model is a def that is an entry point).
struct DefDecl : Decl {
  static constexpr DeclKind kKind = DeclKind::Def;
  bool isModel = false;
  Ident name;
  std::vector<ParamDecl> params;
  std::vector<TypeExpr> results;
  bool resultsParenthesized = false;
  Block body;
  SourceLoc open, close; // the braces
  DefDecl(SourceRange r) : Decl(kKind, r) {}
};

struct PipelineDecl : Decl {
  static constexpr DeclKind kKind = DeclKind::Pipeline;
  Ident name;
  bool hasParamList = false;
  std::vector<ParamDecl> params;
  ExprPtr body;
  PipelineDecl(SourceRange r) : Decl(kKind, r) {}
};

// `name = value [every E] [with W] [keep K]`
struct TrainItem {
  Ident name;
  ExprPtr value, every, with, keep;
  SourceRange range;
};

struct TrainDecl : Decl {
  static constexpr DeclKind kKind = DeclKind::Train;
  Ident name;
  std::vector<TrainItem> items;
  SourceLoc open, close; // the braces
  TrainDecl(SourceRange r) : Decl(kKind, r) {}
};

struct Comment {
  SourceRange range;
  std::string text; // with its `//` or `/* */`
};

// One parsed file.
struct Module {
  FileId file = kNoFile;
  std::vector<DeclPtr> decls;
  std::vector<Comment> comments; // in source order, for the formatter
};

} // namespace bdl::ast
