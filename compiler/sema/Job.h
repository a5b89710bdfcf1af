// Train jobs and pipelines (LANGUAGE.md §5-6), elaborated in two steps
// because a pipeline's record types are known only once its source is open:
//
//  1. describeJob(): the job's clauses as plain data (pipelines as a source
//     and stages with compile-time arguments, the optimizer and schedule as
//     calls, stop, validate, checkpoint, seed, clip). No data is read.
//  2. With the records' types in hand (the runtime opens the source):
//     elaboratePipelineFunction() gives the graph of one map/filter body, and
//     elaborateJobGraph() the job's training graph (output "loss") or its
//     validation graph (one scalar output per metric).
//
// Model calls at the top of a job give their parameters the model's own
// names (`h1.W`, not `logits.h1.W`), so a checkpoint of the job serves
// `bdlc predict --model MLP`.
#pragma once

#include "compiler/ir/Graph.h"
#include "compiler/sema/Elaborate.h"

#include <optional>
#include <string>
#include <vector>

namespace bdl::sema {

struct ClauseArg;

// A compile-time value of a job clause or pipeline argument as written:
// `0.1`, `true`, `"ckpt/x"`, `2 epochs`, `[1, 2]` or a call such as
// `cosine(total = 10 epochs)`.
struct ClauseValue {
  enum class Kind { Number, Bool, Str, Duration, List, Call };
  Kind kind = Kind::Number;
  double number = 0;
  bool isInt = false;
  bool boolean = false;
  std::string str;                        // Str; Call: the callee's name
  int64_t count = 0;                      // Duration
  bool epochs = true;                     // Duration unit
  std::vector<ClauseValue> items;         // List
  std::vector<ClauseArg> args;            // Call
  SourceRange range;

  std::string toString() const; // as BDL would print it
};

struct ClauseArg {
  std::string name; // empty for a positional argument
  ClauseValue value;
  SourceRange range;
};

// One source or stage of a pipeline: `shuffle(buffer = 60000, seed = 7)`.
struct PipelineStep {
  std::string name;
  std::vector<ClauseArg> args; // the function argument of map/filter is left out
  SourceRange range;
  // map/filter: the function, elaborated by elaboratePipelineFunction().
  const ast::Expr* function = nullptr;
  // Where `function` was written: a pipeline declaration called with
  // `ownerArgs`, or the job itself (owner == nullptr).
  const ast::PipelineDecl* owner = nullptr;
  std::vector<ClauseArg> ownerArgs;
  size_t module = 0;
};

struct PipelineSpec {
  std::string name;                 // "FashionTrain", or the job item's name for an inline chain
  std::vector<PipelineStep> steps;  // steps[0] is the source
  SourceRange range;                // where the job names it
  std::string describe() const;     // "idx |> map |> shuffle |> batch"
};

struct Every {
  int64_t count = 1;
  bool epochs = true;
};

struct ValidateSpec {
  PipelineSpec data;
  Every every;
  std::vector<std::string> metrics; // output names of the validation graph, in order
  std::vector<const ast::Expr*> metricExprs;
};

struct CheckpointSpec {
  std::string dir;
  Every every;
  int64_t keep = 0; // 0: keep all
  SourceRange range;
};

struct StopSpec {
  enum class Kind { Epochs, Iterations, LossBelow };
  Kind kind = Kind::Epochs;
  int64_t count = 1;
  double loss = 0;
};

struct JobSpec {
  std::string name;
  const ast::TrainDecl* decl = nullptr;
  size_t module = 0;
  PipelineSpec data;
  ClauseValue optimizer;                  // a Call: sgd(lr = 0.1, ...)
  std::optional<ClauseValue> schedule;    // a Call
  std::optional<ClauseValue> clip;        // clip_norm(1.0) or clip_value(0.5)
  StopSpec stop;
  std::optional<ValidateSpec> validate;
  std::optional<CheckpointSpec> checkpoint;
  uint64_t seed = 0;
  SourceRange range;
};

// The train jobs of the root module, in source order.
std::vector<const ast::TrainDecl*> findJobs(const LoadedProgram& program);

// The job named `name` (or the only one, when `name` is empty), described;
// diagnostics when it does not exist or a clause is wrong.
std::optional<JobSpec> describeJob(const LoadedProgram& program, const std::string& name, const SourceManager& sources,
                                   DiagnosticEngine& diags);

// A pipeline declared in the root module, called with its defaults (for
// `bdlc data` and tests).
std::optional<PipelineSpec> describePipeline(const LoadedProgram& program, const std::string& name,
                                             const SourceManager& sources, DiagnosticEngine& diags);

// A record field's name and type (no batch dimension for records; a
// leading symbolic "N" for batches).
struct FieldType {
  std::string name;
  ir::TensorType type;
};

// The graph of the map/filter function of `step` for records with `fields`.
// Inputs are the fields the function takes, by name. A map's outputs are the
// new values of those fields, named by field (a function of one field
// returns its new value; of several, a tuple in the same order); a filter's
// single output "keep" is a bool scalar.
std::optional<ir::Graph> elaboratePipelineFunction(const LoadedProgram& program, const PipelineStep& step,
                                                   const std::vector<FieldType>& fields, uint64_t seed,
                                                   const SourceManager& sources, DiagnosticEngine& diags);

enum class JobGraphKind { Training, Validation };

// The job's graph over batches with `fields`: its tensor items evaluated in
// order (training = true for Training), then output "loss" (Training) or one
// scalar output per validate metric (Validation).
std::optional<ir::Graph> elaborateJobGraph(const LoadedProgram& program, const JobSpec& job,
                                           const std::vector<FieldType>& fields, JobGraphKind kind,
                                           const SourceManager& sources, DiagnosticEngine& diags);

} // namespace bdl::sema
