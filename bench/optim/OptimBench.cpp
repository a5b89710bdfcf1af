// Micro-benchmark: GB/s of one fused sgd-momentum step and one adam step over
// a flat vector (25M floats by default), to set beside torch's numbers from
// optim_bench_torch.py. Bytes counted are the bytes a step must move:
// sgd-momentum reads w, g, buf and writes w, buf (5 x 4 B per element);
// adam reads w, g, m, v and writes w, m, v (7 x 4 B).
//
//   ninja -C build bench_optim && build/runtime/optim/bench_optim [elements] [repeats]
#include "runtime/optim/Optimizer.h"
#include "runtime/optim/OptimizerFactory.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace bdl::optim;

namespace {

double secondsOfBestStep(Optimizer& opt, std::vector<float>& w, const std::vector<float>& g, int repeats) {
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    Status s = opt.step(w, g);
    const auto stop = std::chrono::steady_clock::now();
    if (!s.ok()) {
      std::fprintf(stderr, "bench_optim: %s\n", s.message().c_str());
      std::exit(1);
    }
    best = std::min(best, std::chrono::duration<double>(stop - start).count());
  }
  return best;
}

void bench(const char* label, const char* name, const std::vector<NamedArg>& args, int64_t n,
           int bytesPerElement, int repeats) {
  auto opt = makeOptimizer(name, args, {0, n});
  if (!opt.ok()) {
    std::fprintf(stderr, "bench_optim: %s\n", opt.message().c_str());
    std::exit(1);
  }
  std::vector<float> w(static_cast<size_t>(n)), g(static_cast<size_t>(n));
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = static_cast<float>(i % 1000) * 1e-3f;
    g[i] = static_cast<float>(i % 7) * 1e-2f - 0.03f;
  }
  secondsOfBestStep(opt.value(), w, g, 1); // first touch of the state
  const double s = secondsOfBestStep(opt.value(), w, g, repeats);
  const double gb = static_cast<double>(n) * bytesPerElement / 1e9;
  std::printf("bdl   %-13s %lld floats: best of %d steps %.2f ms, %.2f GB/s\n", label,
              static_cast<long long>(n), repeats, s * 1e3, gb / s);
}

} // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 25'000'000;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  bench("sgd-momentum", "sgd", {{"lr", 0.01}, {"momentum", 0.9}}, n, 5 * 4, repeats);
  bench("adam", "adam", {{"lr", 0.001}}, n, 7 * 4, repeats);
  return 0;
}
