#include "compiler/driver/PipelineBuilder.h"

#include "compiler/passes/DeadCode.h"
#include "runtime/data/DataError.h"
#include "runtime/data/Sources.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <mutex>

namespace bdl::driver {

namespace {

using sema::ClauseArg;
using sema::ClauseValue;
using sema::PipelineStep;

// A located mistake in a pipeline's arguments; reported as a diagnostic.
struct StepMistake {
  SourceRange range;
  std::string message;
  std::string hint;
};

// One parameter of a source or stage: its name, and whether it must be given.
struct Param {
  std::string name;
  bool required = false;
};

// The arguments of `step` matched to `params` (positional, then by name).
class BoundArgs {
public:
  BoundArgs(const PipelineStep& step, std::vector<Param> params) : step_(step), params_(std::move(params)) {
    size_t positional = 0;
    for (const ClauseArg& a : step.args) {
      size_t k = positional;
      if (a.name.empty()) {
        if (positional >= params_.size())
          throw StepMistake{a.range, fmt::format("{} takes {} argument{}", step.name, params_.size(),
                                                 params_.size() == 1 ? "" : "s"),
                            usage()};
        ++positional;
      } else {
        k = 0;
        while (k < params_.size() && params_[k].name != a.name) ++k;
        if (k == params_.size())
          throw StepMistake{a.range, fmt::format("{} has no argument '{}'", step.name, a.name), usage()};
      }
      if (values_.count(params_[k].name))
        throw StepMistake{a.range, fmt::format("argument '{}' is given twice", params_[k].name), {}};
      values_.emplace(params_[k].name, &a.value);
    }
    for (const Param& p : params_)
      if (p.required && !values_.count(p.name))
        throw StepMistake{step.range, fmt::format("{} needs the argument '{}'", step.name, p.name), usage()};
  }

  bool has(const std::string& name) const { return values_.count(name) > 0; }

  std::string str(const std::string& name, std::string fallback = {}) const {
    const ClauseValue* v = get(name);
    if (!v) return fallback;
    if (v->kind != ClauseValue::Kind::Str) throw wrong(*v, name, "a string");
    return v->str;
  }
  int64_t integer(const std::string& name, int64_t fallback, int64_t minimum) const {
    const ClauseValue* v = get(name);
    if (!v) return fallback;
    if (v->kind != ClauseValue::Kind::Number || !v->isInt) throw wrong(*v, name, "an integer");
    int64_t i = static_cast<int64_t>(v->number);
    if (i < minimum)
      throw StepMistake{v->range, fmt::format("{}'s {} must be at least {}, not {}", step_.name, name, minimum, i), {}};
    return i;
  }
  double number(const std::string& name, double fallback) const {
    const ClauseValue* v = get(name);
    if (!v) return fallback;
    if (v->kind != ClauseValue::Kind::Number) throw wrong(*v, name, "a number");
    return v->number;
  }
  bool boolean(const std::string& name, bool fallback) const {
    const ClauseValue* v = get(name);
    if (!v) return fallback;
    if (v->kind != ClauseValue::Kind::Bool) throw wrong(*v, name, "true or false");
    return v->boolean;
  }
  std::vector<std::string> strings(const std::string& name) const {
    const ClauseValue* v = get(name);
    if (!v) return {};
    if (v->kind == ClauseValue::Kind::Str) return {v->str};
    if (v->kind != ClauseValue::Kind::List) throw wrong(*v, name, "a list of strings");
    std::vector<std::string> out;
    for (const ClauseValue& item : v->items) {
      if (item.kind == ClauseValue::Kind::Str) out.push_back(item.str);
      else if (item.kind == ClauseValue::Kind::Number && item.isInt) out.push_back(fmt::format("{}", static_cast<int64_t>(item.number)));
      else throw wrong(item, name, "a list of strings");
    }
    return out;
  }
  std::vector<int64_t> integers(const std::string& name) const {
    const ClauseValue* v = get(name);
    if (!v) return {};
    std::vector<int64_t> out;
    auto one = [&](const ClauseValue& item) {
      if (item.kind != ClauseValue::Kind::Number || !item.isInt || item.number < 1)
        throw wrong(item, name, "positive integers");
      out.push_back(static_cast<int64_t>(item.number));
    };
    if (v->kind == ClauseValue::Kind::List) for (const ClauseValue& item : v->items) one(item);
    else one(*v);
    return out;
  }
  SourceRange rangeOf(const std::string& name) const {
    const ClauseValue* v = get(name);
    return v ? v->range : step_.range;
  }

private:
  const ClauseValue* get(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : it->second;
  }
  StepMistake wrong(const ClauseValue& v, const std::string& name, const char* expected) const {
    return {v.range, fmt::format("{}'s {} must be {}, not {}", step_.name, name, expected, v.toString()), usage()};
  }
  std::string usage() const {
    std::vector<std::string> names;
    for (const Param& p : params_) names.push_back(p.required ? p.name : p.name + " = ...");
    return fmt::format("{}({})", step_.name, fmt::join(names, ", "));
  }

  const PipelineStep& step_;
  std::vector<Param> params_;
  std::map<std::string, const ClauseValue*> values_;
};

ir::TensorType typeOfTensor(const Tensor& t, bool batch) {
  ir::TensorType type{t.dtype(), {}};
  for (size_t i = 0; i < t.shape().size(); ++i)
    type.dims.push_back(batch && i == 0 ? ir::Dim::sym("N") : ir::Dim::of(t.shape()[i]));
  return type;
}

// A map or filter function: elaborated and compiled once per distinct
// record type, shared by every copy of the stage (and the prefetch thread).
class CompiledFunction {
public:
  // A function runs on one record at a time: one thread (parallel regions
  // per record would cost more than the work in them).
  CompiledFunction(const PipelineStep& step, const PipelineContext& context) : step_(step), context_(context) {
    context_.engine.threads = 1;
  }

  interp::RunResult run(const Record& record) {
    std::vector<sema::FieldType> fields = recordFieldTypes(record);
    std::string key;
    for (const sema::FieldType& f : fields) key += f.name + ":" + f.type.toString() + ";";
    exec::Executable* exe = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = compiled_.find(key);
      if (it == compiled_.end()) it = compiled_.emplace(key, compile(fields)).first;
      exe = it->second.get();
    }
    interp::Feeds feeds;
    for (const auto& [name, value] : record.fields()) feeds[name] = value;
    ir::Expected<interp::RunResult> r = [&] {
      std::lock_guard<std::mutex> lock(runMutex_); // an Executable runs one call at a time
      return exe->run(feeds);
    }();
    if (!r) throw DataError("", step_.name, r.error().message);
    return std::move(*r);
  }

private:
  std::unique_ptr<exec::Executable> compile(const std::vector<sema::FieldType>& fields) {
    std::optional<ir::Graph> g = sema::elaboratePipelineFunction(*context_.program, step_, fields, context_.seed,
                                                                  *context_.sources, *context_.diags);
    if (!g) throw FunctionCompileError(fmt::format("the {} function does not compile for records of {}", step_.name, describe(fields)));
    // The graph takes exactly the fields the function names; others pass by.
    ir::Expected<std::unique_ptr<exec::Executable>> exe = exec::compile(passes::eliminateDeadCode(*g), context_.engine);
    if (!exe) throw FunctionCompileError(fmt::format("cannot compile the {} function: {}", step_.name, exe.error().message));
    return std::move(*exe);
  }
  static std::string describe(const std::vector<sema::FieldType>& fields) {
    std::string out;
    for (const sema::FieldType& f : fields) out += (out.empty() ? "" : ", ") + f.name + ": " + f.type.toString();
    return out;
  }

  PipelineStep step_;
  PipelineContext context_;
  std::mutex mutex_, runMutex_;
  std::map<std::string, std::unique_ptr<exec::Executable>> compiled_;
};

std::unique_ptr<data::Stage> makeSource(const PipelineStep& step) {
  if (step.name == "idx") {
    BoundArgs a(step, {{"images", true}, {"labels", true}, {"classes"}});
    return data::idxSource({a.str("images"), a.str("labels"), a.integer("classes", 10, 0)});
  }
  if (step.name == "csv") {
    BoundArgs a(step, {{"path", true}, {"features"}, {"label"}, {"header"}, {"classes"}});
    data::CsvOptions o;
    o.path = a.str("path");
    o.features = a.strings("features");
    o.label = a.str("label");
    o.header = a.boolean("header", true);
    o.numClasses = a.integer("classes", 0, 0);
    return data::csvSource(o);
  }
  if (step.name == "npy") {
    BoundArgs a(step, {{"path", true}, {"field"}});
    return data::npySource(a.str("path"), a.str("field", "x"));
  }
  if (step.name == "npz") {
    BoundArgs a(step, {{"path", true}, {"fields"}});
    return data::npzSource(a.str("path"), a.strings("fields"));
  }
  BoundArgs a(step, {{"shape", true}, {"classes", true}, {"count", true}, {"seed"}, {"noise"}});
  data::SyntheticOptions o;
  std::vector<int64_t> shape = a.integers("shape");
  o.shape = Shape(shape.begin(), shape.end());
  o.classes = a.integer("classes", 2, 1);
  o.count = a.integer("count", 0, 0);
  o.seed = static_cast<uint64_t>(a.integer("seed", 0, 0));
  o.noise = static_cast<float>(a.number("noise", 0.5));
  return data::syntheticSource(o);
}

void addStage(data::Pipeline& p, const PipelineStep& step, const PipelineContext& context) {
  const std::string& n = step.name;
  if (n == "map" || n == "filter") {
    auto fn = std::make_shared<CompiledFunction>(step, context);
    if (n == "map") {
      p.map([fn](Record record) {
        interp::RunResult r = fn->run(record);
        for (auto& [field, value] : r.outputs) record.set(field, std::move(value));
        return record;
      });
    } else {
      p.filter([fn](const Record& record) { return fn->run(record).outputs.at("keep").data<uint8_t>()[0] != 0; });
    }
  } else if (n == "shuffle") {
    BoundArgs a(step, {{"buffer", true}, {"seed"}});
    int64_t buffer = a.integer("buffer", 1, 1);
    p.shuffle(buffer, a.has("seed") ? static_cast<uint64_t>(a.integer("seed", 0, 0)) : context.seed);
  } else if (n == "batch") {
    BoundArgs a(step, {{"n", true}, {"drop_last"}});
    p.batch(a.integer("n", 1, 1), a.boolean("drop_last", false));
  } else if (n == "one_hot") {
    BoundArgs a(step, {{"field", true}, {"classes", true}});
    p.oneHot(a.str("field"), a.integer("classes", 2, 1));
  } else if (n == "random_flip") {
    BoundArgs a(step, {{"field", true}, {"seed"}});
    std::optional<uint64_t> seed;
    if (a.has("seed")) seed = static_cast<uint64_t>(a.integer("seed", 0, 0));
    p.randomFlip(a.str("field"), seed);
  } else if (n == "random_crop") {
    BoundArgs a(step, {{"field", true}, {"size", true}, {"padding"}, {"seed"}});
    std::optional<uint64_t> seed;
    if (a.has("seed")) seed = static_cast<uint64_t>(a.integer("seed", 0, 0));
    p.randomCrop(a.str("field"), a.integer("size", 1, 1), a.integer("padding", 0, 0), seed);
  } else if (n == "take" || n == "skip") {
    BoundArgs a(step, {{"n", true}});
    int64_t count = a.integer("n", 0, 0);
    if (n == "take") p.take(count);
    else p.skip(count);
  } else if (n == "repeat") {
    BoundArgs a(step, {{"n"}});
    p.repeat(a.integer("n", -1, -1));
  } else if (n == "cache") {
    BoundArgs a(step, {});
    p.cache();
  } else if (n == "prefetch") {
    BoundArgs a(step, {{"n"}});
    p.prefetch(a.integer("n", 2, 1));
  } else {
    throw std::logic_error(fmt::format("{}:{}: stage '{}' passed sema but has no builder", __FILE__, __LINE__, n));
  }
}

} // namespace

std::vector<sema::FieldType> batchFieldTypes(const Record& batch) {
  std::vector<sema::FieldType> out;
  for (const auto& [name, value] : batch.fields()) out.push_back({name, typeOfTensor(value, true)});
  return out;
}

std::vector<sema::FieldType> recordFieldTypes(const Record& record) {
  std::vector<sema::FieldType> out;
  for (const auto& [name, value] : record.fields()) out.push_back({name, typeOfTensor(value, false)});
  return out;
}

std::unique_ptr<data::Pipeline> buildPipeline(const sema::PipelineSpec& spec, const PipelineContext& context) {
  const PipelineStep* current = &spec.steps.front();
  try {
    auto pipeline = std::make_unique<data::Pipeline>(makeSource(spec.steps.front()),
                                                     data::PipelineOptions{context.shard, context.seed});
    for (size_t i = 1; i < spec.steps.size(); ++i) {
      current = &spec.steps[i];
      addStage(*pipeline, spec.steps[i], context);
    }
    return pipeline;
  } catch (const StepMistake& m) {
    context.diags->error(m.range, m.message).hint = m.hint;
  } catch (const DataError& e) {
    // Arguments the data layer rejects (a batch not divisible by the worker
    // count, a field that does not exist) are the stage's mistakes; files
    // that are bad are reported by the caller.
    if (!e.file().empty()) throw;
    context.diags->error(current->range, e.message());
  }
  return nullptr;
}

} // namespace bdl::driver
