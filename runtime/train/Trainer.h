// The training loop of one process (LANGUAGE.md §6): pull a batch, run the
// training graph (loss and every parameter's gradient), clip, step the
// optimizer with the schedule's learning rate, carry state updates over;
// validate and checkpoint on their schedules; stop by epochs, iterations or
// loss. Everything that decides the result (parameters, optimizer state,
// pipeline position, iteration, dropout's step counter) is in the
// checkpoint, so a resumed job gives the same batches and the same losses as
// one that never stopped.
#pragma once

#include "compiler/exec/Executable.h"
#include "runtime/data/Pipeline.h"
#include "runtime/optim/OptimizerConfig.h"
#include "runtime/optim/Schedule.h"
#include "runtime/train/Checkpoint.h"
#include "runtime/train/ParameterSync.h"

#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bdl::train {

struct Period {
  int64_t count = 0; // 0: never
  bool epochs = true;
};

struct TrainSettings {
  std::string jobName;
  optim::OptimizerConfig optimizer;
  optim::Schedule schedule = optim::Schedule::constant();
  enum class Clip { None, Norm, Value } clip = Clip::None;
  double clipLimit = 0;
  enum class Stop { Epochs, Iterations, LossBelow } stop = Stop::Epochs;
  int64_t stopCount = 1;
  double stopLoss = 0;
  Period validateEvery;
  std::vector<std::string> metrics; // the validation graph's outputs, in order
  std::string checkpointDir;        // empty: no checkpoints
  Period checkpointEvery;
  int64_t keep = 0;
  uint64_t seed = 0;
  std::string programHash; // recorded in state.json, compared on resume
  std::string version;     // bdlc's
  exec::EngineOptions engine;
};

// What the loop reports; bdlc prints it (progress line, log, JSONL).
struct StepReport {
  int64_t epoch = 0, iteration = 0; // iteration: completed optimizer steps
  int64_t epochIteration = 0;
  std::optional<int64_t> iterationsPerEpoch;
  std::optional<int64_t> totalIterations; // when the stop rule makes it known
  double loss = 0, lr = 0;
  int64_t samples = 0; // in this step (global batch)
  double seconds = 0;  // since the run (or resume) started
  double samplesPerSecond = 0;
};

struct ValidationReport {
  int64_t epoch = 0, iteration = 0;
  int64_t samples = 0;
  std::vector<std::pair<std::string, double>> metrics;
};

struct TrainSummary {
  int64_t epochs = 0, iterations = 0;      // epochs: completed ones
  int64_t iterationsThisRun = 0;           // 0: the job had already finished (resumed at its end)
  std::optional<double> epochFraction;     // epochs including a partial last one, when known
  double lastLoss = 0, seconds = 0, samplesPerSecond = 0;
  std::optional<ValidationReport> lastValidation;
  std::string lastCheckpoint;
  std::optional<data::PrefetchStats> dataWaits; // how often the loop waited for data
};

class Reporter {
public:
  virtual ~Reporter() = default;
  virtual void started(const std::string& description) {}
  virtual void resumed(const std::string& checkpoint, int64_t iteration) {}
  virtual void step(const StepReport& report) {}
  virtual void epochEnded(const StepReport& report) {}
  virtual void validated(const ValidationReport& report) {}
  virtual void checkpointed(const std::string& path) {}
  virtual void warning(const std::string& message) {}
};

struct TrainInputs {
  ir::Graph trainingGraph;                   // outputs "loss" and "grad:<param>"; symbolic batch "N"
  std::optional<ir::Graph> validationGraph;  // one scalar output per metric; symbolic "N"
  std::unique_ptr<data::Pipeline> trainData;
  std::unique_ptr<data::Pipeline> validationData; // read from its start at every validation
  // How gradients become weights; null: this process alone (makeLocalSync).
  std::function<std::unique_ptr<ParameterSync>(const optim::OptimizerConfig&, ClipRule, size_t paramCount)> makeSync;
};

class Trainer {
public:
  Trainer(TrainInputs inputs, TrainSettings settings, Reporter& reporter);
  ~Trainer();

  // Continues from the checkpoint in `dir` (resolved by the caller).
  void resumeFrom(const std::string& checkpointDir);
  // Trains until the stop rule holds. Throws TrainError, DataError.
  TrainSummary run();
  // Runs the validation graph over the validation data now.
  ValidationReport validate();

  // Asks run() to stop after the current iteration (from a signal handler:
  // only sets a flag). All workers of a job stop at the same iteration.
  void requestStop() { stopRequested_ = true; }
  // Whether run() ended because some worker asked to stop.
  bool stoppedEarly() const { return stopped_; }
  // Every parameter and state as they are now, by full name (copies).
  NamedTensors parameters() const;

private:
  struct State;
  std::unique_ptr<State> s_;
  volatile sig_atomic_t stopRequested_ = 0;
  bool stopped_ = false;
};

// Values of every parameter and state from a checkpoint (for eval/predict).
NamedTensors checkpointParameters(const std::string& checkpointDir);

} // namespace bdl::train
