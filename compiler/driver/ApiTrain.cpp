// Program::train: a train job of the file, run in the host process the way
// `bdlc train` runs it, with progress and stopping through callbacks
// instead of a console and signals.
#include "bdl/bdl.h"

#include "compiler/driver/ApiSupport.h"
#include "compiler/driver/JobBuilder.h"
#include "runtime/data/DataError.h"
#include "runtime/train/Checkpoint.h"
#include "runtime/train/TrainError.h"

#include <fmt/format.h>

namespace bdl {

namespace {

// Hands each step to the caller's callback and stops the trainer when it
// says so; keeps the warnings for the result.
class CallbackReporter : public train::Reporter {
public:
  explicit CallbackReporter(const std::function<bool(const TrainProgress&)>& onStep) : onStep_(onStep) {}
  void attach(train::Trainer& trainer) { trainer_ = &trainer; }

  void step(const train::StepReport& r) override {
    if (!onStep_ || !trainer_) return;
    if (!onStep_(TrainProgress{r.epoch, r.iteration, r.loss, r.samplesPerSecond})) trainer_->requestStop();
  }
  void warning(const std::string& message) override { warnings.push_back(message); }

  std::vector<std::string> warnings;

private:
  const std::function<bool(const TrainProgress&)>& onStep_;
  train::Trainer* trainer_ = nullptr;
};

Result<TrainResult> trainJob(const Program::Impl& impl, const TrainOptions& options) {
  DiagnosticEngine diags(impl.sources, impl.options.errorLimit);
  driver::JobOptions job;
  job.job = options.job;
  job.epochs = options.epochs;
  job.version = BDL_VERSION_STRING;
  std::optional<exec::Engine> engine = exec::engineFromName(impl.options.engine);
  if (!engine) return api::simpleError(fmt::format("unknown engine '{}'; use \"jit\" or \"reference\"", impl.options.engine));
  job.engine.engine = *engine;
  job.engine.threads = exec::threadsFor(impl.options.threads);
  try {
    std::optional<driver::PreparedJob> prepared = driver::prepareJob(impl.program, impl.sources, diags, job);
    if (!prepared) return api::userError(diags, impl.sources, impl.options.color);
    CallbackReporter reporter(options.onStep);
    std::string resumeFrom;
    if (!options.resumeFrom.empty()) {
      std::vector<std::string> skipped;
      resumeFrom = train::resolveCheckpoint(options.resumeFrom, &skipped);
      for (const std::string& s : skipped) reporter.warnings.push_back("skipping unsound checkpoint " + s);
    }
    train::Trainer trainer(std::move(prepared->inputs), prepared->settings, reporter);
    reporter.attach(trainer);
    if (!resumeFrom.empty()) trainer.resumeFrom(resumeFrom);
    train::TrainSummary summary = trainer.run();
    TrainResult r;
    r.epochs = summary.epochs;
    r.iterations = summary.iterations;
    r.lastLoss = summary.lastLoss;
    r.seconds = summary.seconds;
    r.stoppedEarly = trainer.stoppedEarly();
    if (summary.lastValidation) r.validation = summary.lastValidation->metrics;
    r.lastCheckpoint = summary.lastCheckpoint;
    r.warnings = std::move(reporter.warnings);
    for (auto& [name, value] : trainer.parameters()) r.parameters[name] = std::move(value);
    return r;
  } catch (const DataError& e) {
    return api::simpleError(fmt::format("{}: {}", e.file().empty() ? "data" : e.file(), e.detail()));
  } catch (const train::TrainError& e) {
    return api::simpleError(e.hint().empty() ? std::string(e.what()) : fmt::format("{} (hint: {})", e.what(), e.hint()));
  } catch (const driver::FunctionCompileError& e) {
    if (diags.hasErrors()) return api::userError(diags, impl.sources, impl.options.color);
    return api::simpleError(e.what());
  }
}

} // namespace

Result<TrainResult> Program::train(const TrainOptions& options) const {
  return api::guarded<TrainResult>([&]() -> Result<TrainResult> {
    if (!impl_) return api::simpleError("the program was not compiled");
    return trainJob(*impl_, options);
  });
}

} // namespace bdl
