// train, eval and predict: the commands that run a job or a model on data.
#include "tools/bdlc/Commands.h"
#include "tools/bdlc/ConsoleReporter.h"
#include "tools/bdlc/Version.h"

#include "compiler/driver/JobBuilder.h"
#include "compiler/exec/SpecializedExecutables.h"
#include "compiler/passes/DeadCode.h"
#include "compiler/sema/Elaborate.h"
#include "compiler/sema/ModuleLoader.h"
#include "runtime/data/DataError.h"
#include "runtime/data/Npy.h"
#include "runtime/data/Npz.h"
#include "runtime/dist/Communicator.h"
#include "runtime/dist/DistError.h"
#include "runtime/dist/LaunchEnv.h"
#include "runtime/train/DistSync.h"
#include "runtime/train/Sha256.h"
#include "runtime/train/TrainError.h"

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace bdl::cli {

namespace {

constexpr int kInterrupted = 130;

train::Trainer* volatile gRunning = nullptr;
volatile sig_atomic_t gSignal = 0;

void onSignal(int sig) {
  gSignal = sig;
  if (train::Trainer* t = gRunning) t->requestStop();
}

// Ctrl-C finishes the current iteration and writes a checkpoint; a second
// one kills at once.
struct StopOnSignal {
  explicit StopOnSignal(train::Trainer& t) {
    gRunning = &t;
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, &oldInt_);
    sigaction(SIGTERM, &sa, &oldTerm_);
  }
  ~StopOnSignal() {
    gRunning = nullptr;
    sigaction(SIGINT, &oldInt_, nullptr);
    sigaction(SIGTERM, &oldTerm_, nullptr);
  }
  struct sigaction oldInt_ {}, oldTerm_ {};
};

exec::EngineOptions engineOptions(const RunOptions& run) {
  exec::EngineOptions e;
  e.engine = *exec::engineFromName(run.engine);
  e.threads = exec::threadsFor(run.threads);
  e.fusion = !run.noFusion;
  e.checkAgainstReference = run.checkJit;
  return e;
}

void printError(const std::string& message, const std::string& hint = {}) {
  std::fprintf(stderr, "bdlc: error: %s\n", message.c_str());
  if (!hint.empty()) std::fprintf(stderr, "hint: %s\n", hint.c_str());
}

// Runs `body`, turning the errors a user can cause at run time into messages
// and exit code 1; anything else is an internal error for main().
template <typename F> int reportingRunErrors(DiagnosticEngine& diags, const CommonOptions& options, F&& body) {
  try {
    return body();
  } catch (const DataError& e) {
    std::fprintf(stderr, "%s: error: %s\n", e.file().empty() ? "bdlc" : e.file().c_str(), e.detail().c_str());
  } catch (const train::TrainError& e) {
    printError(e.what(), e.hint());
  } catch (const dist::DistError& e) {
    printError(e.what());
  } catch (const driver::FunctionCompileError& e) {
    printDiagnostics(diags, options);
    if (!diags.hasErrors()) printError(e.what());
    return kUserError;
  }
  if (diags.hasErrors()) printDiagnostics(diags, options);
  return kUserError;
}

// Loads `file` and runs `body(program, sources, diags)`, turning what the
// user can get wrong into messages and exit code 1.
template <typename F> int withLoadedProgram(const std::string& file, const CommonOptions& options, F&& body) {
  SourceManager sources;
  DiagnosticEngine diags(sources, options.errorLimit);
  return reportingRunErrors(diags, options, [&]() -> int {
    LoadedProgram program;
    if (!loadProgram(file, ModuleSearchPaths::fromEnvironment(), sources, diags, program)) {
      printDiagnostics(diags, options);
      return kUserError;
    }
    return body(program, sources, diags);
  });
}

// The checkpoint `path` names, warning about unsound ones passed over.
std::string resolveCheckpointWarning(const std::string& path) {
  std::vector<std::string> skipped;
  std::string dir = train::resolveCheckpoint(path, &skipped);
  for (const std::string& s : skipped) std::fprintf(stderr, "bdlc: warning: skipping unsound checkpoint %s\n", s.c_str());
  return dir;
}

driver::JobOptions jobOptionsOf(const std::string& job, const RunOptions& run) {
  driver::JobOptions o;
  o.job = job;
  o.engine = engineOptions(run);
  o.version = kVersion;
  return o;
}

} // namespace

int runTrain(const TrainOptions& opts, const CommonOptions& options) {
  return withLoadedProgram(opts.file, options, [&](const LoadedProgram& program, SourceManager& sources,
                                                   DiagnosticEngine& diags) -> int {
    driver::JobOptions jobOptions = jobOptionsOf(opts.job, opts.run);
    jobOptions.epochs = opts.epochs;
    // A worker joins its job before reading any data, so a wrong token or a
    // different program fails at once on every rank.
    std::unique_ptr<dist::Communicator> comm;
    if (opts.worker) {
      dist::LaunchEnv env = dist::detectLaunchEnv({opts.rank, opts.worldSize, opts.coordinator});
      dist::DistConfig cfg;
      dist::applyLaunchEnv(env, cfg);
      std::string hash = driver::programHash(program, sources);
      for (size_t i = 0; i < cfg.programHash.size(); ++i)
        cfg.programHash[i] = static_cast<uint8_t>(std::stoi(hash.substr(2 * i, 2), nullptr, 16));
      cfg.bdlcVersion = kVersion;
      cfg.timeout = std::chrono::seconds(opts.timeoutSeconds);
      // Joining waits for every worker to start (and keeps waiting past a
      // refused intruder); twice the silence timeout, a minute by default.
      cfg.joinTimeout = std::chrono::seconds(std::max(2 * opts.timeoutSeconds, 10));
      if (env.worldSize > 1) {
        comm = std::make_unique<dist::Communicator>(cfg);
        comm->connect();
        // Every rank, and every rerun, must run the same convolution kernels
        // for results to repeat bit for bit; timed choices can differ from
        // rank to rank (BDL_CONV_TIMING=1 times them anyway).
        jobOptions.engine.timeConvolutions = false;
      }
      jobOptions.shard = {env.rank, env.worldSize};
    }
    std::optional<driver::PreparedJob> job = driver::prepareJob(program, sources, diags, jobOptions);
    if (!job) {
      printDiagnostics(diags, options);
      return kUserError;
    }
    if (comm) {
      dist::Communicator* c = comm.get();
      job->inputs.makeSync = [c](const optim::OptimizerConfig& config, train::ClipRule clip, size_t n) {
        return train::makeDistSync(*c, config, clip, n);
      };
    }
    std::string resumeFrom;
    if (!opts.resume.empty()) resumeFrom = resolveCheckpointWarning(opts.resume);
    // Rank 0 speaks for the job; the others only warn.
    bool speaks = jobOptions.shard.rank == 0;
    ConsoleReporter console(job->settings.jobName, speaks ? opts.metrics : std::string(), isatty(fileno(stdout)) != 0);
    train::Reporter silent;
    train::Reporter& reporter = speaks ? static_cast<train::Reporter&>(console) : silent;
    train::Trainer trainer(std::move(job->inputs), job->settings, reporter);
    if (!resumeFrom.empty()) trainer.resumeFrom(resumeFrom);
    StopOnSignal guard(trainer);
    train::TrainSummary summary = trainer.run();
    if (speaks) console.summary(summary);
    if (trainer.stoppedEarly()) {
      std::fprintf(stderr, "bdlc: stopped %s after iteration %lld%s\n",
                   gSignal ? fmt::format("by {}", strsignal(gSignal)).c_str() : "as another worker asked",
                   static_cast<long long>(summary.iterations),
                   summary.lastCheckpoint.empty()
                       ? ""
                       : fmt::format("; continue with --resume {}", job->settings.checkpointDir).c_str());
      return gSignal ? 128 + gSignal : kInterrupted;
    }
    return kSuccess;
  });
}

int runEval(const EvalOptions& opts, const CommonOptions& options) {
  return withLoadedProgram(opts.file, options, [&](const LoadedProgram& program, SourceManager& sources,
                                                   DiagnosticEngine& diags) -> int {
    std::optional<driver::PreparedJob> job =
        driver::prepareJob(program, sources, diags, jobOptionsOf(opts.job, opts.run));
    if (!job) {
      printDiagnostics(diags, options);
      return kUserError;
    }
    if (!job->spec.validate) {
      printError(fmt::format("job '{}' has no validate clause, so there is nothing to evaluate", job->spec.name),
                 "add: validate = Test() every 1 epoch with [accuracy(logits, label), loss]");
      return kUserError;
    }
    std::string dir = resolveCheckpointWarning(opts.checkpoint);
    train::Reporter quiet;
    train::Trainer trainer(std::move(job->inputs), job->settings, quiet);
    trainer.resumeFrom(dir);
    train::ValidationReport r = trainer.validate();
    std::printf("%s on %s samples, checkpoint %s\n", job->spec.name.c_str(),
                withThousands(static_cast<double>(r.samples)).c_str(), dir.c_str());
    for (const auto& [name, value] : r.metrics) std::printf("  %-10s %.4f\n", name.c_str(), value);
    return kSuccess;
  });
}

int runPredict(const PredictOptions& opts, const CommonOptions& options) {
  return withLoadedProgram(opts.file, options, [&](const LoadedProgram& program, SourceManager& sources,
                                                   DiagnosticEngine& diags) -> int {
    sema::ModelRef ref = sema::findModel(program, opts.model, diags);
    std::optional<ir::Graph> model;
    if (ref.decl) model = sema::elaborateModel(program, ref, {false, 0}, sources, diags);
    if (!model) {
      printDiagnostics(diags, options);
      return kUserError;
    }
    ir::Graph graph = passes::eliminateDeadCode(*model);
    std::vector<ir::ValueId> inputs = graph.leaves(ir::OpKind::Input);
    if (inputs.size() != 1) {
      printError(fmt::format("model '{}' takes {} inputs; predict feeds exactly one", opts.model, inputs.size()));
      return kUserError;
    }
    const ir::Node& input = graph.node(inputs[0]);
    Tensor x = readNpy(opts.input);
    if (x.dtype() == DType::F64 && input.type.dtype == DType::F32) { // NumPy's default float
      Tensor f(DType::F32, x.shape());
      for (int64_t i = 0; i < x.numel(); ++i) f.data<float>()[i] = static_cast<float>(x.data<double>()[i]);
      x = f;
    }
    // The input's dims after the batch dimension must match exactly.
    const ir::TensorType& want = input.type;
    bool fits = x.dtype() == want.dtype && x.shape().size() == want.dims.size() && !x.shape().empty();
    for (size_t i = 1; fits && i < want.dims.size(); ++i)
      fits = want.dims[i].isConcrete() && want.dims[i].value == x.shape()[i];
    if (!fits || want.dims[0].isConcrete()) {
      if (fits && want.dims[0].value != x.shape()[0]) fits = false;
    }
    if (!fits) {
      printError(fmt::format("{} holds {}{} but model '{}' takes {}: {}", opts.input, dtypeName(x.dtype()),
                             shapeToString(x.shape()), opts.model, input.name, want.toString()));
      return kUserError;
    }
    if (x.shape()[0] == 0) {
      printError(fmt::format("{} has no rows to predict", opts.input));
      return kUserError;
    }
    std::string dir = resolveCheckpointWarning(opts.checkpoint);
    interp::Feeds feeds;
    for (auto& [name, value] : train::checkpointParameters(dir)) feeds[name] = std::move(value);
    for (ir::OpKind kind : {ir::OpKind::Parameter, ir::OpKind::State})
      for (ir::ValueId id : graph.leaves(kind))
        if (!feeds.count(graph.node(id).name))
          throw train::TrainError(fmt::format("checkpoint {} has no value for '{}' of model '{}'", dir,
                                              graph.node(id).name, opts.model));
    // Rows in chunks of --batch; one compiled graph per chunk size.
    int64_t rows = x.shape()[0];
    int64_t rowElems = rows ? x.numel() / rows : 0;
    std::string inputName = input.name;
    std::string batchSymbol = want.dims[0].isSymbolic() ? want.dims[0].symbol : std::string();
    exec::SpecializedExecutables exes(std::move(graph), engineOptions(opts.run));
    std::map<std::string, std::vector<Tensor>> pieces;
    for (int64_t start = 0; start < rows; start += opts.batch) {
      int64_t n = std::min(opts.batch, rows - start);
      std::map<std::string, int64_t> sizes;
      if (!batchSymbol.empty()) sizes[batchSymbol] = n;
      ir::Expected<exec::Executable*> exe = exes.get(sizes);
      if (!exe) throw train::TrainError(exe.error().message);
      Shape chunkShape = x.shape();
      chunkShape[0] = n;
      feeds[inputName] = x.view(start * rowElems, chunkShape);
      ir::Expected<interp::RunResult> r = (*exe)->run(feeds);
      if (!r) throw train::TrainError(r.error().message);
      for (auto& [name, value] : r->outputs) pieces[name].push_back(std::move(value));
    }
    // Stack the chunks back together, output by output.
    std::vector<std::pair<std::string, Tensor>> results;
    for (auto& [name, parts] : pieces) {
      Shape shape = parts.front().shape();
      shape[0] = rows;
      Tensor all(parts.front().dtype(), shape);
      size_t offset = 0;
      for (const Tensor& p : parts) {
        std::memcpy(static_cast<char*>(all.rawData()) + offset, p.rawData(), p.bytes());
        offset += p.bytes();
      }
      results.emplace_back(name, std::move(all));
    }
    if (results.size() == 1) writeNpy(opts.output, results.front().second);
    else writeNpz(opts.output, results);
    std::printf("wrote %s: %s%s for %lld rows\n", opts.output.c_str(), dtypeName(results.front().second.dtype()).data(),
                shapeToString(results.front().second.shape()).c_str(), static_cast<long long>(rows));
    return kSuccess;
  });
}

} // namespace bdl::cli
