// The subcommands of bdlc. Each returns the process exit code:
// 0 success, 1 errors in the user's input, 2 bad command-line usage,
// 3 an internal error (a bug in bdlc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace bdl {
class DiagnosticEngine;
}
#include <vector>

namespace bdl::cli {

enum ExitCode { kSuccess = 0, kUserError = 1, kUsageError = 2, kInternalError = 3 };

struct CommonOptions {
  std::string color = "auto"; // auto, always, never
  size_t errorLimit = 20;
};

struct ModelOptions {
  std::string model;      // --model; empty: the file's only model
  std::string format = "text"; // text or dot
  std::string loss = "cross_entropy"; // for --stage=grad: cross_entropy, mse or output
  int64_t batch = 128;    // fused/llvm/plan: the batch size the graph is compiled for
  bool training = true;   // fused/llvm/plan: the training graph (with gradients), else inference
  bool noFusion = false;
};

bool useColor(const CommonOptions& options);
void printDiagnostics(DiagnosticEngine& diags, const CommonOptions& options);
int runCheck(const std::vector<std::string>& files, const CommonOptions& options);
int runDumpAst(const std::string& file, const CommonOptions& options);
int runDumpGraph(const std::string& file, const std::string& stage, const ModelOptions& model, const CommonOptions& options);
int runParams(const std::string& file, const ModelOptions& model, const CommonOptions& options);
struct RunOptions {
  std::string engine = "jit";       // --engine: jit (default) or reference
  int threads = 0;                  // --threads; 0: every core
  bool noFusion = false;            // --no-fusion
  bool checkJit = false;            // --check-jit: run the reference too, name the first group that differs
};

struct TrainOptions {
  std::string file, job, resume, metrics;
  std::optional<int64_t> epochs;
  RunOptions run;
  int workers = 1;     // --workers: local processes (bdlc train)
  int maxRestarts = 0; // --max-restarts (bdlc train --workers)
  // bdlc worker: place taken from the launcher's environment, these override it.
  bool worker = false;
  std::optional<int> rank, worldSize;
  std::optional<std::string> coordinator;
  int timeoutSeconds = 30;
};

struct EvalOptions {
  std::string file, job, checkpoint;
  RunOptions run;
};

struct PredictOptions {
  std::string file, model, checkpoint, input, output;
  int64_t batch = 256;
  RunOptions run;
};

int runTrain(const TrainOptions& train, const CommonOptions& options);
// bdlc train --workers W: W local `bdlc worker` processes, one display.
int runLocalJob(const TrainOptions& train, const CommonOptions& options, const char* self);
int runEval(const EvalOptions& eval, const CommonOptions& options);
int runPredict(const PredictOptions& predict, const CommonOptions& options);
int runFmt(const std::vector<std::string>& files, bool inPlace, bool checkOnly, const CommonOptions& options);

} // namespace bdl::cli
