// Definitions, calls and statements of the elaborator (see Elaborate.h).
#include "compiler/sema/Elaborator.h"

#include "compiler/ir/Verifier.h"

#include <algorithm>
#include <fmt/format.h>

namespace bdl::sema {

using namespace ast;

namespace {

constexpr int kMaxCallDepth = 64;
constexpr int64_t kMaxUnrolled = 100000;

bool isDTypeName(const std::string& s) { return dtypeFromName(s).has_value(); }

std::string loopSuffix(const std::vector<int64_t>& indices) {
  std::string out;
  for (int64_t i : indices) out += fmt::format("[{}]", i);
  return out;
}

} // namespace

std::string describeKind(const Value& v) {
  switch (v.kind) {
  case Value::Kind::None: return "nothing";
  case Value::Kind::Tensor: return "a tensor";
  case Value::Kind::Int: return "an int";
  case Value::Kind::Float: return "a float";
  case Value::Kind::Bool: return "a bool";
  case Value::Kind::Str: return "a string";
  case Value::Kind::Fn: return "a function";
  case Value::Kind::Module: return "a module";
  case Value::Kind::DType: return "an element type";
  case Value::Kind::Dim: return "a dimension";
  case Value::Kind::List: return "a list";
  case Value::Kind::Tuple: return "a tuple";
  case Value::Kind::Duration: return "a duration";
  }
  return "a value";
}

Elaborator::Elaborator(const LoadedProgram& program, const SourceManager& sources, DiagnosticEngine& diags,
                       ElaborateOptions options)
    : program_(program), sources_(sources), diags_(diags), options_(options) {}

Elaborator::~Elaborator() {
  for (const std::shared_ptr<Scope>& scope : scopes_) {
    scope->names.clear();
    scope->parent.reset();
  }
}

std::shared_ptr<Scope> Elaborator::newScope() {
  scopes_.push_back(std::make_shared<Scope>());
  return scopes_.back();
}

void Elaborator::at(SourceRange range) {
  if (!range.valid()) return;
  auto it = fileIds_.find(range.file);
  if (it == fileIds_.end()) it = fileIds_.emplace(range.file, builder_.addFile(sources_.file(range.file).path)).first;
  builder_.setLocation({it->second, range.begin.line, range.begin.col});
}

uint64_t Elaborator::nextDropoutSeed() { return options_.seed * 1000003u + (++dropoutCount_); }

void Elaborator::fail(SourceRange range, std::string message, std::string hint, std::vector<DiagnosticNote> notes) {
  // The IR words some hints into its messages: show them as hints.
  if (size_t at = message.find("; hint: "); at != std::string::npos) {
    if (hint.empty()) hint = message.substr(at + 8);
    message.resize(at);
  }
  Diagnostic& d = diags_.error(range, std::move(message));
  for (DiagnosticNote& n : notes) d.notes.push_back(std::move(n));
  // The call stack, innermost first; a deep one shows its two ends, and a
  // recursion only its first call.
  constexpr size_t kShown = 4;
  size_t calls = frames_.size() - 1;
  bool recursion = calls > 1 && frames_[1].def;
  for (size_t i = 2; i < frames_.size(); ++i) recursion &= frames_[i].def == frames_[1].def;
  if (recursion) {
    d.notes.push_back({frames_[1].callSite, fmt::format("in '{}', called here as '{}'", frames_[1].def->name.name,
                                                        frames_[1].prefix)});
    calls = 0;
  }
  for (size_t k = 0; k < calls; ++k) {
    size_t i = frames_.size() - 1 - k;
    if (calls > 2 * kShown && k == kShown)
      d.notes.push_back({{}, fmt::format("... {} more calls ...", calls - 2 * kShown)});
    if (calls > 2 * kShown && k >= kShown && k < calls - kShown) continue;
    const Frame& f = frames_[i];
    if (!f.def) continue; // a pipeline's scope, not a call
    // A model called from a job has no instance name of its own.
    d.notes.push_back({f.callSite, f.prefix.empty() ? fmt::format("in '{}', called here", f.def->name.name)
                                                    : fmt::format("in '{}', called here as '{}'", f.def->name.name, f.prefix)});
  }
  d.hint = std::move(hint);
  throw ElaborationStopped{};
}

void Elaborator::failShape(const ir::Error& error, SourceRange range, const std::vector<Value>& operands,
                           const std::vector<std::string>& names, bool matmul) {
  std::string message = error.message;
  for (size_t k = names.size(); k-- > 0;) {
    std::string ir = fmt::format("operand {}", k);
    for (size_t at = message.find(ir); at != std::string::npos; at = message.find(ir, at + names[k].size()))
      message.replace(at, ir.size(), names[k]);
  }
  // Where the sizes involved came from: the dimension the IR blames, the
  // matching dimension of the other operands, and the declarations of
  // parameters.
  std::vector<DiagnosticNote> notes;
  auto originNote = [&](size_t k, int64_t dim) {
    if (k >= operands.size() || operands[k].kind != Value::Kind::Tensor || dim < 0) return;
    const Value& v = operands[k];
    if (static_cast<size_t>(dim) >= v.origins.size() || !v.origins[dim]) return;
    const DimOrigin& o = *v.origins[dim];
    const ir::TensorType& t = typeOf(v.tensor);
    std::string size = static_cast<size_t>(dim) < t.dims.size() ? t.dims[dim].toString() : "?";
    if (size == o.name) return; // "N bound to N" says nothing
    for (const DiagnosticNote& n : notes)
      if (n.range.begin == o.where.begin && n.range.file == o.where.file) return;
    notes.push_back({o.where, fmt::format("{} bound to {} here", o.name, size)});
  };
  if (matmul && operands.size() == 2) {
    for (size_t k = 0; k < 2; ++k)
      if (operands[k].kind == Value::Kind::Tensor) originNote(k, typeOf(operands[k].tensor).rank() - 1 - k);
  } else if (error.operand >= 0) {
    originNote(static_cast<size_t>(error.operand), error.dim);
    // The same dimension counted from the right in the other operands
    // (broadcasting), or the inner dimensions of a matrix product.
    int64_t fromRight = error.dim >= 0 && static_cast<size_t>(error.operand) < operands.size() &&
                                operands[error.operand].kind == Value::Kind::Tensor
                            ? typeOf(operands[error.operand].tensor).rank() - error.dim
                            : -1;
    for (size_t k = 0; k < operands.size(); ++k) {
      if (static_cast<int>(k) == error.operand || operands[k].kind != Value::Kind::Tensor) continue;
      int64_t rank = typeOf(operands[k].tensor).rank();
      if (fromRight > 0) originNote(k, rank - fromRight);
      originNote(k, rank - 1);
    }
  }
  for (const Value& v : operands) {
    if (v.kind != Value::Kind::Tensor) continue;
    auto it = leafDecls_.find(v.tensor);
    if (it == leafDecls_.end()) continue;
    const ir::Node& n = builder_.graph().node(v.tensor);
    notes.push_back({it->second, fmt::format("{} is declared here as {}", n.name, n.type.toString())});
  }
  fail(range, message, {}, std::move(notes));
}

ir::ValueId Elaborator::check(ir::Expected<ir::ValueId> result, SourceRange range, const std::vector<Value>& operands,
                              const std::vector<std::string>& names, bool matmul) {
  if (!result) failShape(result.error(), range, operands, names, matmul);
  return *result;
}

// ---- lookups -----------------------------------------------------------

Value lookupGlobal(Elaborator& e, size_t module, const std::string& name) {
  auto [it, fresh] = e.globals_.try_emplace(module);
  std::map<std::string, Value>& names = it->second;
  if (fresh) {
    // The first declaration of a name wins, as a lookup in source order would.
    const LoadedModule& m = e.program_.modules.at(module);
    for (const DeclPtr& d : m.ast->decls) {
      if (auto* def = d->as<DefDecl>()) {
        Value v;
        v.kind = Value::Kind::Fn;
        v.def = def;
        v.module = module;
        names.try_emplace(def->name.name, v);
      } else if (auto* imp = d->as<ImportDecl>()) {
        auto target = m.imports.find(imp);
        if (target == m.imports.end()) continue;
        Value v;
        v.kind = Value::Kind::Module;
        v.module = target->second;
        names.try_emplace(imp->boundName(), v);
      }
    }
  }
  auto found = names.find(name);
  return found == names.end() ? Value{} : found->second;
}

Value Elaborator::lookup(const std::string& name, SourceRange range) {
  if (const Value* v = frame().scope->find(name)) return *v;
  Value global = lookupGlobal(*this, frame().module, name);
  if (global.kind != Value::Kind::None) return global;
  if (name == "training") return Value::ofBool(options_.training);
  if (auto t = dtypeFromName(name)) return Value::ofDType(*t);
  if (isBuiltinFunction(name)) return Value::ofBuiltin(name);
  for (const DeclPtr& d : program_.modules.at(frame().module).ast->decls) {
    if (auto* p = d->as<PipelineDecl>(); p && p->name.name == name)
      fail(range, fmt::format("'{}' is a pipeline; models cannot use it", name), "pipelines feed train jobs: data = " + name + "()");
  }
  std::vector<std::string> candidates = builtinNames();
  for (const Scope* s = frame().scope.get(); s; s = s->parent.get())
    for (const auto& [n, _] : s->names) candidates.push_back(n);
  for (const DeclPtr& d : program_.modules.at(frame().module).ast->decls)
    if (auto* def = d->as<DefDecl>()) candidates.push_back(def->name.name);
  std::string near = closestName(name, candidates);
  fail(range, fmt::format("unknown name '{}'", name), near.empty() ? "" : fmt::format("did you mean '{}'?", near));
}

// ---- models and calls ------------------------------------------------------

std::optional<ir::Graph> Elaborator::model(ModelRef ref) {
  try {
    Frame top;
    top.module = ref.module;
    top.scope = newScope();
    top.def = ref.decl;
    frames_.push_back(std::move(top));
    for (const ParamDecl& p : ref.decl->params) {
      const std::string& typeName = p.type.name.name;
      if (isDTypeName(typeName)) {
        // A tensor argument is an input; its named dimensions are symbols.
        at(p.range);
        ir::TensorType type{*dtypeFromName(typeName), {}};
        std::vector<std::optional<DimOrigin>> origins;
        for (const ExprPtr& d : p.type.dims) {
          if (auto* n = d->as<NameRef>(); n && !frame().scope->find(n->name)) {
            type.dims.push_back(ir::Dim::sym(n->name));
            frame().scope->names[n->name] = Value::ofDim(ir::Dim::sym(n->name), DimOrigin{n->name, d->range});
            origins.push_back(DimOrigin{n->name, d->range});
            continue;
          }
          Value v = eval(*d);
          if (v.kind == Value::Kind::Dim) type.dims.push_back(v.dim);
          else type.dims.push_back(ir::Dim::of(asInt(v, d->range, "a dimension")));
          origins.push_back(std::nullopt);
        }
        if (!p.type.hasDims)
          fail(p.type.range, fmt::format("model input '{}' needs a shape, like {}[N, 784]", p.name.name, typeName));
        if (const Value* earlier = frame().scope->find(p.name.name); earlier && earlier->kind == Value::Kind::Tensor) {
          for (const ParamDecl& q : ref.decl->params)
            if (q.name.name == p.name.name && &q != &p)
              fail(p.name.range, fmt::format("the name '{}' is already used by an input of type {}", p.name.name,
                                             typeOf(earlier->tensor).toString()),
                   {}, {{q.name.range, "first declared here"}});
        }
        ir::ValueId id = check(builder_.input(p.name.name, type), p.range, {});
        frame().scope->names[p.name.name] = Value::ofTensor(id, origins);
        continue;
      }
      if (p.type.hasDims) {
        std::string near = closestName(typeName, {"f32", "f64", "i32", "i64", "bool"});
        fail(p.type.name.range, fmt::format("unknown element type '{}'", typeName),
             near.empty() ? "the element types are f32, f64, i32, i64 and bool" : fmt::format("did you mean '{}'?", near));
      }
      if (!p.defaultValue)
        fail(p.range, fmt::format("model argument '{}' needs a default value", p.name.name),
             "a model's compile-time arguments are fixed when it is compiled");
      frame().scope->names[p.name.name] = bindTyped(p.type, eval(*p.defaultValue), p.defaultValue->range,
                                                     fmt::format("argument '{}'", p.name.name));
    }
    std::vector<Value> results = checkResults(*ref.decl, runBody(ref.decl->body), "the result");
    if (results.empty()) fail(ref.decl->name.range, fmt::format("model '{}' returns nothing", ref.decl->name.name));
    for (size_t i = 0; i < results.size(); ++i) {
      std::string name = results.size() == 1 ? "out" : fmt::format("out{}", i);
      SourceRange where = i < frame().returnRanges.size() ? frame().returnRanges[i] : ref.decl->name.range;
      if (results[i].kind != Value::Kind::Tensor)
        fail(where, fmt::format("a model returns tensors, not {}", describeKind(results[i])));
      check(builder_.output(name, results[i].tensor), where, {});
    }
    frames_.clear();
    return finishGraph();
  } catch (const ElaborationStopped&) {
    frames_.clear();
    return std::nullopt;
  }
}

ir::Graph Elaborator::finishGraph() {
  ir::Graph graph = builder_.finish();
  std::vector<std::string> problems = ir::verifyGraph(graph);
  if (!problems.empty())
    throw ir::InternalError(fmt::format("{}:{}: elaborated graph fails verification: {}", __FILE__, __LINE__,
                                        problems.front()));
  return graph;
}

std::string Elaborator::instanceName(SourceRange range) {
  Frame& f = frame();
  std::string base = f.target.empty() ? "out" : f.target;
  std::string name = base + loopSuffix(f.loopIndices);
  if (auto it = f.instances.find(name); it != f.instances.end())
    fail(range, fmt::format("'{}' already names an instance with its own parameters", name),
         "bind this call to a new name, or rebind the name inside a 'for' loop, where instances are indexed",
         {{it->second, "the first instance is bound here"}});
  f.instances[name] = range;
  return f.prefix.empty() ? name : f.prefix + "." + name;
}

Value Elaborator::callValue(const Value& callee, std::vector<CallArg> args, SourceRange range, bool wholeValueOfBinding) {
  if (callee.kind != Value::Kind::Fn) fail(range, fmt::format("cannot call {}", describeKind(callee)));
  if (callee.lambda) return callLambda(callee, std::move(args), range);
  if (!callee.def) return callBuiltin(callee.s, std::move(args), range);
  std::vector<Value> results = callDef(callee, std::move(args), range, wholeValueOfBinding);
  if (results.size() == 1) return results[0];
  Value tuple;
  tuple.kind = results.empty() ? Value::Kind::None : Value::Kind::Tuple;
  tuple.items = std::move(results);
  return tuple;
}

Value Elaborator::callLambda(const Value& fn, std::vector<CallArg> args, SourceRange range) {
  const Lambda& l = *fn.lambda;
  if (depth_ >= kMaxCallDepth)
    fail(range, fmt::format("calls nested more than {} deep", kMaxCallDepth), "does this function call itself? BDL has no recursion");
  if (args.size() != l.params.size())
    fail(range, fmt::format("this function takes {} argument{}, not {}", l.params.size(), l.params.size() == 1 ? "" : "s",
                            args.size()));
  auto scope = newScope();
  scope->parent = fn.closure;
  for (size_t i = 0; i < args.size(); ++i) scope->names[l.params[i].name] = args[i].value;
  std::shared_ptr<Scope> saved = frame().scope;
  frame().scope = scope;
  ++depth_;
  Value result = eval(*l.body);
  --depth_;
  frame().scope = saved;
  return result;
}

std::vector<Value> Elaborator::callDef(const Value& fn, std::vector<CallArg> args, SourceRange range,
                                       bool wholeValueOfBinding) {
  const DefDecl& def = *fn.def;
  if (depth_ >= kMaxCallDepth)
    fail(range, fmt::format("calls nested more than {} deep", kMaxCallDepth),
         fmt::format("does '{}' call itself? BDL has no recursion", def.name.name));
  // The instance path: the binding's name when the call is its whole value,
  // else the binding's name and the def's.
  Frame& caller = frame();
  std::string savedTarget = caller.target;
  if (!wholeValueOfBinding) caller.target = (caller.target.empty() ? "" : caller.target + ".") + def.name.name;
  // A model called from a job is the job's root: its parameters keep the
  // model's own names, so the job's checkpoint serves the model alone.
  std::string path;
  if (caller.jobTop && def.isModel) {
    std::string key = "model " + def.name.name;
    if (auto it = caller.instances.find(key); it != caller.instances.end())
      fail(range, fmt::format("model '{}' is called twice in this job", def.name.name),
           "a job trains one instance of each model; bind its result once and reuse the name",
           {{it->second, "first called here"}});
    caller.instances[key] = range;
  } else {
    path = instanceName(range);
  }
  caller.target = savedTarget;

  // Match arguments to parameters: positional first, then by name.
  std::vector<const CallArg*> bound(def.params.size(), nullptr);
  size_t positional = 0;
  for (const CallArg& a : args) {
    if (!a.name) {
      if (positional >= def.params.size())
        fail(a.range, fmt::format("'{}' takes {} argument{}; this is argument {}", def.name.name, def.params.size(),
                                  def.params.size() == 1 ? "" : "s", positional + 1),
             {}, {{def.name.range, fmt::format("'{}' is defined here", def.name.name)}});
      bound[positional++] = &a;
      continue;
    }
    size_t k = 0;
    while (k < def.params.size() && def.params[k].name.name != *a.name) ++k;
    if (k == def.params.size()) {
      std::vector<std::string> names;
      for (const ParamDecl& p : def.params) names.push_back(p.name.name);
      std::string near = closestName(*a.name, names);
      fail(a.nameRange, fmt::format("'{}' has no parameter '{}'", def.name.name, *a.name),
           near.empty() ? "" : fmt::format("did you mean '{}'?", near),
           {{def.name.range, fmt::format("'{}' is defined here", def.name.name)}});
    }
    if (bound[k])
      fail(a.nameRange, fmt::format("argument '{}' is given twice", *a.name), {},
           {{bound[k]->nameRange, "first given here"}});
    bound[k] = &a;
  }

  Frame callee;
  callee.module = fn.module;
  callee.prefix = path;
  callee.scope = newScope();
  callee.def = &def;
  callee.callSite = range;
  frames_.push_back(std::move(callee));
  ++depth_;
  for (size_t k = 0; k < def.params.size(); ++k) {
    const ParamDecl& p = def.params[k];
    Value v;
    SourceRange where;
    if (bound[k]) {
      v = bound[k]->value;
      where = bound[k]->range;
    } else if (p.defaultValue) {
      v = eval(*p.defaultValue);
      where = p.defaultValue->range;
    } else {
      SourceRange callRange = frames_[frames_.size() - 2].callSite;
      (void)callRange;
      frames_.pop_back();
      --depth_;
      fail(range, fmt::format("missing argument '{}' in the call of '{}'", p.name.name, def.name.name), {},
           {{p.range, fmt::format("'{}' is declared here", p.name.name)}});
    }
    Value typed = bindTyped(p.type, v, where, fmt::format("argument '{}' of '{}'", p.name.name, def.name.name));
    if (typed.kind == Value::Kind::Int) typed.dimOrigin = DimOrigin{p.name.name, where};
    frame().scope->names[p.name.name] = typed;
  }
  std::vector<Value> results = checkResults(def, runBody(def.body), fmt::format("the result of '{}'", def.name.name));
  frames_.pop_back();
  --depth_;
  return results;
}

// ---- types -------------------------------------------------------------

std::vector<Value> Elaborator::checkResults(const DefDecl& def, std::vector<Value> results, const std::string& what) {
  if (def.results.empty()) return results;
  SourceRange at = frame().returnAt.valid() ? frame().returnAt : def.name.range;
  SourceRange declared = {def.results.front().range.file, def.results.front().range.begin, def.results.back().range.end};
  if (results.size() != def.results.size())
    fail(at,
         results.empty() ? fmt::format("'{}' ends without returning its result", def.name.name)
                         : fmt::format("'{}' returns {} value{} but declares {}", def.name.name, results.size(),
                                       results.size() == 1 ? "" : "s", def.results.size()),
         {}, {{declared, "the results are declared here"}});
  for (size_t i = 0; i < results.size(); ++i) {
    SourceRange where = i < frame().returnRanges.size() ? frame().returnRanges[i] : at;
    results[i] = bindTyped(def.results[i], results[i], where, what);
  }
  return results;
}

Value Elaborator::bindTyped(const TypeExpr& type, const Value& value, SourceRange valueRange, const std::string& what) {
  const std::string& t = type.name.name;
  auto article = [](std::string_view t) { return t[0] == 'f' || t[0] == 'i' ? "an" : "a"; };
  auto mismatch = [&](const std::string& expected) {
    fail(valueRange, fmt::format("{} must be {}, not {}", what, expected, describeKind(value)), {},
         {{type.range, "declared here"}});
  };
  if (t == "int") {
    if (value.kind == Value::Kind::Dim && value.dim.isConcrete()) return Value::ofInt(value.dim.value);
    if (value.kind != Value::Kind::Int) mismatch("an int");
    Value v = value;
    v.dimOrigin = DimOrigin{type.name.name, valueRange};
    return v;
  }
  if (t == "float") {
    if (!value.isNumber()) mismatch("a float");
    return Value::ofFloat(value.number());
  }
  if (t == "bool") {
    if (value.kind != Value::Kind::Bool) mismatch("a bool");
    return value;
  }
  if (t == "str") {
    if (value.kind != Value::Kind::Str) mismatch("a string");
    return value;
  }
  if (t == "fn") {
    if (value.kind != Value::Kind::Fn) mismatch("a function");
    return value;
  }
  std::optional<DType> dtype = dtypeFromName(t);
  if (!dtype) {
    std::string near = closestName(t, {"f32", "f64", "i32", "i64", "bool", "int", "float", "str", "fn"});
    fail(type.name.range, fmt::format("unknown type '{}'", t), near.empty() ? "" : fmt::format("did you mean '{}'?", near));
  }
  if (value.kind != Value::Kind::Tensor) mismatch(fmt::format("{} {} tensor", article(t), t));
  const ir::TensorType& actual = typeOf(value.tensor);
  if (actual.dtype != *dtype)
    fail(valueRange, fmt::format("{} must be {} {} tensor, but this is {}", what, article(t), t, actual.toString()), {},
         {{type.range, "declared here"}});
  if (!type.hasDims) return value; // `f32` alone: any shape
  if (actual.rank() != static_cast<int64_t>(type.dims.size()))
    fail(valueRange,
         fmt::format("{} must have {} dimension{}, but this is {}", what, type.dims.size(),
                     type.dims.size() == 1 ? "" : "s", actual.toString()),
         actual.rank() > static_cast<int64_t>(type.dims.size()) ? "flatten(x) merges all but the first dimension" : "",
         {{type.range, "declared here"}});
  Value out = value;
  out.origins.resize(type.dims.size());
  for (size_t j = 0; j < type.dims.size(); ++j) {
    const Expr& d = *type.dims[j];
    const ir::Dim& got = actual.dims[j];
    if (auto* n = d.as<NameRef>(); n && !frame().scope->find(n->name) &&
                                      lookupGlobal(*this, frame().module, n->name).kind == Value::Kind::None) {
      // First occurrence: the name binds to this dimension.
      DimOrigin origin{n->name, valueRange};
      frame().scope->names[n->name] = got.isConcrete() ? [&] {
        Value v = Value::ofInt(got.value);
        v.dimOrigin = origin;
        return v;
      }()
                                                       : Value::ofDim(got, origin);
      out.origins[j] = origin;
      continue;
    }
    Value want = eval(d);
    ir::Dim expected = want.kind == Value::Kind::Dim ? want.dim : ir::Dim::of(asInt(want, d.range, "a dimension"));
    if (expected != got) {
      std::vector<DiagnosticNote> notes;
      if (want.dimOrigin && want.dimOrigin->where.valid())
        notes.push_back({want.dimOrigin->where, fmt::format("{} bound to {} here", want.dimOrigin->name, expected.toString())});
      notes.push_back({type.range, "declared here"});
      fail(valueRange,
           fmt::format("{} has type {}, but dimension {} must be {}{}", what, actual.toString(), j,
                       expected.toString(), d.as<NameRef>() ? fmt::format(" ({})", d.as<NameRef>()->name) : ""),
           {}, std::move(notes));
    }
    if (want.dimOrigin) out.origins[j] = want.dimOrigin;
  }
  return out;
}

ir::Dims Elaborator::concreteDims(const TypeExpr& type, std::vector<std::optional<DimOrigin>>& origins) {
  constexpr int64_t kMaxElements = int64_t(1) << 36; // 256 GiB of f32
  int64_t elements = 1;
  ir::Dims dims;
  for (const ExprPtr& d : type.dims) {
    Value v = eval(*d);
    if (v.kind == Value::Kind::Dim && v.dim.isSymbolic())
      fail(d->range, fmt::format("a parameter's shape must be known when compiling, but {} is a batch dimension", v.dim.toString()),
           "parameters cannot depend on the batch size");
    int64_t n = v.kind == Value::Kind::Dim ? v.dim.value : asInt(v, d->range, "a dimension");
    if (n <= 0) fail(d->range, fmt::format("dimension must be positive, got {}", n));
    if (__builtin_mul_overflow(elements, n, &elements) || elements > kMaxElements)
      fail(type.range, fmt::format("a parameter or state of type {}[...] with more than {} elements is too large",
                                   type.name.name, kMaxElements),
           "a parameter or state must fit in memory");
    dims.push_back(ir::Dim::of(n));
    origins.push_back(v.dimOrigin);
  }
  return dims;
}

// ---- statements ------------------------------------------------------------

std::vector<Value> Elaborator::runBody(const Block& body) {
  std::vector<Value> returned;
  runStatements(body, returned);
  return returned;
}

bool Elaborator::runStatements(const Block& body, std::vector<Value>& returned) {
  for (const StmtPtr& s : body) {
    bool done = false;
    statement(*s, returned, done);
    if (done) return true;
  }
  return false;
}

ir::Initializer Elaborator::initializer(const Expr& e) {
  auto* call = e.as<Call>();
  auto* name = call ? call->callee->as<NameRef>() : nullptr;
  static const std::vector<std::string> kInits = {"zeros",         "ones",          "constant",   "uniform",  "normal",
                                                  "glorot_uniform", "glorot_normal", "he_uniform", "he_normal"};
  if (!name || std::find(kInits.begin(), kInits.end(), name->name) == kInits.end()) {
    std::string near = name ? closestName(name->name, kInits) : "";
    fail(e.range,
         name && !isBuiltinFunction(name->name) && lookupGlobal(*this, frame().module, name->name).kind == Value::Kind::None
             ? fmt::format("unknown initializer '{}'", name->name)
             : std::string("an initial value must be an initializer call such as glorot_uniform() or zeros()"),
         near.empty() ? "the initializers are zeros() ones() constant(v) uniform(lo, hi) normal(mean, std) "
                        "glorot_uniform() glorot_normal() he_uniform() he_normal()"
                      : fmt::format("did you mean '{}'?", near));
  }
  std::vector<double> args;
  for (const Arg& a : call->args) args.push_back(asNumber(eval(*a.value), a.value->range, "an initializer argument"));
  auto need = [&](size_t n) {
    if (args.size() != n)
      fail(e.range, fmt::format("{}() takes {} argument{}", name->name, n, n == 1 ? "" : "s"));
  };
  const std::string& n = name->name;
  if (n == "zeros") { need(0); return ir::Initializer::zeros(); }
  if (n == "ones") { need(0); return ir::Initializer::ones(); }
  if (n == "constant") { need(1); return ir::Initializer::constant(args[0]); }
  if (n == "uniform") { need(2); return ir::Initializer::uniform(args[0], args[1]); }
  if (n == "normal") { need(2); return ir::Initializer::normal(args[0], args[1]); }
  need(0);
  if (n == "glorot_uniform") return ir::Initializer::glorotUniform();
  if (n == "glorot_normal") return ir::Initializer::glorotNormal();
  if (n == "he_uniform") return ir::Initializer::heUniform();
  return ir::Initializer::heNormal();
}

void Elaborator::declareVar(const VarDecl& v, bool isParam) {
  const std::string& typeName = v.type.name.name;
  std::optional<DType> dtype = dtypeFromName(typeName);
  if (!dtype || !v.type.hasDims)
    fail(v.type.range, fmt::format("a {} needs a tensor type such as f32[784, 256]", isParam ? "param" : "state"));
  std::vector<std::optional<DimOrigin>> origins;
  ir::TensorType type{*dtype, concreteDims(v.type, origins)};
  ir::Initializer init = initializer(*v.init);
  std::string full = frame().prefix.empty() ? v.name.name : frame().prefix + "." + v.name.name;
  if (auto it = fullNames_.find(full); it != fullNames_.end())
    fail(v.name.range, fmt::format("'{}' is declared twice", full), {}, {{it->second, "first declared here"}});
  fullNames_[full] = v.name.range;
  at(v.range);
  ir::Expected<ir::ValueId> leaf = isParam ? builder_.parameter(full, type, init) : builder_.state(full, type, init);
  ir::ValueId id = check(leaf, v.range, {});
  leafDecls_[id] = v.range;
  frame().scope->names[v.name.name] = Value::ofTensor(id, origins);
}

void Elaborator::statement(const Stmt& s, std::vector<Value>& returned, bool& done) {
  switch (s.kind) {
  case StmtKind::Param:
  case StmtKind::State:
    declareVar(static_cast<const VarDecl&>(s), s.kind == StmtKind::Param);
    return;
  case StmtKind::Update: {
    auto& u = static_cast<const UpdateStmt&>(s);
    const Value* target = frame().scope->find(u.target.name);
    bool isState = target && target->kind == Value::Kind::Tensor &&
                   builder_.graph().node(target->tensor).op == ir::OpKind::State;
    if (!isState)
      fail(u.target.range, fmt::format("'{}' is not a state of this definition", u.target.name),
           "'<-' updates a tensor declared with 'state NAME: TYPE = INITIALIZER'");
    // The value is checked in both modes; updates run in training only.
    Value v = eval(*u.value);
    if (auto it = updatedAt_.find(target->tensor); it != updatedAt_.end())
      fail(s.range, fmt::format("'{}' is updated twice", u.target.name), "compute the final value, then update once",
           {{it->second, "first updated here"}});
    updatedAt_[target->tensor] = s.range;
    ir::ValueId value = asTensor(v, u.value->range, typeOf(target->tensor).dtype);
    if (!options_.training) {
      // Not built, but checked as the training graph would check it.
      if (typeOf(value) != typeOf(target->tensor)) {
        const ir::Node& state = builder_.graph().node(target->tensor);
        fail(s.range,
             fmt::format("state update: the new value {} does not have the state's type {}", typeOf(value).toString(),
                         state.type.toString()),
             {}, {{leafDecls_[target->tensor], fmt::format("{} is declared here as {}", u.target.name, state.type.toString())}});
      }
      return;
    }
    at(s.range);
    check(builder_.stateUpdate(target->tensor, value), s.range, {*target, v}, {"the state", "the new value"});
    return;
  }
  case StmtKind::Assign: {
    auto& a = static_cast<const AssignStmt&>(s);
    frame().target = a.targets[0].name;
    Value v = eval(*a.value, /*wholeValueOfBinding=*/true);
    frame().target.clear();
    if (a.targets.size() == 1) {
      frame().scope->names[a.targets[0].name] = v;
      return;
    }
    if (v.kind != Value::Kind::Tuple || v.items.size() != a.targets.size())
      fail(a.value->range, fmt::format("{} names on the left, but the right is {}{}", a.targets.size(), describeKind(v),
                                       v.kind == Value::Kind::Tuple ? fmt::format(" of {}", v.items.size()) : ""));
    for (size_t i = 0; i < a.targets.size(); ++i) frame().scope->names[a.targets[i].name] = v.items[i];
    return;
  }
  case StmtKind::Return: {
    auto& r = static_cast<const ReturnStmt&>(s);
    frame().target = "out";
    std::vector<SourceRange> ranges;
    for (const ExprPtr& e : r.values) {
      Value v = eval(*e, r.values.size() == 1);
      if (v.kind == Value::Kind::Tuple && r.values.size() == 1) {
        returned = v.items;
        ranges.assign(v.items.size(), e->range);
      } else {
        returned.push_back(v);
        ranges.push_back(e->range);
      }
    }
    frame().target.clear();
    frame().returnAt = s.range;
    frame().returnRanges = std::move(ranges);
    done = true;
    return;
  }
  case StmtKind::For: {
    auto& f = static_cast<const ForStmt&>(s);
    int64_t from = asInt(eval(*f.from), f.from->range, "a loop bound");
    int64_t to = asInt(eval(*f.to), f.to->range, "a loop bound");
    // Loops are unrolled: bound the iterations of the whole model.
    int64_t count = 0;
    if (to > from && (__builtin_sub_overflow(to, from, &count) || count > kMaxUnrolled - unrolled_))
      fail(f.range, fmt::format("this loop would unroll {} iterations; a model unrolls at most {} in all",
                                to > from && count > 0 ? std::to_string(count) : "too many", kMaxUnrolled));
    unrolled_ += count;
    for (int64_t i = from; i < to && !done; ++i) {
      frame().scope->names[f.var.name] = Value::ofInt(i);
      frame().loopIndices.push_back(i);
      done = runStatements(f.body, returned);
      frame().loopIndices.pop_back();
    }
    return;
  }
  case StmtKind::If: {
    auto& i = static_cast<const IfStmt&>(s);
    bool cond = asBool(eval(*i.cond), i.cond->range, "an 'if' condition");
    done = runStatements(cond ? i.thenBody : i.elseBody, returned);
    return;
  }
  }
}

// ---- entry points --------------------------------------------------------------

std::vector<ModelRef> findModels(const LoadedProgram& program, size_t module) {
  std::vector<ModelRef> out;
  for (const DeclPtr& d : program.modules.at(module).ast->decls)
    if (auto* def = d->as<DefDecl>(); def && def->isModel) out.push_back({module, def});
  return out;
}

ModelRef findModel(const LoadedProgram& program, const std::string& name, DiagnosticEngine& diags) {
  std::vector<std::string> names;
  for (const ModelRef& m : findModels(program)) {
    if (m.decl->name.name == name) return m;
    names.push_back(m.decl->name.name);
  }
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  Diagnostic& d = diags.error({}, fmt::format("no model named '{}'", name));
  d.hint = names.empty() ? "this file defines no model" : "the models are: " + list;
  return {};
}

std::optional<ir::Graph> elaborateModel(const LoadedProgram& program, ModelRef model, const ElaborateOptions& options,
                                        const SourceManager& sources, DiagnosticEngine& diags) {
  return Elaborator(program, sources, diags, options).model(model);
}

bool checkProgram(const LoadedProgram& program, const SourceManager& sources, DiagnosticEngine& diags) {
  bool ok = true;
  for (const ModelRef& m : findModels(program)) {
    for (bool training : {true, false}) {
      if (!elaborateModel(program, m, {training, 0}, sources, diags)) {
        ok = false;
        break; // one report per model
      }
    }
    if (diags.limitReached()) break;
  }
  // Jobs and pipelines as far as they can be checked without their data.
  for (const DeclPtr& d : program.modules.at(0).ast->decls) {
    if (diags.limitReached()) break;
    if (auto* p = d->as<PipelineDecl>())
      ok &= Elaborator(program, sources, diags, {}).pipelineWithDefaults(*p, 0).has_value();
    else if (auto* t = d->as<TrainDecl>())
      ok &= Elaborator(program, sources, diags, {}).job(*t, 0).has_value();
  }
  return ok;
}

} // namespace bdl::sema
