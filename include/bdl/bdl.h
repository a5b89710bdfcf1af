// bdl's embedding API: compile BDL source, inspect its models, initialise
// their parameters and run them, from your own C++ program.
//
//   #include <bdl/bdl.h>
//
//   bdl::Result<bdl::Program> program = bdl::Program::compileFile("mlp.bdl");
//   if (!program) { std::fputs(program.error().rendered.c_str(), stderr); return 1; }
//   bdl::Result<bdl::Model> mlp = program->model("MLP");
//   bdl::TensorMap params = mlp->initialize(/*seed=*/42);       // by full name: "h1.W", ...
//   bdl::Tensor x(bdl::DType::F32, {32, 784});                   // a batch of 32
//   bdl::Result<bdl::TensorMap> out = mlp->forward({{"x", x}}, params);
//   const bdl::Tensor& logits = out->at("out");                  // f32[32, 10]
//
// A `train` job of the file runs as `bdlc train` runs it (its data, optimizer,
// stop rule, validation and checkpoints), on the calling thread:
//
//   bdl::TrainOptions how;
//   how.onStep = [](const bdl::TrainProgress& p) { return p.loss > 0.05; }; // false: stop
//   bdl::Result<bdl::TrainResult> run = program->train(how);
//   const bdl::TensorMap& trained = run->parameters;              // feed to forward()
//
// Nothing here aborts the host process or throws for bad input: every
// failure comes back as an Error holding located diagnostics.
#pragma once

#include "bdl/Result.h"
#include "bdl/Tensor.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bdl {

using TensorMap = std::map<std::string, Tensor>;

struct CompileOptions {
  std::vector<std::string> modulePaths; // searched first for imports (like BDL_PATH)
  std::string stdlibDir;                // empty: beside the executable, else the source tree's
  bool color = false;                   // ANSI colour in Error::rendered
  size_t errorLimit = 20;               // stop reporting after this many errors (0: no limit)
  // How models run: "jit" (fused LLVM and oneDNN kernels, compiled once per
  // batch size and kept) or "reference" (the interpreter, the oracle).
  std::string engine = "jit";
  int threads = 0; // kernel threads; 0: every core
};

struct ParameterInfo {
  std::string name; // full instance path, e.g. "h1.W"
  DType dtype = DType::F32;
  Shape shape;
  int64_t count = 0;
  bool trainable = true; // false for `state` (running statistics)
};

struct InputInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::string> dims; // "N", "784": symbolic dimensions are names
};

// After every optimizer step of Program::train.
struct TrainProgress {
  int64_t epoch = 0;     // the epoch in progress, from 0
  int64_t iteration = 0; // optimizer steps completed
  double loss = 0;       // this step's loss
  double samplesPerSecond = 0;
};

struct TrainOptions {
  std::string job;               // empty: the program's only train job
  std::optional<int64_t> epochs; // instead of the job's stop clause
  // A checkpoint directory, or a job's checkpoint root (its newest sound
  // checkpoint), to continue from; empty: start afresh.
  std::string resumeFrom;
  // Called on the training thread after every step; returning false stops
  // training after that step (writing a checkpoint if the job has a
  // checkpoint clause), and TrainResult::stoppedEarly says so.
  std::function<bool(const TrainProgress&)> onStep;
};

struct TrainResult {
  int64_t epochs = 0;     // completed ones
  int64_t iterations = 0; // optimizer steps, counting those before a resume
  double lastLoss = 0;
  double seconds = 0; // this run's
  bool stoppedEarly = false;
  std::vector<std::pair<std::string, double>> validation; // the last validation's metrics, if any
  std::string lastCheckpoint;                             // empty: none written
  std::vector<std::string> warnings;                      // e.g. unsound checkpoints passed over
  TensorMap parameters; // every parameter and state after training, by full name
};

class Model;

class Program {
public:
  // Parses, resolves imports and checks every model of the file.
  static Result<Program> compileFile(const std::string& path, const CompileOptions& options = {});
  static Result<Program> compileString(const std::string& name, const std::string& source,
                                       const CompileOptions& options = {});

  std::vector<std::string> models() const; // in source order
  Result<Model> model(const std::string& name) const;

  // Runs a train job of the file with the engine and threads of the
  // CompileOptions. Data paths are read as `bdlc train` reads them. Bad data
  // files, a bad checkpoint and a loss that turns NaN are UserInput errors.
  Result<TrainResult> train(const TrainOptions& options = {}) const;

  struct Impl;

private:
  std::shared_ptr<const Impl> impl_;
};

class Model {
public:
  const std::string& name() const;
  std::vector<InputInfo> inputs() const;
  std::vector<ParameterInfo> parameters() const; // trainable first, then state
  int64_t parameterCount() const;                 // trainable elements only

  // Initial values of every parameter and state; each depends only on the
  // seed and the parameter's full name.
  TensorMap initialize(uint64_t seed) const;

  // Runs the model with training = false. `inputs` by input name; `params`
  // holds every parameter and state. Returns the outputs ("out", or "out0",
  // "out1", ... for several results).
  Result<TensorMap> forward(const TensorMap& inputs, const TensorMap& params) const;

  struct Gradients {
    double loss = 0;
    TensorMap gradients; // by parameter name
    TensorMap outputs;   // the model's outputs
  };
  // Runs the model with training = true, adds `loss` ("cross_entropy" with an
  // i64 input "labels", or "mse" with an input "target" shaped like the
  // output) and returns the gradient of every parameter.
  Result<Gradients> gradients(const TensorMap& inputs, const TensorMap& params,
                              const std::string& loss = "cross_entropy") const;

  struct Impl;

private:
  friend class Program;
  std::shared_ptr<const Impl> impl_;
};

} // namespace bdl
