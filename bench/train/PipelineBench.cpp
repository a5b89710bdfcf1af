// Pipeline throughput as bdlc train builds it (issue 4, item 4): a BDL
// pipeline declaration -> sema::describePipeline -> driver::buildPipeline,
// so map bodies are compiled from BDL and run by the chosen engine, exactly
// as in a train job. Reads Fashion-MNIST train (idx, gzip) and reports
// records/s per epoch for four pipelines:
//
//   idx |> batch(128)                                   (source + batching)
//   idx |> map(normalise) |> shuffle(60000, 7) |> batch(128)
//   the same with the map on the reference interpreter
//   the same |> prefetch(4), consumer idle
//
// Not a test; built by tests/train/CMakeLists.txt as bench_train_pipeline:
//
//   ninja -C build bench_train_pipeline
//   ./build/tests/train/bench_train_pipeline [dir] [epochs]
//
// Whether the training loop waits for data is measured with bdlc itself
// (bench/train/prefetch_waits.sh).
#include "compiler/driver/PipelineBuilder.h"
#include "compiler/sema/Job.h"
#include "compiler/sema/ModuleLoader.h"
#include "compiler/syntax/Diagnostics.h"
#include "runtime/data/DataError.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <sys/resource.h>

using namespace bdl;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU seconds of the whole process (all threads): the machine is shared, so
// records per CPU-second is the steadier figure.
double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

std::string program(const std::string& dir) {
  std::string source = "idx(images = \"" + dir + "/train-images-idx3-ubyte.gz\",\n"
                       "    labels = \"" + dir + "/train-labels-idx1-ubyte.gz\")";
  std::string map = "  |> map(image => (image / 255.0 - 0.2860) / 0.3530)\n";
  return "pipeline Plain =\n  " + source + "\n  |> batch(128)\n\n" +
         "pipeline Mapped =\n  " + source + "\n" + map + "  |> shuffle(buffer = 60000, seed = 7)\n  |> batch(128)\n\n" +
         "pipeline Prefetched =\n  " + source + "\n" + map +
         "  |> shuffle(buffer = 60000, seed = 7)\n  |> batch(128)\n  |> prefetch(4)\n";
}

int64_t rowsOf(const Record& batch) {
  if (batch.fields().empty()) return 0;
  const Shape& s = batch.fields().front().second.shape();
  return s.empty() ? 1 : s[0];
}

bool run(const LoadedProgram& loaded, const SourceManager& sources, DiagnosticEngine& diags, const char* name,
         exec::Engine engine, const char* label, int epochs) {
  std::optional<sema::PipelineSpec> spec = sema::describePipeline(loaded, name, sources, diags);
  if (!spec) return false;
  driver::PipelineContext context;
  context.program = &loaded;
  context.sources = &sources;
  context.diags = &diags;
  context.seed = 42;
  context.engine.engine = engine;
  context.engine.threads = 1;
  const auto t0 = Clock::now();
  std::unique_ptr<data::Pipeline> p = driver::buildPipeline(*spec, context);
  if (!p) return false;
  std::printf("%s  [%s]\n  open (gunzip + checks): %.3f s\n", spec->describe().c_str(), label, secondsSince(t0));
  for (int e = 0; e < epochs; ++e) {
    const auto t = Clock::now();
    const double cpu0 = cpuSeconds();
    p->startEpoch(e);
    int64_t records = 0, batches = 0;
    while (std::optional<Record> b = p->next()) {
      records += rowsOf(*b);
      ++batches;
    }
    const double s = secondsSince(t), cpu = cpuSeconds() - cpu0;
    std::printf("  epoch %d: %lld records in %lld batches, %.3f s, %.0f records/s (%.0f per CPU-second)%s\n", e + 1,
                static_cast<long long>(records), static_cast<long long>(batches), s, static_cast<double>(records) / s,
                static_cast<double>(records) / cpu, e == 0 && std::string(name) != "Plain" ? "  (compiles the map)" : "");
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  int epochs = argc > 2 ? std::atoi(argv[2]) : 3;
  SourceManager sources;
  DiagnosticEngine diags(sources);
  LoadedProgram loaded;
  try {
    if (!loadProgramFromText("bench.bdl", program(dir), ModuleSearchPaths::fromEnvironment(), sources, diags, loaded) ||
        !run(loaded, sources, diags, "Plain", exec::Engine::Jit, "no map", epochs) ||
        !run(loaded, sources, diags, "Mapped", exec::Engine::Jit, "map on the jit", epochs) ||
        !run(loaded, sources, diags, "Mapped", exec::Engine::Reference, "map on the reference interpreter", epochs) ||
        !run(loaded, sources, diags, "Prefetched", exec::Engine::Jit, "map on the jit, consumer idle", epochs)) {
      diags.render(stderr, false);
      return 1;
    }
  } catch (const DataError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const driver::FunctionCompileError& e) {
    diags.render(stderr, false);
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
