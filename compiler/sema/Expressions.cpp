// Expressions of the elaborator: literals, names, operators, calls, indexing.
#include "compiler/sema/Elaborator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>

namespace bdl::sema {

using namespace ast;

ir::ValueId Elaborator::asTensor(const Value& v, SourceRange range, std::optional<DType> like) {
  if (v.kind == Value::Kind::Tensor) return v.tensor;
  at(range);
  DType dtype = like.value_or(v.kind == Value::Kind::Int ? DType::F32 : DType::F32);
  if (v.isNumber()) return builder_.scalar(v.number(), dtype);
  if (v.kind == Value::Kind::Bool) return builder_.scalar(v.b ? 1.0 : 0.0, DType::Bool);
  if (v.kind == Value::Kind::Dim && v.dim.isConcrete()) return builder_.scalar(static_cast<double>(v.dim.value), dtype);
  if (v.kind == Value::Kind::Dim)
    fail(range, fmt::format("{} is a batch dimension, known only when the model runs", v.dim.toString()),
         "use mean() rather than dividing a sum by the batch size");
  fail(range, fmt::format("expected a tensor, found {}", describeKind(v)));
}

int64_t Elaborator::asInt(const Value& v, SourceRange range, const char* what) {
  if (v.kind == Value::Kind::Int) return v.i;
  if (v.kind == Value::Kind::Dim && v.dim.isConcrete()) return v.dim.value;
  if (v.kind == Value::Kind::Dim)
    fail(range, fmt::format("{} must be known when compiling, but {} is a batch dimension", what, v.dim.toString()));
  fail(range, fmt::format("{} must be an int, not {}", what, describeKind(v)));
}

double Elaborator::asNumber(const Value& v, SourceRange range, const char* what) {
  if (v.isNumber()) return v.number();
  if (v.kind == Value::Kind::Dim && v.dim.isConcrete()) return static_cast<double>(v.dim.value);
  fail(range, fmt::format("{} must be a number, not {}", what, describeKind(v)));
}

bool Elaborator::asBool(const Value& v, SourceRange range, const char* what) {
  if (v.kind == Value::Kind::Bool) return v.b;
  if (v.kind == Value::Kind::Tensor)
    fail(range, fmt::format("{} must be known when compiling, but this is a tensor", what),
         "BDL has no data-dependent control flow; use where(cond, a, b) to choose per element");
  fail(range, fmt::format("{} must be a bool, not {}", what, describeKind(v)));
}

std::vector<int64_t> Elaborator::asIntList(const Value& v, SourceRange range, const char* what) {
  if (v.kind == Value::Kind::List || v.kind == Value::Kind::Tuple) {
    std::vector<int64_t> out;
    for (const Value& item : v.items) out.push_back(asInt(item, range, what));
    return out;
  }
  return {asInt(v, range, what)};
}

namespace {

// Compile-time arithmetic and comparison on numbers.
// Integer results that do not fit in 64 bits are errors, not wrapped values.
struct Overflow {};

std::optional<Value> foldNumbers(BinaryOp op, const Value& a, const Value& b) {
  bool ints = a.kind == Value::Kind::Int && b.kind == Value::Kind::Int;
  double x = a.number(), y = b.number();
  int64_t r = 0;
  switch (op) {
  case BinaryOp::Add:
    if (!ints) return Value::ofFloat(x + y);
    if (__builtin_add_overflow(a.i, b.i, &r)) throw Overflow{};
    return Value::ofInt(r);
  case BinaryOp::Sub:
    if (!ints) return Value::ofFloat(x - y);
    if (__builtin_sub_overflow(a.i, b.i, &r)) throw Overflow{};
    return Value::ofInt(r);
  case BinaryOp::Mul:
    if (!ints) return Value::ofFloat(x * y);
    if (__builtin_mul_overflow(a.i, b.i, &r)) throw Overflow{};
    return Value::ofInt(r);
  case BinaryOp::Div: return Value::ofFloat(x / y);
  case BinaryOp::Mod:
    if (!ints) return Value::ofFloat(std::fmod(x, y));
    if (b.i == -1) return Value::ofInt(0); // INT64_MIN % -1 would trap
    return Value::ofInt(a.i % b.i);
  case BinaryOp::Lt: return Value::ofBool(x < y);
  case BinaryOp::Le: return Value::ofBool(x <= y);
  case BinaryOp::Gt: return Value::ofBool(x > y);
  case BinaryOp::Ge: return Value::ofBool(x >= y);
  case BinaryOp::Eq: return Value::ofBool(x == y);
  case BinaryOp::Ne: return Value::ofBool(x != y);
  default: return std::nullopt;
  }
}

Value concreteDimAsInt(const Value& v) {
  if (v.kind != Value::Kind::Dim || !v.dim.isConcrete()) return v;
  Value i = Value::ofInt(v.dim.value);
  i.dimOrigin = v.dimOrigin;
  return i;
}

} // namespace

Value Elaborator::binary(BinaryOp op, const Value& lhsIn, const Value& rhsIn, SourceRange range, SourceRange opRange) {
  Value lhs = concreteDimAsInt(lhsIn), rhs = concreteDimAsInt(rhsIn);
  const char* sym = spelling(op);
  if (lhs.isNumber() && rhs.isNumber()) {
    if ((op == BinaryOp::Div || op == BinaryOp::Mod) && rhs.number() == 0)
      fail(range, fmt::format("{} by zero in a compile-time value", op == BinaryOp::Div ? "division" : "remainder"));
    try {
      if (auto v = foldNumbers(op, lhs, rhs)) return *v;
    } catch (const Overflow&) {
      fail(range, fmt::format("integer overflow: {} {} {} does not fit in 64 bits", lhs.i, sym, rhs.i));
    }
    fail(opRange, fmt::format("'{}' does not apply to {} and {}", sym, describeKind(lhs), describeKind(rhs)));
  }
  if (lhs.kind == Value::Kind::Str && rhs.kind == Value::Kind::Str) {
    if (op == BinaryOp::Add) return Value::ofStr(lhs.s + rhs.s);
    if (op == BinaryOp::Eq) return Value::ofBool(lhs.s == rhs.s);
    if (op == BinaryOp::Ne) return Value::ofBool(lhs.s != rhs.s);
  }
  if (lhs.kind == Value::Kind::Bool && rhs.kind == Value::Kind::Bool) {
    if (op == BinaryOp::Eq) return Value::ofBool(lhs.b == rhs.b);
    if (op == BinaryOp::Ne) return Value::ofBool(lhs.b != rhs.b);
  }
  // A batch dimension times an integer stays a dimension (for reshape).
  if (op == BinaryOp::Mul && lhs.kind == Value::Kind::Dim && rhs.kind == Value::Kind::Int)
    return Value::ofDim(ir::Dim::sym(lhs.dim.symbol, lhs.dim.value * rhs.i), std::nullopt);
  if (op == BinaryOp::Mul && rhs.kind == Value::Kind::Dim && lhs.kind == Value::Kind::Int)
    return Value::ofDim(ir::Dim::sym(rhs.dim.symbol, rhs.dim.value * lhs.i), std::nullopt);
  if (lhs.kind == Value::Kind::Dim && rhs.kind == Value::Kind::Dim && (op == BinaryOp::Eq || op == BinaryOp::Ne))
    return Value::ofBool((lhs.dim == rhs.dim) == (op == BinaryOp::Eq));

  if (lhs.kind != Value::Kind::Tensor && rhs.kind != Value::Kind::Tensor)
    fail(opRange, fmt::format("'{}' does not apply to {} and {}", sym, describeKind(lhs), describeKind(rhs)));
  std::optional<DType> like = lhs.kind == Value::Kind::Tensor ? typeOf(lhs.tensor).dtype : typeOf(rhs.tensor).dtype;
  ir::ValueId a = asTensor(lhs, range, like);
  ir::ValueId b = asTensor(rhs, range, like);
  at(opRange);
  std::vector<Value> operands = {lhs, rhs};
  auto check = [&](ir::Expected<ir::ValueId> r, SourceRange at, const std::vector<Value>& ops) {
    if (!r.ok()) {
      // The IR names its op ("mul is not defined on bool"); the user wrote '*'.
      ir::Error error = r.error();
      for (const char* irName : {"add", "sub", "mul", "div", "matmul", "less_equal", "less", "greater_equal",
                                 "greater", "equal", "not_equal"}) {
        std::string prefix = std::string(irName) + " ";
        if (error.message.rfind(prefix + "is not defined", 0) == 0) {
          error.message.replace(0, std::strlen(irName), fmt::format("'{}'", sym));
          break;
        }
      }
      r = error;
    }
    return this->check(std::move(r), at, ops, {"the left operand", "the right operand"}, op == BinaryOp::MatMul);
  };
  switch (op) {
  case BinaryOp::Add: return Value::ofTensor(check(builder_.add(a, b), range, operands));
  case BinaryOp::Sub: return Value::ofTensor(check(builder_.sub(a, b), range, operands));
  case BinaryOp::Mul: return Value::ofTensor(check(builder_.mul(a, b), range, operands));
  case BinaryOp::Div: return Value::ofTensor(check(builder_.div(a, b), range, operands));
  case BinaryOp::MatMul: return Value::ofTensor(check(builder_.matmul(a, b), range, operands));
  case BinaryOp::Lt: return Value::ofTensor(check(builder_.less(a, b), range, operands));
  case BinaryOp::Le: return Value::ofTensor(check(builder_.lessEqual(a, b), range, operands));
  case BinaryOp::Gt: return Value::ofTensor(check(builder_.greater(a, b), range, operands));
  case BinaryOp::Ge: return Value::ofTensor(check(builder_.greaterEqual(a, b), range, operands));
  case BinaryOp::Eq: return Value::ofTensor(check(builder_.equal(a, b), range, operands));
  case BinaryOp::Ne: return Value::ofTensor(check(builder_.notEqual(a, b), range, operands));
  default: break;
  }
  fail(opRange, fmt::format("'{}' does not apply to tensors", sym),
       op == BinaryOp::Pipe ? "'|>' joins the stages of a pipeline" : "");
}

Value Elaborator::eval(const Expr& e, bool wholeValueOfBinding) {
  switch (e.kind) {
  case ExprKind::Int: return Value::ofInt(static_cast<const IntLit&>(e).value);
  case ExprKind::Float: return Value::ofFloat(static_cast<const FloatLit&>(e).value);
  case ExprKind::String: return Value::ofStr(static_cast<const StringLit&>(e).value);
  case ExprKind::Bool: return Value::ofBool(static_cast<const BoolLit&>(e).value);
  case ExprKind::Duration: {
    auto& d = static_cast<const DurationLit&>(e);
    Value v;
    v.kind = Value::Kind::Duration;
    v.i = d.count;
    v.unit = d.unit;
    return v;
  }
  case ExprKind::Name: return lookup(static_cast<const NameRef&>(e).name, e.range);
  case ExprKind::Member: {
    auto& m = static_cast<const Member&>(e);
    Value object = eval(*m.object);
    if (object.kind != Value::Kind::Module)
      fail(m.member.range, fmt::format("{} has no members", describeKind(object)));
    Value member = lookupGlobal(*this, object.module, m.member.name);
    if (member.kind != Value::Kind::Fn) {
      std::vector<std::string> names;
      for (const DeclPtr& d : program_.modules.at(object.module).ast->decls)
        if (auto* def = d->as<DefDecl>()) names.push_back(def->name.name);
      std::string near = closestName(m.member.name, names);
      fail(m.member.range, fmt::format("module '{}' has no definition '{}'", program_.modules.at(object.module).path.stem().string(),
                                       m.member.name),
           near.empty() ? "" : fmt::format("did you mean '{}'?", near));
    }
    return member;
  }
  case ExprKind::Call: {
    auto& c = static_cast<const Call&>(e);
    Value callee = eval(*c.callee);
    if (auto* n = c.callee->as<NameRef>(); n && callee.kind != Value::Kind::Fn && isBuiltinFunction(n->name))
      fail(c.callee->range, fmt::format("cannot call {}: the name '{}' here hides the built-in {}()", describeKind(callee),
                                        n->name, n->name),
           fmt::format("rename the variable '{}'", n->name));
    std::vector<CallArg> args;
    std::string savedTarget = frame().target;
    for (const Arg& a : c.args) {
      args.push_back({a.name ? std::optional<std::string>(a.name->name) : std::nullopt,
                      a.name ? a.name->range : a.value->range, eval(*a.value), a.value->range});
      frame().target = savedTarget; // an argument's calls name themselves after this binding too
    }
    return callValue(callee, std::move(args), e.range, wholeValueOfBinding);
  }
  case ExprKind::Index: {
    auto& ix = static_cast<const Index&>(e);
    Value object = eval(*ix.object);
    if (object.kind == Value::Kind::List || object.kind == Value::Kind::Tuple) {
      if (ix.items.size() != 1 || ix.items[0].isSlice) fail(e.range, "a list takes one integer index");
      int64_t i = asInt(eval(*ix.items[0].lo), ix.items[0].lo->range, "an index");
      int64_t n = static_cast<int64_t>(object.items.size());
      if (i < -n || i >= n) fail(e.range, fmt::format("index {} is out of range for a list of {}", i, n));
      return object.items[static_cast<size_t>(i < 0 ? i + n : i)];
    }
    if (object.kind != Value::Kind::Tensor) fail(e.range, fmt::format("cannot index {}", describeKind(object)));
    ir::ValueId t = object.tensor;
    std::vector<int64_t> dropped;
    for (size_t axis = 0; axis < ix.items.size(); ++axis) {
      const IndexItem& item = ix.items[axis];
      const ir::TensorType& type = typeOf(t);
      if (static_cast<int64_t>(axis) >= type.rank())
        fail(e.range, fmt::format("{} indices for a tensor of rank {}", ix.items.size(), type.rank()));
      const ir::Dim& d = type.dims[axis];
      if (!item.isSlice) {
        int64_t i = asInt(eval(*item.lo), item.lo->range, "an index");
        if (d.isConcrete() && i < 0 && i >= -d.value) i += d.value; // from the end, as in Python
        if (d.isSymbolic() || i < 0 || i >= d.value)
          fail(item.lo->range, fmt::format("index {} is out of range for dimension {} of {}", i, axis, type.toString()));
        at(e.range);
        t = check(builder_.slice(t, static_cast<int64_t>(axis), i, i + 1), e.range, {});
        dropped.push_back(static_cast<int64_t>(axis));
        continue;
      }
      if (!item.lo && !item.hi) continue;
      if (d.isSymbolic()) fail(e.range, "slicing a batch dimension is not supported");
      int64_t lo = item.lo ? asInt(eval(*item.lo), item.lo->range, "a slice bound") : 0;
      int64_t hi = item.hi ? asInt(eval(*item.hi), item.hi->range, "a slice bound") : d.value;
      at(e.range);
      t = check(builder_.slice(t, static_cast<int64_t>(axis), lo, hi), e.range, {});
    }
    if (!dropped.empty()) {
      ir::Dims dims;
      const ir::TensorType& type = typeOf(t);
      for (size_t k = 0; k < type.dims.size(); ++k)
        if (std::find(dropped.begin(), dropped.end(), static_cast<int64_t>(k)) == dropped.end()) dims.push_back(type.dims[k]);
      t = check(builder_.reshape(t, dims), e.range, {});
    }
    return Value::ofTensor(t);
  }
  case ExprKind::Unary: {
    auto& u = static_cast<const Unary&>(e);
    Value v = concreteDimAsInt(eval(*u.operand));
    if (u.op == UnaryOp::Not) return Value::ofBool(!asBool(v, u.operand->range, "the operand of '!'"));
    if (v.kind == Value::Kind::Int) {
      if (v.i == INT64_MIN) fail(e.range, "integer overflow: -(-9223372036854775808) does not fit in 64 bits");
      return Value::ofInt(-v.i);
    }
    if (v.kind == Value::Kind::Float) return Value::ofFloat(-v.f);
    if (v.kind != Value::Kind::Tensor) fail(e.range, fmt::format("cannot negate {}", describeKind(v)));
    at(e.range);
    return Value::ofTensor(check(builder_.neg(v.tensor), e.range, {v}));
  }
  case ExprKind::Binary: {
    auto& b = static_cast<const Binary&>(e);
    if (b.op == BinaryOp::And || b.op == BinaryOp::Or) {
      bool l = asBool(eval(*b.lhs), b.lhs->range, fmt::format("the left of '{}'", spelling(b.op)).c_str());
      if (b.op == BinaryOp::And && !l) return Value::ofBool(false);
      if (b.op == BinaryOp::Or && l) return Value::ofBool(true);
      return Value::ofBool(asBool(eval(*b.rhs), b.rhs->range, fmt::format("the right of '{}'", spelling(b.op)).c_str()));
    }
    if (b.op == BinaryOp::Pipe)
      fail(b.opRange, "'|>' joins the stages of a pipeline; models cannot use it", "write a pipeline: pipeline P = source() |> batch(32)");
    Value l = eval(*b.lhs);
    Value r = eval(*b.rhs);
    return binary(b.op, l, r, e.range, b.opRange);
  }
  case ExprKind::Lambda: {
    Value v;
    v.kind = Value::Kind::Fn;
    v.lambda = static_cast<const Lambda*>(&e);
    v.closure = frame().scope;
    return v;
  }
  case ExprKind::List:
  case ExprKind::Tuple: {
    Value v;
    v.kind = e.kind == ExprKind::List ? Value::Kind::List : Value::Kind::Tuple;
    const auto& items = e.kind == ExprKind::List ? static_cast<const List&>(e).items : static_cast<const Tuple&>(e).items;
    for (const ExprPtr& item : items) v.items.push_back(eval(*item));
    return v;
  }
  }
  fail(e.range, "unsupported expression");
}

std::string closestName(const std::string& name, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    return row[b.size()];
  };
  std::string best;
  size_t bestDistance = std::max<size_t>(1, name.size() / 3) + 1;
  for (const std::string& c : candidates) {
    if (c == name) continue;
    // One name a prefix of the other (act, activation) is a likely slip.
    bool prefix = c.size() >= 2 && name.size() >= 2 &&
                  (name.compare(0, c.size(), c) == 0 || c.compare(0, name.size(), name) == 0);
    if (prefix && best.empty()) best = c;
    size_t d = distance(name, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

} // namespace bdl::sema
