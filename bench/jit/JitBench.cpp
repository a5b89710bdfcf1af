// Throughput, latency and compile time of the Jit engine on the example
// models (examples/fashion_mlp.bdl, examples/fashion_lenet.bdl), on
// Fashion-MNIST-shaped random data. Prints one JSON object per line;
// bench/jit/compare_torch.py runs this and PyTorch side by side.
//
//   bench_jit <source dir> [threads] [seconds per measurement]
#include "compiler/codegen/Jit.h"
#include "compiler/codegen/JitExecutable.h"
#include "compiler/exec/Executable.h"
#include "compiler/ir/Builder.h"
#include "compiler/ir/Random.h"
#include "compiler/ir/Specialize.h"
#include "compiler/passes/Autodiff.h"
#include "compiler/sema/Elaborate.h"
#include "compiler/sema/ModuleLoader.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <ctime>
#include <unistd.h>

using namespace bdl;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// The model's forward graph (output "out").
ir::Graph elaborate(const std::filesystem::path& src, const std::string& file, const std::string& model) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  LoadedProgram program;
  ModuleSearchPaths paths;
  paths.stdlibDir = src / "stdlib";
  if (!loadProgram(src / file, paths, sources, diags, program)) throw std::runtime_error(diags.renderToString());
  sema::ModelRef ref = sema::findModel(program, model, diags);
  auto g = sema::elaborateModel(program, ref, {true, 0}, sources, diags);
  if (!g) throw std::runtime_error(diags.renderToString());
  return std::move(*g);
}

// forward + cross_entropy(out, labels), as the train jobs write it.
ir::Graph withLoss(ir::Graph forward) {
  ir::GraphBuilder b(std::move(forward));
  ir::ValueId labels = *b.input("labels", {DType::I64, {ir::Dim::sym("N")}});
  (void)b.output("loss", *b.crossEntropy(b.graph().findOutput("out").value(), labels));
  return b.finish();
}

interp::Feeds feedsFor(const ir::Graph& g) {
  interp::Feeds feeds = interp::initialParameters(g, 42);
  for (ir::ValueId id : g.leaves(ir::OpKind::Input)) {
    const ir::Node& n = g.node(id);
    Tensor t(n.type.dtype, *n.type.shape());
    for (int64_t i = 0; i < t.numel(); ++i) {
      double u = ir::randomUniform(7, static_cast<uint64_t>(i));
      if (n.type.dtype == DType::F32) t.data<float>()[i] = static_cast<float>(u * 2 - 1);
      else t.data<int64_t>()[i] = static_cast<int64_t>(u * 10);
    }
    feeds[n.name] = t;
  }
  return feeds;
}

std::unique_ptr<exec::Executable> compileOrDie(const ir::Graph& g, exec::EngineOptions opts) {
  auto exe = exec::compile(g, opts);
  if (!exe) throw std::runtime_error(exe.error().message);
  return std::move(*exe);
}

// CPU time of the process (all threads): other jobs on the machine do not
// inflate it the way they inflate wall time.
double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

long peakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

// SGD with momentum 0.9 on every parameter, as the trainer's optimizer step.
struct Sgd {
  std::map<std::string, std::vector<float>> velocity;
  void step(interp::Feeds& feeds, const interp::RunResult& r, float lr) {
    for (auto& [name, t] : feeds) {
      auto g = r.outputs.find(passes::gradientOutputName(name));
      if (g == r.outputs.end()) continue;
      auto& v = velocity[name];
      v.resize(static_cast<size_t>(t.numel()), 0.0f);
      float* w = t.data<float>();
      const float* gp = g->second.data<float>();
      for (size_t i = 0; i < v.size(); ++i) {
        v[i] = 0.9f * v[i] + gp[i];
        w[i] -= lr * v[i];
      }
    }
  }
};

void benchModel(const std::filesystem::path& src, const std::string& file, const std::string& model, int threads,
                double budget) {
  ir::Graph forward = elaborate(src, file, model);
  auto training = passes::buildTrainingGraph(withLoss(forward));
  if (!training) throw std::runtime_error(training.error().message);
  ir::Graph train = *ir::specialize(*training, {{"N", 128}});
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.threads = threads;

  // Compile time: a fresh cache directory (cold), then again (warm).
  std::filesystem::path cache = std::filesystem::temp_directory_path() / ("bdl-bench-cache-" + std::to_string(::getpid()));
  std::filesystem::remove_all(cache);
  opts.cacheDir = cache.string();
  auto t0 = Clock::now();
  auto cold = compileOrDie(train, opts);
  auto t1 = Clock::now();
  auto exe = compileOrDie(train, opts);
  auto t2 = Clock::now();
  bool warmHit = codegen::jitStats(*exe)->cacheHit;
  std::filesystem::remove_all(cache);
  cold.reset();

  interp::Feeds feeds = feedsFor(train);
  Sgd sgd;
  for (int i = 0; i < 3; ++i) sgd.step(feeds, *exe->run(feeds), 0.01f); // warm-up
  int steps = 0;
  auto s0 = Clock::now();
  double c0 = cpuSeconds();
  while (seconds(s0, Clock::now()) < budget) {
    auto r = exe->run(feeds);
    if (!r) throw std::runtime_error(r.error().message);
    sgd.step(feeds, *r, 0.01f);
    ++steps;
  }
  double trainSps = steps * 128 / seconds(s0, Clock::now());
  double trainCpuSps = steps * 128 / (cpuSeconds() - c0);
  auto stats = *codegen::jitStats(*exe);

  // Inference: batch 1 latency (median of 1000 calls), batch 256 throughput.
  ir::Graph evalForward = passes::buildEvalGraph(forward);
  ir::Graph eval1 = *ir::specialize(evalForward, {{"N", 1}});
  ir::Graph eval256 = *ir::specialize(evalForward, {{"N", 256}});
  opts.cacheDir = "-";
  auto e1 = compileOrDie(eval1, opts);
  interp::Feeds f1 = feedsFor(eval1);
  for (auto& [k, v] : feeds)
    if (f1.count(k) && f1[k].shape() == v.shape()) f1[k] = v;
  std::vector<double> lat;
  for (int i = 0; i < 1100; ++i) {
    auto a = Clock::now();
    auto r = e1->run(f1);
    auto b = Clock::now();
    if (i >= 100) lat.push_back(seconds(a, b) * 1e6);
  }
  std::nth_element(lat.begin(), lat.begin() + lat.size() / 2, lat.end());
  auto e256 = compileOrDie(eval256, opts);
  interp::Feeds f256 = feedsFor(eval256);
  int calls = 0;
  auto i0 = Clock::now();
  while (seconds(i0, Clock::now()) < budget / 2) {
    (void)e256->run(f256);
    ++calls;
  }
  double inferSps = calls * 256 / seconds(i0, Clock::now());

  std::printf("{\"engine\": \"bdl-jit\", \"model\": \"%s\", \"threads\": %d, \"train_samples_per_s\": %.0f, "
              "\"train_samples_per_cpu_s\": %.0f, \"infer_b1_median_us\": %.1f, \"infer_b256_samples_per_s\": %.0f, \"compile_cold_ms\": %.1f, "
              "\"compile_warm_ms\": %.1f, \"warm_cache_hit\": %s, \"arena_bytes\": %zu, \"steps\": %d, "
              "\"fused_groups\": %d, \"reference_steps\": %d, \"peak_rss_kb\": %ld}\n",
              model.c_str(), threads, trainSps, trainCpuSps, lat[lat.size() / 2], inferSps, seconds(t0, t1) * 1e3,
              seconds(t1, t2) * 1e3, warmHit ? "true" : "false", stats.arenaBytes, stats.steps, stats.fusedGroups,
              stats.referenceSteps, peakRssKb());
  std::fflush(stdout);
}

// A fused element-wise kernel, y = relu(x * 1.5 + 0.25) on 64M floats,
// against memcpy of the same bytes (read 256 MB, write 256 MB) split over
// the same number of threads.
void benchStream(int threads) {
  const int64_t n = int64_t{64} << 20;
  ir::GraphBuilder b;
  ir::ValueId x = *b.input("x", {DType::F32, ir::dimsOf({n})});
  ir::ValueId y = *b.relu(*b.add(*b.mul(x, b.scalar(1.5, DType::F32)), b.scalar(0.25, DType::F32)));
  (void)b.output("y", y);
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.threads = threads;
  opts.cacheDir = "-";
  ::setenv("BDL_JIT_PROFILE", "1", 1);
  auto exe = compileOrDie(b.finish(), opts);
  ::unsetenv("BDL_JIT_PROFILE");
  const auto& jit = dynamic_cast<const codegen::JitExecutable&>(*exe);
  interp::Feeds feeds = {{"x", Tensor(DType::F32, {n})}};
  auto run = exe->run(feeds); // warm-up (first touch of the arena)
  std::vector<double> kernel, copy;
  Tensor dst(DType::F32, {n});
  for (int i = 0; i < 5; ++i) {
    double before = jit.stepSeconds().at(0);
    (void)exe->run(feeds);
    kernel.push_back(jit.stepSeconds().at(0) - before); // the kernel alone, not the copy out
    auto a = Clock::now();
    // The copy on as many threads as the kernel.
    char* d = static_cast<char*>(dst.rawData());
    const char* src = static_cast<const char*>(feeds["x"].rawData());
    const int64_t chunk = static_cast<int64_t>(dst.bytes()) / threads;
#pragma omp parallel for num_threads(threads)
    for (int t = 0; t < threads; ++t) std::memcpy(d + t * chunk, src + t * chunk, static_cast<size_t>(chunk));
    auto c = Clock::now();
    copy.push_back(seconds(a, c));
  }
  double k = *std::min_element(kernel.begin(), kernel.end()), m = *std::min_element(copy.begin(), copy.end());
  std::printf("{\"engine\": \"bdl-jit\", \"model\": \"stream\", \"threads\": %d, \"fused_64m_ms\": %.1f, "
              "\"memcpy_64m_ms\": %.1f, \"fraction_of_copy\": %.2f}\n", threads, k * 1e3, m * 1e3, m / k);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  std::filesystem::path src = argc > 1 ? argv[1] : ".";
  int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  double budget = argc > 3 ? std::atof(argv[3]) : 3.0;
  std::string only = argc > 4 ? argv[4] : "";
  try {
    if (only.empty() || only == "MLP") benchModel(src, "examples/fashion_mlp.bdl", "MLP", threads, budget);
    if (only == "stream") benchStream(threads);
    if (only.empty() || only == "LeNet5") benchModel(src, "examples/fashion_lenet.bdl", "LeNet5", threads, budget);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_jit: %s\n", e.what());
    return 1;
  }
  return 0;
}
