// Pipelines: a source and `|>` stages with compile-time arguments, and the
// graphs of their map/filter functions (see Job.h).
#include "compiler/sema/Elaborator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace bdl::sema {

using namespace ast;

namespace {

constexpr int kMaxPipelineNesting = 32;

const std::vector<std::string>& sourceNames() {
  static const std::vector<std::string> names = {"idx", "csv", "npy", "npz", "synthetic"};
  return names;
}

const std::vector<std::string>& stageNames() {
  static const std::vector<std::string> names = {"map",         "filter",      "shuffle", "batch", "one_hot",
                                                 "random_flip", "random_crop", "take",    "skip",  "repeat",
                                                 "cache",       "prefetch"};
  return names;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const PipelineDecl* findPipeline(const LoadedProgram& program, size_t module, const std::string& name) {
  for (const DeclPtr& d : program.modules.at(module).ast->decls)
    if (auto* p = d->as<PipelineDecl>(); p && p->name.name == name) return p;
  return nullptr;
}

} // namespace

std::string ClauseValue::toString() const {
  switch (kind) {
  case Kind::Number: return isInt ? fmt::format("{}", static_cast<int64_t>(number)) : fmt::format("{}", number);
  case Kind::Bool: return boolean ? "true" : "false";
  case Kind::Str: return fmt::format("\"{}\"", str);
  case Kind::Duration: return fmt::format("{} {}", count, epochs ? "epochs" : "iterations");
  case Kind::List: {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i].toString();
    return out + "]";
  }
  case Kind::Call: {
    std::string out = str + "(";
    for (size_t i = 0; i < args.size(); ++i)
      out += (i ? ", " : "") + (args[i].name.empty() ? "" : args[i].name + " = ") + args[i].value.toString();
    return out + ")";
  }
  }
  return "?";
}

std::string PipelineSpec::describe() const {
  std::string out;
  for (const PipelineStep& s : steps) out += (out.empty() ? "" : " |> ") + s.name;
  return out;
}

// ---- clause values -----------------------------------------------------

ClauseValue Elaborator::clauseValue(const Expr& e) {
  ClauseValue c;
  c.range = e.range;
  if (auto* call = e.as<Call>(); call && call->callee->as<NameRef>()) {
    // Optimizers, schedules and clipping are named calls the runtime checks.
    c.kind = ClauseValue::Kind::Call;
    c.str = call->callee->as<NameRef>()->name;
    c.args = clauseArgs(*call);
    return c;
  }
  if (auto* list = e.as<List>()) {
    c.kind = ClauseValue::Kind::List;
    for (const ExprPtr& item : list->items) c.items.push_back(clauseValue(*item));
    return c;
  }
  Value v = eval(e);
  switch (v.kind) {
  case Value::Kind::Int: c.kind = ClauseValue::Kind::Number; c.number = static_cast<double>(v.i); c.isInt = true; break;
  case Value::Kind::Float: c.kind = ClauseValue::Kind::Number; c.number = v.f; break;
  case Value::Kind::Bool: c.kind = ClauseValue::Kind::Bool; c.boolean = v.b; break;
  case Value::Kind::Str: c.kind = ClauseValue::Kind::Str; c.str = v.s; break;
  case Value::Kind::Duration:
    c.kind = ClauseValue::Kind::Duration;
    c.count = v.i;
    c.epochs = v.unit == DurationUnit::Epochs;
    break;
  case Value::Kind::List:
  case Value::Kind::Tuple:
    c.kind = ClauseValue::Kind::List;
    for (const Value& item : v.items) {
      ClauseValue ci;
      ci.range = e.range;
      if (item.kind == Value::Kind::Int) { ci.number = static_cast<double>(item.i); ci.isInt = true; }
      else if (item.kind == Value::Kind::Float) ci.number = item.f;
      else if (item.kind == Value::Kind::Str) { ci.kind = ClauseValue::Kind::Str; ci.str = item.s; }
      else fail(e.range, fmt::format("expected numbers or strings in this list, not {}", describeKind(item)));
      c.items.push_back(ci);
    }
    break;
  default:
    fail(e.range, fmt::format("expected a number, string, bool or duration here, not {}", describeKind(v)));
  }
  return c;
}

std::vector<ClauseArg> Elaborator::clauseArgs(const Call& call, const Expr* skip) {
  std::vector<ClauseArg> out;
  std::set<std::string> named;
  for (const Arg& a : call.args) {
    if (a.value.get() == skip) continue;
    ClauseArg c;
    if (a.name) {
      c.name = a.name->name;
      if (!named.insert(c.name).second) fail(a.name->range, fmt::format("argument '{}' is given twice", c.name));
    } else if (!named.empty()) {
      fail(a.value->range, "a positional argument cannot follow a named one");
    }
    c.value = clauseValue(*a.value);
    c.range = a.name ? SourceRange{a.name->range.file, a.name->range.begin, a.value->range.end} : a.value->range;
    out.push_back(std::move(c));
  }
  return out;
}

Value Elaborator::valueOfClause(const ClauseValue& c) {
  switch (c.kind) {
  case ClauseValue::Kind::Number: return c.isInt ? Value::ofInt(static_cast<int64_t>(c.number)) : Value::ofFloat(c.number);
  case ClauseValue::Kind::Bool: return Value::ofBool(c.boolean);
  case ClauseValue::Kind::Str: return Value::ofStr(c.str);
  case ClauseValue::Kind::Duration: {
    Value v;
    v.kind = Value::Kind::Duration;
    v.i = c.count;
    v.unit = c.epochs ? DurationUnit::Epochs : DurationUnit::Iterations;
    return v;
  }
  case ClauseValue::Kind::List: {
    Value v;
    v.kind = Value::Kind::List;
    for (const ClauseValue& item : c.items) v.items.push_back(valueOfClause(item));
    return v;
  }
  case ClauseValue::Kind::Call: break;
  }
  fail(c.range, "a pipeline argument must be a number, string, bool or duration, not a call");
}

// ---- pipeline structure ------------------------------------------------

// A frame whose scope holds the pipeline's parameters, bound to `args` (by
// position or name) or their defaults.
void Elaborator::enterPipeline(const PipelineDecl& decl, size_t module, const std::vector<ClauseArg>& args,
                               SourceRange callRange) {
  Frame f;
  f.module = module;
  f.scope = newScope();
  f.callSite = callRange;
  frames_.push_back(std::move(f));
  std::vector<const ClauseArg*> bound(decl.params.size(), nullptr);
  size_t positional = 0;
  for (const ClauseArg& a : args) {
    size_t k = positional;
    if (a.name.empty()) {
      if (positional >= decl.params.size())
        fail(a.range, fmt::format("pipeline '{}' takes {} argument{}", decl.name.name, decl.params.size(),
                                  decl.params.size() == 1 ? "" : "s"),
             {}, {{decl.name.range, "declared here"}});
      ++positional;
    } else {
      k = 0;
      while (k < decl.params.size() && decl.params[k].name.name != a.name) ++k;
      if (k == decl.params.size()) {
        std::vector<std::string> names;
        for (const ParamDecl& p : decl.params) names.push_back(p.name.name);
        std::string near = closestName(a.name, names);
        fail(a.range, fmt::format("pipeline '{}' has no parameter '{}'", decl.name.name, a.name),
             near.empty() ? "" : fmt::format("did you mean '{}'?", near), {{decl.name.range, "declared here"}});
      }
    }
    if (bound[k]) fail(a.range, fmt::format("argument '{}' is given twice", decl.params[k].name.name));
    bound[k] = &a;
  }
  for (size_t k = 0; k < decl.params.size(); ++k) {
    const ParamDecl& p = decl.params[k];
    Value v;
    SourceRange where;
    if (bound[k]) {
      v = valueOfClause(bound[k]->value);
      where = bound[k]->range;
    } else if (p.defaultValue) {
      v = eval(*p.defaultValue);
      where = p.defaultValue->range;
    } else {
      fail(callRange, fmt::format("missing argument '{}' of pipeline '{}'", p.name.name, decl.name.name), {},
           {{p.range, "declared here"}});
    }
    frame().scope->names[p.name.name] =
        bindTyped(p.type, v, where, fmt::format("argument '{}' of pipeline '{}'", p.name.name, decl.name.name));
  }
}

void Elaborator::pipelineSteps(const Expr& e, PipelineSpec& out, int depth) {
  if (depth > kMaxPipelineNesting)
    fail(e.range, fmt::format("pipelines nested more than {} deep", kMaxPipelineNesting),
         "does a pipeline use itself?");
  if (auto* b = e.as<Binary>(); b && b->op == BinaryOp::Pipe) {
    pipelineSteps(*b->lhs, out, depth);
    const Call* call = b->rhs->as<Call>();
    const NameRef* callee = call ? call->callee->as<NameRef>() : nullptr;
    if (!callee)
      fail(b->rhs->range, "expected a pipeline stage after '|>'",
           "the stages are map, filter, shuffle, batch, one_hot, random_flip, random_crop, take, skip, repeat, "
           "cache and prefetch");
    if (!contains(stageNames(), callee->name)) {
      if (contains(sourceNames(), callee->name))
        fail(callee->range, fmt::format("'{}' is a source; it starts a pipeline, it cannot follow '|>'", callee->name));
      std::string near = closestName(callee->name, stageNames());
      fail(callee->range, fmt::format("unknown pipeline stage '{}'", callee->name),
           near.empty() ? "" : fmt::format("did you mean '{}'?", near));
    }
    PipelineStep step;
    step.name = callee->name;
    step.range = call->range;
    step.module = frame().module;
    if (step.name == "map" || step.name == "filter") {
      // The function: the first positional argument, or `fn = ...`.
      for (const Arg& a : call->args)
        if ((!a.name && !step.function) || (a.name && a.name->name == "fn")) step.function = a.value.get();
      if (!step.function)
        fail(call->range, fmt::format("{} needs a function", step.name),
             step.name == "map" ? "map(image => image / 255.0)" : "filter(label => label < 5)");
      if (!step.function->as<Lambda>() && !step.function->as<NameRef>() && !step.function->as<Member>())
        fail(step.function->range, fmt::format("{} takes a function such as `image => image / 255.0`", step.name));
      step.args = clauseArgs(*call, step.function);
      if (!step.args.empty())
        fail(step.args.front().range, fmt::format("{} takes only its function", step.name));
    } else {
      step.args = clauseArgs(*call);
    }
    out.steps.push_back(std::move(step));
    return;
  }
  const Call* call = e.as<Call>();
  const NameRef* callee = call ? call->callee->as<NameRef>() : nullptr;
  if (!callee)
    fail(e.range, "expected a pipeline: a source such as idx(...) or a pipeline's name, followed by `|>` stages");
  if (const PipelineDecl* decl = findPipeline(program_, frame().module, callee->name)) {
    std::vector<ClauseArg> args = clauseArgs(*call);
    size_t module = frame().module;
    enterPipeline(*decl, module, args, call->range);
    size_t first = out.steps.size();
    pipelineSteps(*decl->body, out, depth + 1);
    frames_.pop_back();
    for (size_t i = first; i < out.steps.size(); ++i) {
      if (out.steps[i].owner) continue; // from a pipeline further in
      out.steps[i].owner = decl;
      out.steps[i].ownerArgs = args;
    }
    return;
  }
  if (contains(sourceNames(), callee->name)) {
    PipelineStep step;
    step.name = callee->name;
    step.range = call->range;
    step.module = frame().module;
    step.args = clauseArgs(*call);
    out.steps.push_back(std::move(step));
    return;
  }
  if (contains(stageNames(), callee->name))
    fail(callee->range, fmt::format("a pipeline starts with a source, not the stage '{}'", callee->name),
         "the sources are idx, csv, npy, npz and synthetic");
  std::vector<std::string> candidates = sourceNames();
  for (const DeclPtr& d : program_.modules.at(frame().module).ast->decls)
    if (auto* p = d->as<PipelineDecl>()) candidates.push_back(p->name.name);
  std::string near = closestName(callee->name, candidates);
  fail(callee->range, fmt::format("unknown pipeline or source '{}'", callee->name),
       near.empty() ? "the sources are idx, csv, npy, npz and synthetic" : fmt::format("did you mean '{}'?", near));
}

PipelineSpec Elaborator::pipelineValue(const Expr& e, const std::string& name) {
  PipelineSpec spec;
  spec.range = e.range;
  spec.name = name;
  if (auto* call = e.as<Call>())
    if (auto* n = call->callee->as<NameRef>(); n && findPipeline(program_, frame().module, n->name)) spec.name = n->name;
  pipelineSteps(e, spec, 0);
  return spec;
}

std::optional<PipelineSpec> Elaborator::pipelineWithDefaults(const PipelineDecl& decl, size_t module) {
  try {
    Frame top;
    top.module = module;
    top.scope = newScope();
    frames_.push_back(std::move(top));
    enterPipeline(decl, module, {}, decl.name.range);
    PipelineSpec spec;
    spec.name = decl.name.name;
    spec.range = decl.name.range;
    pipelineSteps(*decl.body, spec, 1);
    for (PipelineStep& s : spec.steps)
      if (!s.owner) s.owner = &decl;
    frames_.clear();
    return spec;
  } catch (const ElaborationStopped&) {
    frames_.clear();
    return std::nullopt;
  }
}

// ---- map and filter functions -------------------------------------------

std::optional<ir::Graph> Elaborator::pipelineFunction(const PipelineStep& step, const std::vector<FieldType>& fields) {
  try {
    Frame top;
    top.module = step.module;
    top.scope = newScope();
    frames_.push_back(std::move(top));
    if (step.owner) enterPipeline(*step.owner, step.module, step.ownerArgs, step.range);
    Value fn = eval(*step.function);
    if (fn.kind != Value::Kind::Fn || (!fn.lambda && !fn.def))
      fail(step.function->range, fmt::format("{} takes a function of record fields, not {}", step.name,
                                             fn.kind == Value::Kind::Fn ? "a built-in" : describeKind(fn)),
           "write a lambda naming the fields it uses: image => image / 255.0");
    std::vector<std::string> params;
    if (fn.lambda)
      for (const Ident& p : fn.lambda->params) params.push_back(p.name);
    else
      for (const ParamDecl& p : fn.def->params) params.push_back(p.name.name);
    std::string available;
    for (const FieldType& f : fields) available += (available.empty() ? "" : ", ") + f.name;
    std::vector<CallArg> args;
    for (const std::string& p : params) {
      auto it = std::find_if(fields.begin(), fields.end(), [&](const FieldType& f) { return f.name == p; });
      if (it == fields.end())
        fail(step.function->range, fmt::format("the records have no field '{}'", p),
             fmt::format("a {} function's parameters name record fields; the fields here are {}", step.name, available));
      at(step.function->range);
      ir::ValueId id = check(builder_.input(p, it->type), step.function->range, {});
      args.push_back(CallArg{std::nullopt, step.function->range, Value::ofTensor(id), step.function->range});
    }
    frame().target = step.name;
    Value result = callValue(fn, std::move(args), step.function->range, true);
    if (!builder_.graph().leaves(ir::OpKind::Parameter).empty() || !builder_.graph().leaves(ir::OpKind::State).empty())
      fail(step.function->range, fmt::format("a {} function cannot declare parameters or state", step.name),
           "pipelines run outside training; move learned parts into the model");
    auto requireTensor = [&](const Value& v) {
      if (v.kind != Value::Kind::Tensor)
        fail(step.function->range, fmt::format("a {} function must give tensors, not {}", step.name, describeKind(v)));
      return v.tensor;
    };
    if (step.name == "filter") {
      ir::ValueId keep = requireTensor(result);
      const ir::TensorType& t = typeOf(keep);
      if (t.dtype != DType::Bool || t.rank() != 0)
        fail(step.function->range, fmt::format("a filter function must give a bool scalar, not {}", t.toString()),
             "compare: label < 5");
      check(builder_.output("keep", keep), step.function->range, {});
    } else {
      std::vector<Value> results = result.kind == Value::Kind::Tuple ? result.items : std::vector<Value>{result};
      if (results.size() != params.size())
        fail(step.function->range,
             fmt::format("this map function takes {} field{} and must give as many values, not {}", params.size(),
                         params.size() == 1 ? "" : "s", results.size()));
      for (size_t i = 0; i < params.size(); ++i) check(builder_.output(params[i], requireTensor(results[i])), step.function->range, {});
    }
    frames_.clear();
    return finishGraph();
  } catch (const ElaborationStopped&) {
    frames_.clear();
    return std::nullopt;
  }
}

// ---- entry points ------------------------------------------------------

std::optional<PipelineSpec> describePipeline(const LoadedProgram& program, const std::string& name,
                                             const SourceManager& sources, DiagnosticEngine& diags) {
  const PipelineDecl* decl = findPipeline(program, 0, name);
  if (!decl) {
    std::vector<std::string> names;
    for (const DeclPtr& d : program.modules.at(0).ast->decls)
      if (auto* p = d->as<PipelineDecl>()) names.push_back(p->name.name);
    std::string near = closestName(name, names);
    Diagnostic& d = diags.error({}, fmt::format("no pipeline named '{}'", name));
    d.hint = near.empty() ? (names.empty() ? "this file declares no pipeline" : "the pipelines are " + fmt::format("{}", fmt::join(names, ", ")))
                          : fmt::format("did you mean '{}'?", near);
    return std::nullopt;
  }
  return Elaborator(program, sources, diags, {}).pipelineWithDefaults(*decl, 0);
}

std::optional<ir::Graph> elaboratePipelineFunction(const LoadedProgram& program, const PipelineStep& step,
                                                   const std::vector<FieldType>& fields, uint64_t seed,
                                                   const SourceManager& sources, DiagnosticEngine& diags) {
  return Elaborator(program, sources, diags, {false, seed}).pipelineFunction(step, fields);
}

} // namespace bdl::sema
