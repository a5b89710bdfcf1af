// The built-in operations of LANGUAGE.md section 4, each bound to the graph
// builder. One table: name, parameters with defaults, and the lowering.
#include "compiler/sema/Elaborator.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <functional>

namespace bdl::sema {

namespace {

// A parameter of a built-in: "x" is required, "axis=" optional.
struct ParamSpec {
  std::string name;
  bool required;
};

std::vector<ParamSpec> parseSpec(std::initializer_list<const char*> spec) {
  std::vector<ParamSpec> out;
  for (const char* s : spec) {
    std::string n = s;
    bool optional = !n.empty() && n.back() == '=';
    if (optional) n.pop_back();
    out.push_back({n, !optional});
  }
  return out;
}

// Arguments bound to a built-in's parameters.
class Args {
public:
  Args(Elaborator& e, const std::string& fn, const std::vector<ParamSpec>& params, std::vector<CallArg> given,
       SourceRange range)
      : e_(e), fn_(fn), range_(range), params_(params), values_(params.size()) {
    size_t positional = 0;
    for (CallArg& a : given) {
      size_t k = 0;
      if (!a.name) {
        k = positional++;
        if (k >= params.size())
          e.fail(a.range, fmt::format("{}() takes at most {} argument{}", fn, params.size(), params.size() == 1 ? "" : "s"));
      } else {
        while (k < params.size() && params[k].name != *a.name) ++k;
        if (k == params.size()) {
          std::vector<std::string> names;
          for (const ParamSpec& p : params) names.push_back(p.name);
          std::string near = closestName(*a.name, names);
          e.fail(a.nameRange, fmt::format("{}() has no parameter '{}'", fn, *a.name),
                 near.empty() ? "" : fmt::format("did you mean '{}'?", near));
        }
      }
      if (values_[k])
        e.fail(a.nameRange, fmt::format("{}() is given '{}' twice", fn, params[k].name), {},
               {{values_[k]->nameRange, "first given here"}});
      values_[k] = std::move(a);
    }
    for (size_t k = 0; k < params.size(); ++k)
      if (params[k].required && !values_[k])
        e.fail(range, fmt::format("{}() needs its argument '{}'", fn, params[k].name));
  }

  bool has(size_t k) const { return values_[k].has_value(); }
  const Value& value(size_t k) const { return values_[k]->value; }
  SourceRange range(size_t k) const { return values_[k] ? values_[k]->range : range_; }
  Value operand(size_t k) const { return values_[k]->value; }

  ir::ValueId tensor(size_t k, std::optional<DType> like = std::nullopt) const {
    return e_.asTensor(value(k), range(k), like);
  }
  // "softmax()'s 'axis'", for messages about one argument.
  std::string what(size_t k) const { return fmt::format("{}()'s '{}'", fn_, params_[k].name); }
  // The IR's operand k is parameter k: its name in the user's terms.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const ParamSpec& p : params_) out.push_back(p.name);
    return out;
  }
  int64_t integer(size_t k, int64_t fallback) const { return has(k) ? e_.asInt(value(k), range(k), what(k).c_str()) : fallback; }
  double number(size_t k, double fallback) const { return has(k) ? e_.asNumber(value(k), range(k), what(k).c_str()) : fallback; }
  bool flag(size_t k, bool fallback) const { return has(k) ? e_.asBool(value(k), range(k), what(k).c_str()) : fallback; }
  std::vector<int64_t> ints(size_t k) const { return has(k) ? e_.asIntList(value(k), range(k), what(k).c_str()) : std::vector<int64_t>{}; }
  std::array<int64_t, 2> pair(size_t k, int64_t fallback) const {
    if (!has(k)) return {fallback, fallback};
    std::vector<int64_t> v = ints(k);
    if (v.size() == 1) return {v[0], v[0]};
    if (v.size() == 2) return {v[0], v[1]};
    e_.fail(range(k), fmt::format("{}() takes one size or a pair [height, width]", fn_));
  }

private:
  Elaborator& e_;
  std::string fn_;
  SourceRange range_;
  std::vector<ParamSpec> params_;
  std::vector<std::optional<CallArg>> values_;
};

using Lowering = std::function<Value(Elaborator&, const Args&, SourceRange)>;

struct Builtin {
  std::vector<ParamSpec> params;
  Lowering lower;
};

Value tensorOf(Elaborator& e, ir::Expected<ir::ValueId> r, SourceRange range, std::vector<Value> operands,
               const std::vector<std::string>& names = {}) {
  return Value::ofTensor(e.check(std::move(r), range, operands, names));
}

// Unary element-wise: folded at compile time on numbers.
Builtin unary(ir::Expected<ir::ValueId> (ir::GraphBuilder::*op)(ir::ValueId), double (*fold)(double)) {
  return {parseSpec({"x"}), [op, fold](Elaborator& e, const Args& a, SourceRange r) {
            if (fold && a.value(0).isNumber()) return Value::ofFloat(fold(a.value(0).number()));
            return tensorOf(e, (e.builder().*op)(a.tensor(0)), r, {a.operand(0)}, a.names());
          }};
}

Builtin binaryOp(ir::Expected<ir::ValueId> (ir::GraphBuilder::*op)(ir::ValueId, ir::ValueId)) {
  return {parseSpec({"a", "b"}), [op](Elaborator& e, const Args& a, SourceRange r) {
            std::optional<DType> like;
            for (size_t k : {0, 1})
              if (a.value(k).kind == Value::Kind::Tensor) like = e.typeOf(a.value(k).tensor).dtype;
            return tensorOf(e, (e.builder().*op)(a.tensor(0, like), a.tensor(1, like)), r, {a.operand(0), a.operand(1)}, a.names());
          }};
}

using Reduce = ir::Expected<ir::ValueId> (ir::GraphBuilder::*)(ir::ValueId, std::vector<int64_t>, bool);
Builtin reduction(Reduce op) {
  return {parseSpec({"x", "axis=", "keepdims="}), [op](Elaborator& e, const Args& a, SourceRange r) {
            // axis = [] reduces over no axis, as in NumPy; no axis at all reduces them all.
            if (a.has(1) && a.ints(1).empty()) return Value::ofTensor(a.tensor(0));
            return tensorOf(e, (e.builder().*op)(a.tensor(0), a.ints(1), a.flag(2, false)), r, {a.operand(0)}, a.names());
          }};
}

using Loss2 = ir::Expected<ir::ValueId> (ir::GraphBuilder::*)(ir::ValueId, ir::ValueId);
Builtin loss(Loss2 op, const char* first, const char* second) {
  return {parseSpec({first, second}), [op](Elaborator& e, const Args& a, SourceRange r) {
            return tensorOf(e, (e.builder().*op)(a.tensor(0), a.tensor(1)), r, {a.operand(0), a.operand(1)}, a.names());
          }};
}

ir::Dims shapeList(Elaborator& e, const Value& v, SourceRange range) {
  if (v.kind != Value::Kind::List && v.kind != Value::Kind::Tuple)
    e.fail(range, "a shape is a list such as [N, -1]");
  ir::Dims dims;
  for (const Value& item : v.items) {
    if (item.kind == Value::Kind::Dim) dims.push_back(item.dim);
    else dims.push_back(ir::Dim::of(e.asInt(item, range, "a dimension")));
  }
  return dims;
}

const std::map<std::string, Builtin>& table() {
  using B = ir::GraphBuilder;
  static const std::map<std::string, Builtin> t = [] {
    std::map<std::string, Builtin> m;
    m["exp"] = unary(&B::exp, [](double x) { return std::exp(x); });
    m["log"] = unary(&B::log, [](double x) { return std::log(x); });
    m["sqrt"] = unary(&B::sqrt, [](double x) { return std::sqrt(x); });
    m["rsqrt"] = unary(&B::rsqrt, [](double x) { return 1.0 / std::sqrt(x); });
    m["abs"] = unary(&B::abs, [](double x) { return std::fabs(x); });
    m["tanh"] = unary(&B::tanh, [](double x) { return std::tanh(x); });
    m["sigmoid"] = unary(&B::sigmoid, [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
    m["relu"] = unary(&B::relu, [](double x) { return x > 0 ? x : 0.0; });
    m["gelu"] = unary(&B::gelu, nullptr);
    m["softplus"] = unary(&B::softplus, [](double x) { return std::log1p(std::exp(x)); });
    m["identity"] = {parseSpec({"x"}), [](Elaborator&, const Args& a, SourceRange) { return a.value(0); }};
    m["leaky_relu"] = {parseSpec({"x", "alpha="}), [](Elaborator& e, const Args& a, SourceRange r) {
                         return tensorOf(e, e.builder().leakyRelu(a.tensor(0), a.number(1, 0.01)), r, {a.operand(0)}, a.names());
                       }};
    m["elu"] = {parseSpec({"x", "alpha="}), [](Elaborator& e, const Args& a, SourceRange r) {
                  return tensorOf(e, e.builder().elu(a.tensor(0), a.number(1, 1.0)), r, {a.operand(0)}, a.names());
                }};
    m["pow"] = binaryOp(&B::pow);
    m["maximum"] = binaryOp(&B::maximum);
    m["minimum"] = binaryOp(&B::minimum);
    m["where"] = {parseSpec({"cond", "a", "b"}), [](Elaborator& e, const Args& a, SourceRange r) {
                    std::optional<DType> like;
                    for (size_t k : {1, 2})
                      if (a.value(k).kind == Value::Kind::Tensor) like = e.typeOf(a.value(k).tensor).dtype;
                    return tensorOf(e, e.builder().where(a.tensor(0), a.tensor(1, like), a.tensor(2, like)), r,
                                    {a.operand(0), a.operand(1), a.operand(2)}, a.names());
                  }};
    m["cast"] = {parseSpec({"x", "dtype"}), [](Elaborator& e, const Args& a, SourceRange r) {
                   if (a.value(1).kind != Value::Kind::DType) e.fail(a.range(1), "cast() takes an element type such as f32");
                   return tensorOf(e, e.builder().cast(a.tensor(0), a.value(1).dtype), r, {a.operand(0)}, a.names());
                 }};
    m["transpose"] = {parseSpec({"x", "perm="}), [](Elaborator& e, const Args& a, SourceRange r) {
                        return tensorOf(e, e.builder().transpose(a.tensor(0), a.ints(1)), r, {a.operand(0)}, a.names());
                      }};
    m["reshape"] = {parseSpec({"x", "shape"}), [](Elaborator& e, const Args& a, SourceRange r) {
                      return tensorOf(e, e.builder().reshape(a.tensor(0), shapeList(e, a.value(1), a.range(1))), r,
                                      {a.operand(0)});
                    }};
    m["flatten"] = {parseSpec({"x", "start=", "end="}), [](Elaborator& e, const Args& a, SourceRange r) {
                      return tensorOf(e, e.builder().flatten(a.tensor(0), a.integer(1, 1), a.integer(2, -1)), r,
                                      {a.operand(0)});
                    }};
    m["concat"] = {parseSpec({"xs", "axis="}), [](Elaborator& e, const Args& a, SourceRange r) {
                     const Value& list = a.value(0);
                     if (list.kind != Value::Kind::List && list.kind != Value::Kind::Tuple)
                       e.fail(a.range(0), "concat() takes a list of tensors: concat([a, b], axis)");
                     std::vector<ir::ValueId> xs;
                     for (const Value& v : list.items) xs.push_back(e.asTensor(v, a.range(0)));
                     std::vector<std::string> names;
                     for (size_t k = 0; k < xs.size(); ++k) names.push_back(fmt::format("item {} of the list", k));
                     return tensorOf(e, e.builder().concat(xs, a.integer(1, 0)), r, list.items, names);
                   }};
    m["slice"] = {parseSpec({"x", "axis", "start", "end"}), [](Elaborator& e, const Args& a, SourceRange r) {
                    return tensorOf(e, e.builder().slice(a.tensor(0), a.integer(1, 0), a.integer(2, 0), a.integer(3, 0)), r,
                                    {a.operand(0)});
                  }};
    m["one_hot"] = {parseSpec({"labels", "classes"}), [](Elaborator& e, const Args& a, SourceRange r) {
                      return tensorOf(e, e.builder().oneHot(a.tensor(0), a.integer(1, 0)), r, {a.operand(0)}, a.names());
                    }};
    m["sum"] = reduction(&B::sum);
    m["mean"] = reduction(&B::mean);
    m["max"] = reduction(&B::max);
    m["min"] = reduction(&B::min);
    m["softmax"] = {parseSpec({"x", "axis="}), [](Elaborator& e, const Args& a, SourceRange r) {
                      return tensorOf(e, e.builder().softmax(a.tensor(0), a.integer(1, -1)), r, {a.operand(0)}, a.names());
                    }};
    m["log_softmax"] = {parseSpec({"x", "axis="}), [](Elaborator& e, const Args& a, SourceRange r) {
                          return tensorOf(e, e.builder().logSoftmax(a.tensor(0), a.integer(1, -1)), r, {a.operand(0)}, a.names());
                        }};
    m["argmax"] = {parseSpec({"x", "axis=", "keepdims="}), [](Elaborator& e, const Args& a, SourceRange r) {
                     return tensorOf(e, e.builder().argmax(a.tensor(0), a.integer(1, -1), a.flag(2, false)), r,
                                     {a.operand(0)});
                   }};
    m["conv2d"] = {parseSpec({"x", "w", "stride=", "padding=", "dilation=", "groups="}),
                   [](Elaborator& e, const Args& a, SourceRange r) {
                     ir::Conv2dOptions o;
                     o.stride = a.pair(2, 1);
                     o.padding = a.pair(3, 0);
                     o.dilation = a.pair(4, 1);
                     o.groups = a.integer(5, 1);
                     // Bounds that keep the shape arithmetic far from overflow.
                     constexpr int64_t kLimit = 1 << 20;
                     auto within = [&](size_t k, const std::array<int64_t, 2>& v, int64_t lo) {
                       for (int64_t x : v)
                         if (x < lo || x > kLimit)
                           e.fail(a.range(k), fmt::format("{} must be between {} and {}, got {}", a.what(k), lo, kLimit, x));
                     };
                     within(2, o.stride, 1);
                     within(3, o.padding, 0);
                     within(4, o.dilation, 1);
                     within(5, {o.groups, o.groups}, 1);
                     return tensorOf(e, e.builder().conv2d(a.tensor(0), a.tensor(1), o), r, {a.operand(0), a.operand(1)}, a.names());
                   }};
    auto pool = [](bool isMax) {
      return Builtin{parseSpec({"x", "size", "stride=", "padding="}), [isMax](Elaborator& e, const Args& a, SourceRange r) {
                       ir::Pool2dOptions o;
                       o.size = a.pair(1, 2);
                       o.stride = a.has(2) ? a.pair(2, 0) : o.size;
                       o.padding = a.pair(3, 0);
                       for (size_t k : {1, 2})
                         for (int64_t v : k == 1 ? o.size : o.stride)
                           if (v <= 0) e.fail(a.range(k), fmt::format("{} must be positive, got {}", a.what(k), v));
                       for (int64_t v : o.padding)
                         if (v < 0) e.fail(a.range(3), fmt::format("{} must not be negative, got {}", a.what(3), v));
                       ir::ValueId x = a.tensor(0);
                       return tensorOf(e, isMax ? e.builder().maxPool2d(x, o) : e.builder().avgPool2d(x, o), r, {a.operand(0)}, a.names());
                     }};
    };
    m["max_pool2d"] = pool(true);
    m["avg_pool2d"] = pool(false);
    m["global_avg_pool"] = {parseSpec({"x"}), [](Elaborator& e, const Args& a, SourceRange r) {
                              return tensorOf(e, e.builder().globalAvgPool(a.tensor(0)), r, {a.operand(0)}, a.names());
                            }};
    m["dropout"] = {parseSpec({"x", "p="}), [](Elaborator& e, const Args& a, SourceRange r) {
                      double p = a.number(1, 0.5);
                      if (p < 0 || p >= 1) e.fail(a.range(1), fmt::format("dropout probability must be in [0, 1), got {}", p));
                      if (!e.options().training) return a.value(0); // evaluation: the identity
                      return tensorOf(e, e.builder().dropout(a.tensor(0), p, e.nextDropoutSeed()), r, {a.operand(0)}, a.names());
                    }};
    m["embedding"] = loss(&B::embedding, "ids", "table");
    m["cross_entropy"] = loss(&B::crossEntropy, "logits", "labels");
    m["nll"] = loss(&B::nll, "log_probs", "labels");
    m["mse"] = loss(&B::mse, "pred", "target");
    m["bce_with_logits"] = loss(&B::bceWithLogits, "logits", "target");
    m["accuracy"] = loss(&B::accuracy, "logits", "labels");
    m["top_k"] = {parseSpec({"logits", "labels", "k="}), [](Elaborator& e, const Args& a, SourceRange r) {
                    return tensorOf(e, e.builder().topK(a.tensor(0), a.tensor(1), a.integer(2, 5)), r,
                                    {a.operand(0), a.operand(1)});
                  }};
    return m;
  }();
  return t;
}

const std::vector<std::string> kInitializers = {"zeros",         "ones",          "constant",   "uniform",  "normal",
                                                "glorot_uniform", "glorot_normal", "he_uniform", "he_normal"};

} // namespace

bool isBuiltinFunction(const std::string& name) {
  return table().count(name) || std::find(kInitializers.begin(), kInitializers.end(), name) != kInitializers.end();
}

std::vector<std::string> builtinNames() {
  std::vector<std::string> out = kInitializers;
  for (const auto& [name, _] : table()) out.push_back(name);
  for (const char* n : {"training", "f32", "f64", "i32", "i64", "bool"}) out.push_back(n);
  return out;
}

Value Elaborator::callBuiltin(const std::string& name, std::vector<CallArg> args, SourceRange range) {
  auto it = table().find(name);
  if (it == table().end())
    fail(range, fmt::format("{}() is an initializer; it gives a param or state its first value", name),
         "write: param W: f32[4, 4] = " + name + "()");
  Args bound(*this, name, it->second.params, std::move(args), range);
  at(range);
  return it->second.lower(*this, bound, range);
}

} // namespace bdl::sema
