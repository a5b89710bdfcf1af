// Pipeline throughput on Fashion-MNIST train: idx + map(normalise) +
// shuffle(60000) + batch(128), with and without prefetch(2). Prints records/s
// per epoch. Not a test; build target bench_pipeline (runtime/data).
//
//   ninja -C build bench_pipeline && ./build/runtime/data/bench_pipeline [dir] [epochs]
#include "runtime/data/DataError.h"
#include "runtime/data/Pipeline.h"
#include "runtime/data/Sources.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <sys/resource.h>

using namespace bdl;
using namespace bdl::data;
using Clock = std::chrono::steady_clock;

static double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

static Record normalise(Record r) {
  const Tensor& in = r.get("image");
  Tensor out(DType::F32, in.shape());
  const float* src = in.data<float>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < in.numel(); ++i) dst[i] = (src[i] / 255.0f - 0.2860f) / 0.3530f;
  r.set("image", std::move(out));
  return r;
}

// CPU seconds of the whole process (all threads): this machine is shared, so
// records per CPU-second is the steadier figure.
static double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// Busy work standing in for a training step (the MLP of DATA.md trains at
// ~68,000 samples/s, ~1.9 ms per batch of 128).
static void simulatedStep(double seconds) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
  }
}

static void run(const std::string& dir, int epochs, bool prefetch, double stepSeconds = 0) {
  const auto t0 = Clock::now();
  Pipeline p(idxSource({dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz"}));
  p.map(normalise).shuffle(60000, 7).batch(128);
  if (prefetch) p.prefetch(2);
  std::printf("%s prefetch(2)%s: open (gunzip + checks) %.3f s\n", prefetch ? "with" : "without",
              stepSeconds > 0 ? ", with a simulated 1.9 ms training step per batch" : "", secondsSince(t0));
  for (int e = 0; e < epochs; ++e) {
    const auto t = Clock::now();
    const double cpu0 = cpuSeconds();
    p.startEpoch(e);
    int64_t records = 0, checksum = 0;
    while (auto b = p.next()) {
      records += b->get("label").shape()[0];
      checksum = checksum * 31 + b->get("label").data<int64_t>()[0]; // differs per epoch order
      if (stepSeconds > 0) simulatedStep(stepSeconds);
    }
    const double s = secondsSince(t), cpu = cpuSeconds() - cpu0;
    std::printf("  epoch %d: %lld records in %.3f s = %.0f records/s wall, %.0f records/CPU-s (order %016llx)\n",
                e, static_cast<long long>(records), s, records / s, records / cpu,
                static_cast<unsigned long long>(checksum));
    if (auto st = p.prefetchStats())
      std::printf("           the consumer waited for %lld of %lld batches, %.3f s in all\n",
                  static_cast<long long>(st->waited), static_cast<long long>(st->delivered), st->waitSeconds);
  }
}

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const int epochs = argc > 2 ? std::stoi(argv[2]) : 3;
  try {
    run(dir, epochs, false);
    run(dir, epochs, true);
    run(dir, 1, true, 128.0 / 68000.0);
  } catch (const DataError& e) {
    std::fprintf(stderr, "%s: error: %s\n", e.file().empty() ? "bench_pipeline" : e.file().c_str(),
                 e.detail().c_str());
    return 1;
  }
  return 0;
}
