#include "compiler/driver/JobBuilder.h"

#include "compiler/passes/Autodiff.h"
#include "compiler/passes/DeadCode.h"
#include "runtime/optim/OptimizerFactory.h"
#include "runtime/optim/ScheduleFactory.h"
#include "runtime/train/Sha256.h"

#include <fmt/format.h>

namespace bdl::driver {

namespace {

using sema::ClauseArg;
using sema::ClauseValue;

struct Mistake {
  SourceRange range;
  std::string message;
  std::string hint;
};

// Positional arguments of schedules, in order (makeSchedule takes names).
std::vector<std::string> scheduleParams(const std::string& name) {
  if (name == "step_lr") return {"every", "gamma"};
  if (name == "cosine") return {"total", "eta_min"};
  if (name == "warmup") return {"steps", "then"};
  if (name == "exponential") return {"gamma"};
  return {};
}

optim::Schedule schedule(const ClauseValue& call) {
  std::vector<std::string> positional = scheduleParams(call.str);
  std::vector<optim::NamedScheduleArg> args;
  for (size_t i = 0; i < call.args.size(); ++i) {
    const ClauseArg& a = call.args[i];
    std::string name = a.name;
    if (name.empty()) {
      if (i >= positional.size())
        throw Mistake{a.range, fmt::format("{} takes {} argument{}", call.str, positional.size(), positional.size() == 1 ? "" : "s"), {}};
      name = positional[i];
    }
    const ClauseValue& v = a.value;
    switch (v.kind) {
    case ClauseValue::Kind::Number: args.push_back({name, optim::ScheduleArgValue(v.number)}); break;
    case ClauseValue::Kind::Duration:
      args.push_back({name, optim::ScheduleArgValue(v.epochs ? optim::Duration::epochs(v.count)
                                                             : optim::Duration::iterations(v.count))});
      break;
    case ClauseValue::Kind::Call: args.push_back({name, optim::ScheduleArgValue(schedule(v))}); break;
    default: throw Mistake{v.range, fmt::format("{}'s {} cannot be {}", call.str, name, v.toString()), {}};
    }
  }
  optim::Result<optim::Schedule> s = optim::makeSchedule(call.str, args);
  if (!s) throw Mistake{call.range, s.message(), {}};
  return s.value();
}

optim::OptimizerConfig optimizer(const ClauseValue& call) {
  std::vector<optim::NamedArg> args;
  for (size_t i = 0; i < call.args.size(); ++i) {
    const ClauseArg& a = call.args[i];
    std::string name = a.name;
    if (name.empty()) {
      if (i != 0) throw Mistake{a.range, "only the learning rate may be given by position", "name the others: momentum = 0.9"};
      name = "lr";
    }
    const ClauseValue& v = a.value;
    if (v.kind == ClauseValue::Kind::Number) args.push_back({name, optim::ArgValue(v.number)});
    else if (v.kind == ClauseValue::Kind::Bool) args.push_back({name, optim::ArgValue(v.boolean)});
    else throw Mistake{v.range, fmt::format("{}'s {} must be a number, not {}", call.str, name, v.toString()), {}};
  }
  optim::Result<optim::OptimizerConfig> c = optim::makeOptimizerConfig(call.str, args);
  if (!c) throw Mistake{call.range, c.message(), {}};
  return c.value();
}

void clip(const ClauseValue& call, train::TrainSettings& s) {
  const char* argName = call.str == "clip_norm" ? "max_norm" : "value";
  if (call.args.size() != 1 || (!call.args[0].name.empty() && call.args[0].name != argName) ||
      call.args[0].value.kind != ClauseValue::Kind::Number || call.args[0].value.number <= 0)
    throw Mistake{call.range, fmt::format("{} takes one positive number, {}", call.str, argName),
                  fmt::format("{}(1.0)", call.str)};
  s.clip = call.str == "clip_norm" ? train::TrainSettings::Clip::Norm : train::TrainSettings::Clip::Value;
  s.clipLimit = call.args[0].value.number;
}

bool hasBatch(const sema::PipelineSpec& p) {
  for (const sema::PipelineStep& s : p.steps)
    if (s.name == "batch") return true;
  return false;
}

// The first batch of a freshly built pipeline, to learn the field types.
std::optional<Record> firstBatch(data::Pipeline& p, const sema::PipelineSpec& spec, DiagnosticEngine& diags,
                                 const char* role) {
  if (!hasBatch(spec)) {
    diags.error(spec.range, fmt::format("the {} data is not batched", role)).hint = "end the pipeline with |> batch(128)";
    return std::nullopt;
  }
  p.startEpoch(0);
  std::optional<Record> b = p.next();
  if (!b) diags.error(spec.range, fmt::format("the {} data is empty", role)).hint = "check the source and its take/skip/filter stages";
  return b;
}

// Class indices a loss reads straight from the data are checked where the
// error can name the file and row, before training starts; otherwise
// cross_entropy stops the run mid-epoch naming neither.
void checkLabelsAtSource(const data::Pipeline& p, const ir::Graph& g) {
  for (const ir::Node& n : g.nodes) {
    if (n.op != ir::OpKind::CrossEntropy && n.op != ir::OpKind::Nll) continue;
    const ir::Node& labels = g.node(n.operands[1]);
    const ir::TensorType& scores = g.type(n.operands[0]);
    if (labels.op != ir::OpKind::Input || scores.rank() == 0 || !scores.dims.back().isConcrete()) continue;
    const int64_t classes = scores.dims.back().value;
    p.checkClassIndices(labels.name, classes,
                        fmt::format("the job's {} reads it as a class index of {} classes", ir::opName(n.op), classes));
  }
}

} // namespace

std::string programHash(const LoadedProgram& program, const SourceManager& sources) {
  std::string all;
  for (const LoadedModule& m : program.modules) {
    const std::string& text = sources.file(m.file).text;
    all += fmt::format("{}\n", text.size()) + text;
  }
  return train::sha256Bytes(all);
}

std::optional<PreparedJob> prepareJob(const LoadedProgram& program, const SourceManager& sources,
                                      DiagnosticEngine& diags, const JobOptions& options) {
  std::optional<sema::JobSpec> spec = sema::describeJob(program, options.job, sources, diags);
  if (!spec) return std::nullopt;
  PreparedJob job;
  job.spec = *spec;
  train::TrainSettings& s = job.settings;
  s.jobName = spec->name;
  s.seed = spec->seed;
  s.engine = options.engine;
  s.version = options.version;
  s.programHash = programHash(program, sources);
  try {
    s.optimizer = optimizer(spec->optimizer);
    if (spec->schedule) s.schedule = schedule(*spec->schedule);
    if (spec->clip) clip(*spec->clip, s);
  } catch (const Mistake& m) {
    diags.error(m.range, m.message).hint = m.hint;
    return std::nullopt;
  }
  switch (spec->stop.kind) {
  case sema::StopSpec::Kind::Epochs: s.stop = train::TrainSettings::Stop::Epochs; break;
  case sema::StopSpec::Kind::Iterations: s.stop = train::TrainSettings::Stop::Iterations; break;
  case sema::StopSpec::Kind::LossBelow: s.stop = train::TrainSettings::Stop::LossBelow; break;
  }
  s.stopCount = spec->stop.count;
  s.stopLoss = spec->stop.loss;
  if (options.epochs) {
    s.stop = train::TrainSettings::Stop::Epochs;
    s.stopCount = *options.epochs;
  }
  if (spec->checkpoint) {
    s.checkpointDir = spec->checkpoint->dir;
    s.checkpointEvery = {spec->checkpoint->every.count, spec->checkpoint->every.epochs};
    s.keep = spec->checkpoint->keep;
  }

  PipelineContext context{&program, &sources, &diags, options.shard, spec->seed, options.engine};
  try {
    job.inputs.trainData = buildPipeline(spec->data, context);
    if (!job.inputs.trainData) return std::nullopt;
    std::optional<Record> batch = firstBatch(*job.inputs.trainData, spec->data, diags, "training");
    if (!batch) return std::nullopt;
    std::optional<ir::Graph> forward =
        sema::elaborateJobGraph(program, *spec, batchFieldTypes(*batch), sema::JobGraphKind::Training, sources, diags);
    if (!forward) return std::nullopt;
    checkLabelsAtSource(*job.inputs.trainData, *forward);
    ir::Expected<ir::Graph> training = passes::buildTrainingGraph(*forward, "loss");
    if (!training) {
      diags.error(spec->range, fmt::format("cannot differentiate the job's loss: {}", training.error().message));
      return std::nullopt;
    }
    job.inputs.trainingGraph = std::move(*training);

    if (spec->validate) {
      s.validateEvery = {spec->validate->every.count, spec->validate->every.epochs};
      s.metrics = spec->validate->metrics;
      // Every worker validates on all of the validation data.
      PipelineContext whole = context;
      whole.shard = {};
      std::unique_ptr<data::Pipeline> v = buildPipeline(spec->validate->data, whole);
      if (!v) return std::nullopt;
      std::optional<Record> vb = firstBatch(*v, spec->validate->data, diags, "validation");
      if (!vb) return std::nullopt;
      std::optional<ir::Graph> g =
          sema::elaborateJobGraph(program, *spec, batchFieldTypes(*vb), sema::JobGraphKind::Validation, sources, diags);
      if (!g) return std::nullopt;
      checkLabelsAtSource(*v, *g);
      job.inputs.validationGraph = passes::eliminateDeadCode(*g);
      job.inputs.validationData = std::move(v);
    }
  } catch (const FunctionCompileError&) {
    return std::nullopt; // diagnostics are reported
  }
  return job;
}

} // namespace bdl::driver
