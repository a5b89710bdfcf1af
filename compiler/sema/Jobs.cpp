// Train jobs: the clauses of a `train` block as plain data, and the job's
// training and validation graphs (see Job.h).
#include "compiler/sema/Elaborator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace bdl::sema {

using namespace ast;

namespace {

// Items with a fixed meaning; every other item binds a tensor.
const std::vector<std::string>& clauseNames() {
  static const std::vector<std::string> names = {"data",       "optimizer", "schedule", "stop",
                                                 "validate",   "checkpoint", "seed",    "clip"};
  return names;
}

bool isClause(const std::string& name) {
  const auto& c = clauseNames();
  return std::find(c.begin(), c.end(), name) != c.end();
}

// `accuracy(logits, label)` is reported as "accuracy", `loss` as "loss".
std::string metricName(const Expr& e, size_t index) {
  if (auto* n = e.as<NameRef>()) return n->name;
  if (auto* c = e.as<Call>())
    if (auto* n = c->callee->as<NameRef>()) return n->name;
  return fmt::format("metric{}", index);
}

} // namespace

std::optional<JobSpec> Elaborator::job(const TrainDecl& decl, size_t module) {
  try {
    Frame top;
    top.module = module;
    top.scope = newScope();
    top.jobTop = true;
    frames_.push_back(std::move(top));
    JobSpec spec;
    spec.name = decl.name.name;
    spec.decl = &decl;
    spec.module = module;
    spec.range = decl.name.range;
    std::map<std::string, SourceRange> seen;
    bool hasData = false, hasOptimizer = false, hasLoss = false, hasStop = false;
    for (const TrainItem& item : decl.items) {
      const std::string& name = item.name.name;
      if (auto [it, fresh] = seen.emplace(name, item.name.range); !fresh)
        fail(item.name.range, fmt::format("'{}' is set twice in this job", name), {}, {{it->second, "first set here"}});
      bool takesEvery = name == "validate" || name == "checkpoint";
      if (item.every && !takesEvery)
        fail(item.every->range, fmt::format("'every' belongs to validate and checkpoint, not to '{}'", name));
      if (item.with && name != "validate")
        fail(item.with->range, fmt::format("'with' lists validation metrics; it does not apply to '{}'", name));
      if (item.keep && name != "checkpoint")
        fail(item.keep->range, fmt::format("'keep' applies to checkpoint, not to '{}'", name));
      if (name == "loss") hasLoss = true;
      if (!isClause(name)) continue; // a tensor binding, elaborated by jobGraph()
      const Expr& value = *item.value;
      if (name == "data") {
        hasData = true;
        spec.data = pipelineValue(value, "data");
      } else if (name == "optimizer" || name == "schedule" || name == "clip") {
        ClauseValue c = clauseValue(value);
        if (c.kind != ClauseValue::Kind::Call)
          fail(value.range, fmt::format("{} must be a call such as {}", name,
                                        name == "optimizer" ? "sgd(lr = 0.1)"
                                        : name == "schedule" ? "step_lr(every = 2 epochs, gamma = 0.5)"
                                                             : "clip_norm(1.0)"));
        if (name == "optimizer") {
          hasOptimizer = true;
          spec.optimizer = std::move(c);
        } else if (name == "schedule") {
          spec.schedule = std::move(c);
        } else {
          if (c.str != "clip_norm" && c.str != "clip_value")
            fail(value.range, fmt::format("unknown clipping '{}'", c.str),
                 "clip = clip_norm(max_norm) clips the global L2 norm; clip = clip_value(v) clamps each element");
          spec.clip = std::move(c);
        }
      } else if (name == "stop") {
        hasStop = true;
        if (auto* d = value.as<DurationLit>()) {
          spec.stop.kind = d->unit == DurationUnit::Epochs ? StopSpec::Kind::Epochs : StopSpec::Kind::Iterations;
          spec.stop.count = d->count;
          if (d->count <= 0) fail(value.range, "stop needs a positive count");
        } else if (auto* b = value.as<Binary>(); b && b->op == BinaryOp::Lt && b->lhs->as<NameRef>() &&
                                                 b->lhs->as<NameRef>()->name == "loss") {
          spec.stop.kind = StopSpec::Kind::LossBelow;
          spec.stop.loss = asNumber(eval(*b->rhs), b->rhs->range, "the loss to stop below");
        } else {
          fail(value.range, "stop is a duration or a loss threshold",
               "stop = 5 epochs, stop = 1000 iterations, or stop = loss < 0.05");
        }
      } else if (name == "validate") {
        ValidateSpec v;
        v.data = pipelineValue(value, "validate");
        if (item.every) {
          auto* d = item.every->as<DurationLit>();
          if (!d || d->count <= 0) fail(item.every->range, "'every' takes a positive duration such as 1 epoch");
          v.every = {d->count, d->unit == DurationUnit::Epochs};
        }
        if (!item.with)
          fail(item.range, "validate needs the metrics to report", "validate = Test() every 1 epoch with [accuracy(logits, label), loss]");
        auto* list = item.with->as<List>();
        if (!list || list->items.empty())
          fail(item.with->range, "'with' takes a list of metrics such as [accuracy(logits, label), loss]");
        std::set<std::string> names;
        for (size_t i = 0; i < list->items.size(); ++i) {
          std::string m = metricName(*list->items[i], i);
          for (int k = 2; !names.insert(m).second; ++k) m = fmt::format("{}_{}", metricName(*list->items[i], i), k);
          v.metrics.push_back(m);
          v.metricExprs.push_back(list->items[i].get());
        }
        spec.validate = std::move(v);
      } else if (name == "checkpoint") {
        CheckpointSpec c;
        c.range = value.range;
        Value dir = eval(value);
        if (dir.kind != Value::Kind::Str || dir.s.empty())
          fail(value.range, "checkpoint is a directory name such as \"ckpt/mlp\"");
        c.dir = dir.s;
        if (item.every) {
          auto* d = item.every->as<DurationLit>();
          if (!d || d->count <= 0) fail(item.every->range, "'every' takes a positive duration such as 1 epoch");
          c.every = {d->count, d->unit == DurationUnit::Epochs};
        }
        if (item.keep) {
          c.keep = asInt(eval(*item.keep), item.keep->range, "keep");
          if (c.keep <= 0) fail(item.keep->range, "keep needs a positive count", "leave 'keep' out to keep every checkpoint");
        }
        spec.checkpoint = std::move(c);
      } else if (name == "seed") {
        int64_t seed = asInt(eval(value), value.range, "the seed");
        if (seed < 0) fail(value.range, "the seed must not be negative");
        spec.seed = static_cast<uint64_t>(seed);
      }
    }
    if (!hasData) fail(decl.name.range, fmt::format("train job '{}' has no data", decl.name.name), "data = Train()");
    if (!hasLoss)
      fail(decl.name.range, fmt::format("train job '{}' has no loss", decl.name.name), "loss = cross_entropy(logits, label)");
    if (!hasOptimizer)
      fail(decl.name.range, fmt::format("train job '{}' has no optimizer", decl.name.name), "optimizer = sgd(lr = 0.1)");
    if (!hasStop)
      fail(decl.name.range, fmt::format("train job '{}' has no stop", decl.name.name), "stop = 5 epochs");
    frames_.clear();
    return spec;
  } catch (const ElaborationStopped&) {
    frames_.clear();
    return std::nullopt;
  }
}

std::optional<ir::Graph> Elaborator::jobGraph(const JobSpec& job, const std::vector<FieldType>& fields,
                                              JobGraphKind kind) {
  try {
    Frame top;
    top.module = job.module;
    top.scope = newScope();
    top.jobTop = true;
    frames_.push_back(std::move(top));
    at(job.range);
    for (const FieldType& f : fields) {
      ir::ValueId id = check(builder_.input(f.name, f.type), job.range, {});
      frame().scope->names[f.name] = Value::ofTensor(id);
    }
    std::optional<Value> loss;
    SourceRange lossRange;
    for (const TrainItem& item : job.decl->items) {
      const std::string& name = item.name.name;
      if (isClause(name)) continue;
      frame().target = name;
      at(item.value->range);
      Value v = eval(*item.value, true);
      frame().target.clear();
      frame().scope->names[name] = v;
      if (name == "loss") {
        loss = v;
        lossRange = item.value->range;
      }
    }
    auto scalar = [&](const Value& v, SourceRange where, const std::string& what) {
      if (v.kind != Value::Kind::Tensor) fail(where, fmt::format("{} must be a tensor, not {}", what, describeKind(v)));
      const ir::TensorType& t = typeOf(v.tensor);
      if (t.rank() != 0 || !(t.dtype == DType::F32 || t.dtype == DType::F64))
        fail(where, fmt::format("{} must be a float scalar, not {}", what, t.toString()),
             t.rank() != 0 ? "reduce it, e.g. with mean(...)" : "cast it: cast(x, f32)");
      return v.tensor;
    };
    if (kind == JobGraphKind::Training) {
      check(builder_.output("loss", scalar(*loss, lossRange, "the loss")), lossRange, {});
    } else {
      const ValidateSpec& v = *job.validate;
      for (size_t i = 0; i < v.metrics.size(); ++i) {
        at(v.metricExprs[i]->range);
        Value m = eval(*v.metricExprs[i]);
        ir::ValueId id = scalar(m, v.metricExprs[i]->range, fmt::format("the metric '{}'", v.metrics[i]));
        // Metrics are averaged over batches in f64 by the runtime; the graph gives f32.
        check(builder_.output(v.metrics[i], id), v.metricExprs[i]->range, {});
      }
    }
    if (builder_.graph().leaves(ir::OpKind::Parameter).empty() && kind == JobGraphKind::Training)
      fail(job.range, fmt::format("train job '{}' has nothing to train", job.name),
           "call a model, e.g. logits = MLP(flatten(image))");
    frames_.clear();
    return finishGraph();
  } catch (const ElaborationStopped&) {
    frames_.clear();
    return std::nullopt;
  }
}

std::vector<const TrainDecl*> findJobs(const LoadedProgram& program) {
  std::vector<const TrainDecl*> out;
  for (const DeclPtr& d : program.modules.at(0).ast->decls)
    if (auto* t = d->as<TrainDecl>()) out.push_back(t);
  return out;
}

std::optional<JobSpec> describeJob(const LoadedProgram& program, const std::string& name, const SourceManager& sources,
                                   DiagnosticEngine& diags) {
  std::vector<const TrainDecl*> jobs = findJobs(program);
  std::vector<std::string> names;
  for (const TrainDecl* t : jobs) names.push_back(t->name.name);
  const TrainDecl* chosen = nullptr;
  if (name.empty()) {
    if (jobs.size() == 1) chosen = jobs[0];
    else if (jobs.empty()) diags.error({}, "this file has no train job").hint = "add one: train Name { data = ..., ... }";
    else
      diags.error({}, "this file has several train jobs; choose one with --job").hint =
          fmt::format("the jobs are {}", fmt::join(names, ", "));
  } else {
    for (const TrainDecl* t : jobs)
      if (t->name.name == name) chosen = t;
    if (!chosen) {
      std::string near = closestName(name, names);
      diags.error({}, fmt::format("no train job named '{}'", name)).hint =
          !near.empty() ? fmt::format("did you mean '{}'?", near)
          : names.empty() ? std::string("this file has no train job")
                          : fmt::format("the jobs are {}", fmt::join(names, ", "));
    }
  }
  if (!chosen) return std::nullopt;
  return Elaborator(program, sources, diags, {}).job(*chosen, 0);
}

std::optional<ir::Graph> elaborateJobGraph(const LoadedProgram& program, const JobSpec& job,
                                           const std::vector<FieldType>& fields, JobGraphKind kind,
                                           const SourceManager& sources, DiagnosticEngine& diags) {
  ElaborateOptions options{kind == JobGraphKind::Training, job.seed};
  return Elaborator(program, sources, diags, options).jobGraph(job, fields, kind);
}

} // namespace bdl::sema
