// bdlc: the command line of the BDL compiler and runtime.
#include "tools/bdlc/Commands.h"
#include "tools/bdlc/Version.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>

using namespace bdl::cli;

int main(int argc, char** argv) {
  CLI::App app{"bdlc: compile, check and run BDL model definitions"};
  app.get_formatter()->column_width(32);
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bdlc ") + bdl::kVersion);
  app.footer("Exit codes: 0 success, 1 errors in the input, 2 bad usage, 3 internal error,\n"
             "130/143 training stopped by SIGINT/SIGTERM (after a checkpoint).\n"
             "Environment: BDL_PATH (module search directories), NO_COLOR, BDL_CACHE_DIR (jit kernel\n"
             "cache), BDL_JOB_TOKEN (distributed jobs' shared secret).");

  CommonOptions common;
  app.add_option("--color", common.color, "Colour diagnostics: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  app.add_option("--error-limit", common.errorLimit, "Stop after this many errors (0: no limit)")
      ->capture_default_str();

  std::vector<std::string> checkFiles;
  CLI::App* check = app.add_subcommand("check", "Parse and check files and the modules they import");
  check->add_option("files", checkFiles, "BDL files")->required()->check(CLI::ExistingFile);
  check->footer("Example:\n  bdlc check examples/fashion_mlp.bdl");

  std::string dumpFile, stage = "ast";
  ModelOptions modelOptions;
  CLI::App* dump = app.add_subcommand("dump", "Print a file after a compiler stage");
  dump->add_option("--stage", stage,
                   "ast, ir (the training-mode forward graph), eval (training = false), grad, or the jit's view of "
                   "the training graph: fused (kernel groups), llvm (their LLVM IR), plan (buffers and peak bytes)")
      ->check(CLI::IsMember({"ast", "ir", "eval", "grad", "fused", "llvm", "plan"}))
      ->capture_default_str();
  dump->add_option("--model", modelOptions.model, "The model to elaborate (default: the file's only model)");
  dump->add_option("--format", modelOptions.format, "text or dot (Graphviz), for graph stages")
      ->check(CLI::IsMember({"text", "dot"}))
      ->capture_default_str();
  dump->add_option("--loss", modelOptions.loss,
                   "For --stage=grad: cross_entropy (adds input labels), mse (adds input target) or output")
      ->check(CLI::IsMember({"cross_entropy", "mse", "output"}))
      ->capture_default_str();
  dump->add_option("--batch", modelOptions.batch, "fused/llvm/plan: the batch size to compile for")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  dump->add_flag("!--inference", modelOptions.training, "fused/llvm/plan: the inference graph instead of training");
  dump->add_flag("--no-fusion", modelOptions.noFusion, "fused/llvm/plan: one kernel per operation");
  dump->add_option("file", dumpFile, "BDL file")->required()->check(CLI::ExistingFile);
  dump->footer("Examples:\n  bdlc dump --stage=ast examples/fashion_mlp.bdl\n"
               "  bdlc dump --stage=ir --model MLP examples/fashion_mlp.bdl\n"
               "  bdlc dump --stage=grad --model MLP examples/fashion_mlp.bdl\n"
               "  bdlc dump --stage=ir --format=dot --model MLP examples/fashion_mlp.bdl | dot -Tsvg > mlp.svg");

  std::string paramsFile;
  ModelOptions paramsModel;
  CLI::App* params = app.add_subcommand("params", "List a model's parameters with their shapes and counts");
  params->add_option("--model", paramsModel.model, "The model (default: the file's only model)");
  params->add_option("file", paramsFile, "BDL file")->required()->check(CLI::ExistingFile);
  params->footer("Example:\n  bdlc params examples/fashion_mlp.bdl --model MLP");

  std::vector<std::string> fmtFiles;
  bool inPlace = false, checkOnly = false;
  CLI::App* fmtCmd = app.add_subcommand("fmt", "Print files in canonical form");
  fmtCmd->add_option("files", fmtFiles, "BDL files")->required()->check(CLI::ExistingFile);
  fmtCmd->add_flag("-i,--in-place", inPlace, "Rewrite the files instead of printing them");
  fmtCmd->add_flag("--check", checkOnly, "Print nothing; exit 1 if a file is not in canonical form");
  fmtCmd->footer("Examples:\n  bdlc fmt model.bdl\n  bdlc fmt -i model.bdl\n  bdlc fmt --check *.bdl");

  // Options every command that runs graphs shares.
  auto addRunOptions = [](CLI::App* cmd, RunOptions& run) {
    cmd->add_option("--engine", run.engine, "jit (fused LLVM and oneDNN kernels) or reference (the interpreter, the oracle)")
        ->check(CLI::IsMember({"reference", "jit"}))
        ->capture_default_str();
    cmd->add_option("--threads", run.threads, "Threads for kernels (0: every core)")->check(CLI::NonNegativeNumber);
    cmd->add_flag("--no-fusion", run.noFusion, "Run every operation as its own kernel (jit)");
    cmd->add_flag("--check-jit", run.checkJit,
                  "Run the reference interpreter beside the jit and stop at the first kernel group that differs");
  };

  // What train and worker share: the job, its length, resuming, metrics.
  auto addJobOptions = [&](CLI::App* cmd, TrainOptions& o) {
    cmd->add_option("file", o.file, "BDL file")->required()->check(CLI::ExistingFile);
    cmd->add_option("--job", o.job, "The train job (default: the file's only one)");
    cmd->add_option("--epochs", o.epochs, "Train this many epochs instead of the job's stop clause")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--resume", o.resume,
                    "Continue from a checkpoint directory (or the newest sound one under it); any worker count wrote it");
    cmd->add_option("--metrics", o.metrics, "Append JSONL metrics (one record per log step and validation)");
    cmd->add_option("--timeout", o.timeoutSeconds, "With several workers: seconds before a silent worker fails the job")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    addRunOptions(cmd, o.run);
  };

  TrainOptions trainOptions;
  CLI::App* trainCmd = app.add_subcommand("train", "Train a job: data, model, optimizer, validation, checkpoints");
  addJobOptions(trainCmd, trainOptions);
  trainCmd->add_option("--workers", trainOptions.workers, "Train with this many local worker processes")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  trainCmd->add_option("--max-restarts", trainOptions.maxRestarts,
                       "With --workers: restart a failed job from its newest checkpoint up to this many times")
      ->check(CLI::NonNegativeNumber);

  TrainOptions workerOptions;
  workerOptions.worker = true;
  CLI::App* workerCmd = app.add_subcommand("worker", "One rank of a distributed training job (under mpirun, srun, torchrun, Kubernetes)");
  addJobOptions(workerCmd, workerOptions);
  workerCmd->add_option("--rank", workerOptions.rank, "This worker's rank (default: from the launcher's environment)");
  workerCmd->add_option("--world-size", workerOptions.worldSize, "Number of workers (default: from the environment)");
  workerCmd->add_option("--coordinator", workerOptions.coordinator, "host:port where rank 0 listens");
  workerCmd->footer("Rank, size and coordinator come from mpirun (OMPI_COMM_WORLD_*), srun (SLURM_*), or\n"
                    "RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT; BDL_JOB_TOKEN must hold the job's shared secret.\n"
                    "See docs/distributed.md. Example:\n"
                    "  BDL_JOB_TOKEN=s3cret mpirun -n 2 -x BDL_JOB_TOKEN -x BDL_COORDINATOR=host0:29500 bdlc worker job.bdl");
  trainCmd->footer("Examples:\n  bdlc train examples/fashion_mlp.bdl\n"
                   "  bdlc train examples/fashion_mlp.bdl --resume ckpt/fashion_mlp --metrics run.jsonl\n"
                   "Ctrl-C stops after the current iteration and writes a checkpoint (exit code 130).");

  EvalOptions evalOptions;
  CLI::App* evalCmd = app.add_subcommand("eval", "Print a job's validation metrics for a checkpoint");
  evalCmd->add_option("file", evalOptions.file, "BDL file")->required()->check(CLI::ExistingFile);
  evalCmd->add_option("--job", evalOptions.job, "The train job (default: the file's only one)");
  evalCmd->add_option("--checkpoint", evalOptions.checkpoint, "A checkpoint, or a directory of them (the newest)")
      ->required();
  addRunOptions(evalCmd, evalOptions.run);
  evalCmd->footer("Example:\n  bdlc eval examples/fashion_mlp.bdl --checkpoint ckpt/fashion_mlp");

  PredictOptions predictOptions;
  CLI::App* predictCmd = app.add_subcommand("predict", "Run a model on a NumPy array with a checkpoint's parameters");
  predictCmd->add_option("file", predictOptions.file, "BDL file")->required()->check(CLI::ExistingFile);
  predictCmd->add_option("--model", predictOptions.model, "The model")->required();
  predictCmd->add_option("--checkpoint", predictOptions.checkpoint, "A checkpoint, or a directory of them (the newest)")
      ->required();
  predictCmd->add_option("--input", predictOptions.input, ".npy file: rows of the model's input")
      ->required()
      ->check(CLI::ExistingFile);
  predictCmd->add_option("--output", predictOptions.output, ".npy file to write (.npz for several outputs)")->required();
  predictCmd->add_option("--batch", predictOptions.batch, "Rows per run")->check(CLI::PositiveNumber)->capture_default_str();
  addRunOptions(predictCmd, predictOptions.run);
  predictCmd->footer("Example:\n  bdlc predict examples/fashion_mlp.bdl --model MLP --checkpoint ckpt/fashion_mlp "
                     "--input x.npy --output logits.npy");

  // CLI11 reports an unknown command as "a subcommand is required"; name it.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
      std::fprintf(stderr, "bdlc: error: unknown command '%s'\nhint: the commands are %s; see bdlc --help\n", argv[1],
                   list.c_str());
      return kUsageError;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kSuccess : kUsageError;
  }

  try {
    if (*check) return runCheck(checkFiles, common);
    if (*dump) return stage == "ast" ? runDumpAst(dumpFile, common) : runDumpGraph(dumpFile, stage, modelOptions, common);
    if (*params) return runParams(paramsFile, paramsModel, common);
    if (*fmtCmd) return runFmt(fmtFiles, inPlace, checkOnly, common);
    if (*trainCmd) return trainOptions.workers > 1 ? runLocalJob(trainOptions, common, argv[0]) : runTrain(trainOptions, common);
    if (*workerCmd) return runTrain(workerOptions, common);
    if (*evalCmd) return runEval(evalOptions, common);
    if (*predictCmd) return runPredict(predictOptions, common);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bdlc: internal error: %s\nPlease report this with the input that caused it.\n", e.what());
    return kInternalError;
  }
  return kUsageError;
}
