// bdlc train --workers W: starts W `bdlc worker` processes on this machine
// and restarts the job from its newest checkpoint when a worker fails
// (--max-restarts).
#include "tools/bdlc/Commands.h"

#include "compiler/exec/Executable.h"
#include "compiler/sema/Job.h"
#include "compiler/sema/ModuleLoader.h"
#include "runtime/dist/LocalLauncher.h"
#include "runtime/train/Checkpoint.h"
#include "runtime/train/TrainError.h"

#include <fmt/format.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace bdl::cli {

namespace {

dist::LocalLauncher* volatile gLauncher = nullptr;

// Ctrl-C: the workers get SIGTERM, agree to stop after the same iteration,
// write a checkpoint and exit; the launcher waits for them.
void onSignal(int) {
  if (dist::LocalLauncher* l = gLauncher) l->requestStop();
}

std::string selfPath(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return argv0;
  return std::string(buf, static_cast<size_t>(n));
}

// The job's checkpoint directory, without reading any data; empty when the
// job has none (or does not describe: the workers will report why).
std::string checkpointDirOf(const TrainOptions& opts, const CommonOptions& options) {
  SourceManager sources;
  DiagnosticEngine diags(sources, options.errorLimit);
  LoadedProgram program;
  if (!loadProgram(opts.file, ModuleSearchPaths::fromEnvironment(), sources, diags, program)) return {};
  std::optional<sema::JobSpec> job = sema::describeJob(program, opts.job, sources, diags);
  return job && job->checkpoint ? job->checkpoint->dir : std::string();
}

} // namespace

int runLocalJob(const TrainOptions& opts, const CommonOptions& options, const char* self) {
  dist::LocalLaunchOptions launch;
  launch.workers = opts.workers;
  launch.maxRestarts = opts.maxRestarts;
  // The machine's cores shared out over the workers.
  int threads = opts.run.threads > 0 ? opts.run.threads : std::max(1, exec::threadsFor(0) / opts.workers);
  std::vector<std::string>& argv = launch.argv;
  argv = {selfPath(self), "--color", options.color, "worker", opts.file, "--engine", opts.run.engine, "--threads",
          std::to_string(threads), "--timeout", std::to_string(opts.timeoutSeconds)};
  if (!opts.job.empty()) argv.insert(argv.end(), {"--job", opts.job});
  if (opts.epochs) argv.insert(argv.end(), {"--epochs", std::to_string(*opts.epochs)});
  if (!opts.metrics.empty()) argv.insert(argv.end(), {"--metrics", opts.metrics});
  if (opts.run.noFusion) argv.push_back("--no-fusion");
  if (opts.run.checkJit) argv.push_back("--check-jit");
  std::vector<std::string> base = argv;
  if (!opts.resume.empty()) argv.insert(argv.end(), {"--resume", opts.resume});
  std::string checkpoints = opts.maxRestarts > 0 ? checkpointDirOf(opts, options) : std::string();
  launch.beforeRestart = [&](std::vector<std::string>& a, int restart, const dist::RankExit& failure) {
    a = base;
    std::string from = opts.resume;
    if (!checkpoints.empty()) {
      try {
        from = train::resolveCheckpoint(checkpoints);
      } catch (const train::TrainError&) {
        // No checkpoint yet: the job starts over.
      }
    }
    if (!from.empty()) a.insert(a.end(), {"--resume", from});
    std::fprintf(stderr, "bdlc: %s; restart %d of %d%s\n", failure.describe().c_str(), restart, opts.maxRestarts,
                 from.empty() ? " from the beginning" : (" from " + from).c_str());
  };
  // SIGTERM to SIGKILL: time for the workers to finish an iteration and
  // write a checkpoint after Ctrl-C, short enough that a stalled worker
  // (SIGSTOP) does not hold the job long after the others have failed.
  launch.killGrace = std::chrono::seconds(10);
  dist::LocalLauncher launcher(launch);
  gLauncher = &launcher;
  struct sigaction sa {}, oldInt {}, oldTerm {};
  sa.sa_handler = onSignal;
  sigaction(SIGINT, &sa, &oldInt);
  sigaction(SIGTERM, &sa, &oldTerm);
  dist::LocalJobResult result = launcher.run();
  gLauncher = nullptr;
  sigaction(SIGINT, &oldInt, nullptr);
  sigaction(SIGTERM, &oldTerm, nullptr);
  if (!result.attempts.empty() && result.attempts.back().stopRequested) {
    return 130; // rank 0 said where it stopped and how to continue
  }
  if (!result.ok) {
    std::fprintf(stderr, "bdlc: error: %s\n", result.message.c_str());
    return result.exitCode() == 0 ? kUserError : result.exitCode();
  }
  return kSuccess;
}

} // namespace bdl::cli
