// Compile-time values of elaboration. A BDL expression evaluates either to a
// tensor in the graph being built (an IR value) or to something known at
// compile time: a number, a string, a function, a module, a dimension.
#pragma once

#include "compiler/ir/Types.h"
#include "compiler/syntax/Ast.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bdl::sema {

// Where a tensor dimension got its size, for "note: I bound to 784 here".
struct DimOrigin {
  std::string name;  // the symbol, e.g. "I"
  SourceRange where; // the argument or declaration that bound it
};

struct Scope;

struct Value {
  enum class Kind { None, Tensor, Int, Float, Bool, Str, Fn, Module, DType, Dim, List, Tuple, Duration };
  Kind kind = Kind::None;

  ir::ValueId tensor = 0;
  std::vector<std::optional<DimOrigin>> origins; // per dimension of a tensor, may be shorter
  int64_t i = 0;       // Int; Duration count
  double f = 0;        // Float
  bool b = false;      // Bool
  std::string s;       // Str; a built-in function's name
  DType dtype = DType::F32;
  ir::Dim dim;         // Dim: a dimension used as a value (batch N)
  std::optional<DimOrigin> dimOrigin;
  std::vector<Value> items; // List, Tuple
  ast::DurationUnit unit = ast::DurationUnit::Epochs;

  // Fn: a built-in (s), a def of module `module`, or a lambda with its scope.
  const ast::DefDecl* def = nullptr;
  size_t module = 0; // Fn of a def, Module
  const ast::Lambda* lambda = nullptr;
  std::shared_ptr<Scope> closure;

  static Value ofTensor(ir::ValueId id, std::vector<std::optional<DimOrigin>> origins = {}) {
    Value v;
    v.kind = Kind::Tensor;
    v.tensor = id;
    v.origins = std::move(origins);
    return v;
  }
  static Value ofInt(int64_t x) { Value v; v.kind = Kind::Int; v.i = x; return v; }
  static Value ofFloat(double x) { Value v; v.kind = Kind::Float; v.f = x; return v; }
  static Value ofBool(bool x) { Value v; v.kind = Kind::Bool; v.b = x; return v; }
  static Value ofStr(std::string x) { Value v; v.kind = Kind::Str; v.s = std::move(x); return v; }
  static Value ofBuiltin(std::string name) { Value v; v.kind = Kind::Fn; v.s = std::move(name); return v; }
  static Value ofDType(DType t) { Value v; v.kind = Kind::DType; v.dtype = t; return v; }
  static Value ofDim(ir::Dim d, std::optional<DimOrigin> origin) {
    Value v;
    v.kind = Kind::Dim;
    v.dim = std::move(d);
    v.dimOrigin = std::move(origin);
    return v;
  }

  bool isNumber() const { return kind == Kind::Int || kind == Kind::Float; }
  double number() const { return kind == Kind::Int ? static_cast<double>(i) : f; }
};

// "a tensor", "an int", ... for messages.
std::string describeKind(const Value& v);

// Names visible in a def body: its arguments, locals, bound dimensions.
struct Scope {
  std::shared_ptr<Scope> parent;
  std::map<std::string, Value> names;
  std::map<std::string, SourceRange> definedAt;

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get())
      if (auto it = s->names.find(name); it != s->names.end()) return &it->second;
    return nullptr;
  }
};

} // namespace bdl::sema
