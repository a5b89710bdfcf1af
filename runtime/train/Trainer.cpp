#include "runtime/train/Trainer.h"

#include "compiler/exec/SpecializedExecutables.h"
#include "runtime/data/DataError.h"
#include "runtime/optim/GradClip.h"
#include "runtime/optim/OptimizerState.h"
#include "runtime/train/ParameterStore.h"
#include "runtime/train/TrainError.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <numeric>

namespace bdl::train {

namespace {

// stop = loss < v compares the mean of this many recent batch losses, so one
// lucky batch does not end a job.
constexpr size_t kLossWindow = 10;

using Clock = std::chrono::steady_clock;

void addWaits(std::optional<data::PrefetchStats>& total, const data::PrefetchStats& more) {
  data::PrefetchStats& t = total.emplace(total.value_or(data::PrefetchStats{}));
  t.delivered += more.delivered;
  t.waited += more.waited;
  t.waitSeconds += more.waitSeconds;
}

int64_t rowsOf(const Record& batch) {
  if (batch.fields().empty()) return 0;
  const Shape& s = batch.fields().front().second.shape();
  return s.empty() ? 1 : s[0];
}

// The job's graph compiled for a batch of `rows` (the last batch of an
// epoch is often smaller).
exec::Executable& forRows(exec::SpecializedExecutables& exes, int64_t rows) {
  ir::Expected<exec::Executable*> exe = exes.get({{"N", rows}});
  if (!exe) throw TrainError(fmt::format("cannot compile the job's graph for a batch of {}: {}", rows, exe.error().message));
  return **exe;
}

} // namespace

struct Trainer::State {
  TrainInputs in;
  TrainSettings cfg;
  Reporter& reporter;
  ParameterStore store;
  std::unique_ptr<ParameterSync> sync;
  exec::SpecializedExecutables trainExes;
  std::optional<exec::SpecializedExecutables> validationExes;
  std::vector<float> grads;

  // Where training is.
  int64_t epoch = 0;          // the epoch in progress, or the next one
  int64_t iteration = 0;      // optimizer steps completed
  int64_t epochIteration = 0; // steps completed in `epoch`
  bool epochOpen = false;     // the pipeline is inside `epoch`
  std::deque<double> recentLosses;
  std::optional<int64_t> iterationsPerEpoch;
  double lastLoss = 0;
  double lastLr = 0;
  std::optional<ValidationReport> lastValidation;
  std::string lastCheckpoint;

  State(TrainInputs inputs, TrainSettings settings, Reporter& r)
      : in(std::move(inputs)), cfg(std::move(settings)), reporter(r), store(in.trainingGraph, cfg.seed),
        trainExes(in.trainingGraph, cfg.engine) {
    if (in.validationGraph) validationExes.emplace(*in.validationGraph, cfg.engine);
    ClipRule clip;
    clip.kind = cfg.clip == TrainSettings::Clip::Norm    ? ClipRule::Kind::Norm
                : cfg.clip == TrainSettings::Clip::Value ? ClipRule::Kind::Value
                                                         : ClipRule::Kind::None;
    clip.limit = cfg.clipLimit;
    sync = in.makeSync ? in.makeSync(cfg.optimizer, clip, store.flat().size())
                       : makeLocalSync(cfg.optimizer, clip, store.flat().size());
    grads.resize(store.flat().size());
    // A checkpoint directory that cannot be made fails now, not after an
    // epoch; what a killed run left half-done there goes now too, even if
    // this run ends without writing.
    if (!cfg.checkpointDir.empty() && sync->rank() == 0) prepareCheckpointRoot(cfg.checkpointDir);
    iterationsPerEpoch = in.trainData->epochLength();
  }

  double learningRate() const {
    optim::TrainingPosition at{iteration, epoch, iterationsPerEpoch.value_or(1)};
    return optim::learningRate(cfg.schedule, cfg.optimizer.lr, at);
  }

  std::optional<int64_t> totalIterations() const {
    if (cfg.stop == TrainSettings::Stop::Iterations) return cfg.stopCount;
    if (cfg.stop == TrainSettings::Stop::Epochs && iterationsPerEpoch) return cfg.stopCount * *iterationsPerEpoch;
    return std::nullopt;
  }

  bool due(const Period& p, bool atEpochEnd) const {
    if (p.count <= 0) return false;
    if (p.epochs) return atEpochEnd && (epoch + 1) % p.count == 0;
    return !atEpochEnd && iteration % p.count == 0;
  }

  // One optimizer step on `batch`; returns the batch's loss. `stop`: in,
  // this process wants to stop; out, some worker does.
  double step(const Record& batch, bool& stop) {
    int64_t rows = rowsOf(batch);
    double lr = learningRate();
    double loss = 0, weight = 0;
    if (rows > 0) {
      interp::Feeds feeds;
      for (const auto& [name, value] : batch.fields()) feeds[name] = value;
      store.addFeeds(feeds);
      exec::Executable& exe = forRows(trainExes, rows);
      ir::Expected<interp::RunResult> r = exe.run(feeds);
      if (!r) throw TrainError(fmt::format("iteration {}: {}", iteration + 1, r.error().message));
      loss = static_cast<double>(r->outputs.at("loss").span<float>()[0]);
      store.gatherGradients(r->outputs, grads);
      store.applyStateUpdates(r->stateUpdates);
      // A worker's mean loss covers its share of the global batch; weighting
      // by the share makes the summed gradient the global batch's mean.
      weight = batch.globalBatchSize > 0 ? static_cast<double>(rows) / static_cast<double>(batch.globalBatchSize) : 1.0;
      if (weight != 1.0) optim::scaleInPlace(grads, weight);
    } else {
      std::fill(grads.begin(), grads.end(), 0.0f);
    }
    loss = sync->step(store.flat(), grads, loss * weight, lr, stop);
    if (!std::isfinite(loss))
      throw TrainError(fmt::format("the loss became {} at iteration {} (epoch {})", loss, iteration + 1, epoch + 1),
                       "lower the learning rate, or clip gradients: clip = clip_norm(1.0)");
    lastLr = lr;
    ++iteration;
    ++epochIteration;
    recentLosses.push_back(loss);
    if (recentLosses.size() > kLossWindow) recentLosses.pop_front();
    return loss;
  }

  bool lossLowEnough() const {
    if (cfg.stop != TrainSettings::Stop::LossBelow || recentLosses.empty()) return false;
    double mean = std::accumulate(recentLosses.begin(), recentLosses.end(), 0.0) / static_cast<double>(recentLosses.size());
    return mean < cfg.stopLoss;
  }

  nlohmann::json stateJson() const {
    nlohmann::json j;
    j["format"] = 1;
    j["job"] = cfg.jobName;
    j["epoch"] = epoch;
    j["iteration"] = iteration;
    j["epoch_iteration"] = epochIteration;
    j["epoch_open"] = epochOpen;
    j["pipeline"] = epochOpen ? in.trainData->position() : nlohmann::json();
    j["learning_rate"] = learningRate();
    j["recent_losses"] = std::vector<double>(recentLosses.begin(), recentLosses.end());
    j["seed"] = cfg.seed;
    j["program_hash"] = cfg.programHash;
    j["bdlc_version"] = cfg.version;
    j["world_size"] = sync->worldSize();
    nlohmann::json layout = nlohmann::json::array();
    for (const ParameterSlot& s : store.slots()) layout.push_back({{"name", s.name}, {"offset", s.offset}, {"count", s.count}});
    j["flat_layout"] = layout;
    return j;
  }

  void checkpoint() {
    if (cfg.checkpointDir.empty()) return;
    // Every worker takes part in gathering the optimizer's shards; the
    // first writes the whole checkpoint, so it is committed only with every
    // shard in it.
    optim::OptimizerState full = sync->fullState();
    if (sync->rank() != 0) return;
    CheckpointContents c;
    c.params = store.named();
    c.optimizer = optim::stateToTensors(full);
    c.state = stateJson();
    lastCheckpoint = writeCheckpoint(cfg.checkpointDir, iteration, c, cfg.keep);
    reporter.checkpointed(lastCheckpoint);
  }
};

Trainer::Trainer(TrainInputs inputs, TrainSettings settings, Reporter& reporter)
    : s_(std::make_unique<State>(std::move(inputs), std::move(settings), reporter)) {}

Trainer::~Trainer() = default;

void Trainer::resumeFrom(const std::string& dir) {
  State& s = *s_;
  CheckpointContents c = readCheckpoint(dir);
  const nlohmann::json& j = c.state;
  try {
    if (j.value("job", "") != s.cfg.jobName)
      throw TrainError(fmt::format("checkpoint {} belongs to job '{}', not '{}'", dir, j.value("job", ""), s.cfg.jobName));
    if (j.value("program_hash", "") != s.cfg.programHash)
      s.reporter.warning(fmt::format("checkpoint {} was written by a different version of the program; "
                                     "parameters are restored by name",
                                     dir));
    s.store.restore(c.params);
    auto state = optim::stateFromTensors(s.cfg.optimizer, static_cast<int64_t>(s.store.flat().size()), c.optimizer);
    if (!state) throw TrainError(fmt::format("checkpoint {}: optimizer.npz: {}", dir, state.message()));
    s.sync->restoreFullState(state.value());
    s.epoch = j.at("epoch").get<int64_t>();
    s.iteration = j.at("iteration").get<int64_t>();
    s.epochIteration = j.at("epoch_iteration").get<int64_t>();
    s.epochOpen = j.at("epoch_open").get<bool>();
    s.recentLosses.clear();
    for (double l : j.at("recent_losses")) s.recentLosses.push_back(l);
    if (!s.recentLosses.empty()) s.lastLoss = s.recentLosses.back();
    if (s.epochOpen) s.in.trainData->restore(j.at("pipeline"));
  } catch (const nlohmann::json::exception& e) {
    throw TrainError(fmt::format("checkpoint {}: state.json: {}", dir, e.what()));
  }
  s.lastCheckpoint = dir;
  s.reporter.resumed(dir, s.iteration);
}

ValidationReport Trainer::validate() {
  State& s = *s_;
  if (!s.in.validationGraph || !s.in.validationData)
    throw TrainError(fmt::format("job '{}' has no validate clause", s.cfg.jobName),
                     "validate = Test() every 1 epoch with [accuracy(logits, label), loss]");
  data::Pipeline* data = s.in.validationData.get();
  data->startEpoch(0);
  std::vector<double> sums(s.cfg.metrics.size(), 0.0);
  int64_t samples = 0;
  interp::Feeds feeds;
  s.store.addFeeds(feeds);
  while (std::optional<Record> batch = data->next()) {
    int64_t rows = rowsOf(*batch);
    if (rows == 0) continue;
    for (const auto& [name, value] : batch->fields()) feeds[name] = value;
    ir::Expected<interp::RunResult> r = forRows(*s.validationExes, rows).run(feeds);
    if (!r) throw TrainError(fmt::format("validation: {}", r.error().message));
    // Every metric is a mean over its batch: weight by rows for the mean over all.
    for (size_t i = 0; i < sums.size(); ++i)
      sums[i] += static_cast<double>(r->outputs.at(s.cfg.metrics[i]).span<float>()[0]) * static_cast<double>(rows);
    samples += rows;
  }
  ValidationReport v;
  v.epoch = s.epoch;
  v.iteration = s.iteration;
  v.samples = samples;
  for (size_t i = 0; i < sums.size(); ++i)
    v.metrics.emplace_back(s.cfg.metrics[i], samples > 0 ? sums[i] / static_cast<double>(samples) : std::nan(""));
  s.lastValidation = v;
  return v;
}

NamedTensors Trainer::parameters() const { return s_->store.named(); }

TrainSummary Trainer::run() {
  State& s = *s_;
  s.reporter.started(s.in.trainData->describe());
  Clock::time_point start = Clock::now();
  int64_t samplesSeen = 0;
  auto report = [&](double loss, int64_t samples) {
    StepReport r;
    r.epoch = s.epoch;
    r.iteration = s.iteration;
    r.epochIteration = s.epochIteration;
    r.iterationsPerEpoch = s.iterationsPerEpoch;
    r.totalIterations = s.totalIterations();
    r.loss = loss;
    r.lr = s.lastLr;
    r.samples = samples;
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    r.samplesPerSecond = r.seconds > 0 ? static_cast<double>(samplesSeen) / r.seconds : 0;
    return r;
  };
  auto finished = [&] {
    switch (s.cfg.stop) {
    case TrainSettings::Stop::Epochs: return s.epoch >= s.cfg.stopCount;
    case TrainSettings::Stop::Iterations: return s.iteration >= s.cfg.stopCount;
    case TrainSettings::Stop::LossBelow: return s.lossLowEnough();
    }
    return true;
  };
  bool stop = finished();
  int64_t firstIteration = s.iteration;
  std::optional<data::PrefetchStats> waits;
  while (!stop) {
    if (!s.epochOpen) {
      // Prefetch statistics restart with each epoch: keep the earlier ones
      // of this run (not the batch read ahead of it to learn the types).
      std::optional<data::PrefetchStats> w;
      if (s.iteration > firstIteration) w = s.in.trainData->prefetchStats();
      if (w) addWaits(waits, *w);
      s.in.trainData->startEpoch(s.epoch);
      s.epochOpen = true;
      s.epochIteration = 0;
    }
    bool epochEnded = false;
    while (!stop) {
      std::optional<Record> batch = s.in.trainData->next();
      if (!batch) {
        epochEnded = true;
        break;
      }
      int64_t samples = batch->globalBatchSize > 0 ? batch->globalBatchSize : rowsOf(*batch);
      bool stopVote = stopRequested_;
      s.lastLoss = s.step(*batch, stopVote);
      samplesSeen += samples;
      s.reporter.step(report(s.lastLoss, samples));
      // Workers stop together at the step that carries a vote; one process
      // alone also stops right after the step during which it was asked
      // (from the reporter: the embedding API's callback).
      stopped_ = stopped_ || stopVote || (stopRequested_ && s.sync->worldSize() == 1);
      stop = finished() || stopped_;
      if (s.due(s.cfg.validateEvery, false) && s.in.validationGraph) s.reporter.validated(validate());
      if (s.due(s.cfg.checkpointEvery, false) && !stop) s.checkpoint();
    }
    if (!epochEnded) break;
    if (s.epochIteration == 0)
      throw TrainError(fmt::format("the training data gave no batch in epoch {}", s.epoch + 1),
                       "check the pipeline's source and its take/skip/filter stages");
    if (!s.iterationsPerEpoch) s.iterationsPerEpoch = s.epochIteration;
    s.reporter.epochEnded(report(s.lastLoss, 0));
    if (s.due(s.cfg.validateEvery, true) && s.in.validationGraph) s.reporter.validated(validate());
    bool checkpointDue = s.due(s.cfg.checkpointEvery, true);
    ++s.epoch;
    s.epochOpen = false;
    stop = finished() || stopped_;
    if (checkpointDue && !stop) s.checkpoint();
  }
  // The end state is always kept when the job checkpoints at all (a job
  // resumed at its end has it already).
  if (s.iteration > firstIteration || s.lastCheckpoint.empty()) s.checkpoint();
  // A run killed while pruning left more than `keep`; resumed at its end
  // it writes nothing, so it finishes that pruning here.
  else if (!s.cfg.checkpointDir.empty() && s.sync->rank() == 0) pruneCheckpoints(s.cfg.checkpointDir, s.cfg.keep);
  TrainSummary sum;
  sum.epochs = s.epoch;
  if (s.epochOpen && s.iterationsPerEpoch && *s.iterationsPerEpoch > 0)
    sum.epochFraction = static_cast<double>(s.epoch) +
                        static_cast<double>(s.epochIteration) / static_cast<double>(*s.iterationsPerEpoch);
  sum.iterations = s.iteration;
  sum.lastLoss = s.lastLoss;
  sum.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sum.samplesPerSecond = sum.seconds > 0 ? static_cast<double>(samplesSeen) / sum.seconds : 0;
  sum.lastValidation = s.lastValidation;
  sum.lastCheckpoint = s.lastCheckpoint;
  sum.iterationsThisRun = s.iteration - firstIteration;
  if (std::optional<data::PrefetchStats> last = s.in.trainData->prefetchStats()) addWaits(waits, *last);
  sum.dataWaits = waits;
  return sum;
}

NamedTensors checkpointParameters(const std::string& dir) { return readCheckpoint(dir).params; }

} // namespace bdl::train
