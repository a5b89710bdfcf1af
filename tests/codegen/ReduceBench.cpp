// bench_reduce THREADS [N [dump [GRAPH]]]: a reduction at the end of an element-wise chain,
// fused (the chain computed inside the reduction's loop) against unfused
// (the chain's group writes N floats, a kernel reads them back). Prints one
// JSON line per graph: median milliseconds per run, fused and unfused.
#include "compiler/codegen/Jit.h"
#include "compiler/exec/Executable.h"
#include "compiler/ir/Builder.h"
#include "tests/codegen/TestSupport.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

using namespace bdl;
using namespace bdl::ir;

namespace {

double medianMs(const Graph& g, const interp::Feeds& feeds, int threads, bool fusion) {
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.threads = threads;
  opts.fusion = fusion;
  opts.cacheDir = "-";
  auto exe = exec::compile(g, opts);
  if (!exe.ok()) {
    std::fprintf(stderr, "%s\n", exe.error().message.c_str());
    std::exit(1);
  }
  std::vector<double> ms;
  for (int i = 0; i < 11; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = (*exe)->run(feeds);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!r.ok()) std::exit(1);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// mean((a*b - c)^2) over `axes` of a [rows, cols] chain.
Graph squaredError(int64_t rows, int64_t cols, std::vector<int64_t> axes) {
  GraphBuilder b;
  TensorType t{DType::F32, dimsOf({rows, cols})};
  ValueId d = *b.sub(*b.mul(*b.input("a", t), *b.input("b", t)), *b.input("c", t));
  (void)b.output("y", *b.mean(*b.mul(d, d), std::move(axes)));
  return b.finish();
}

// A convolution's relu gradient, also read elsewhere, and its bias gradient:
// sum(where(x > 0, dy, 0)) over N, H and W of NCHW.
Graph convBiasGradient(int64_t n, int64_t c, int64_t hw) {
  GraphBuilder b;
  TensorType t{DType::F32, dimsOf({n, c, hw, hw})};
  ValueId x = *b.input("x", t), dy = *b.input("dy", t);
  ValueId g = *b.where(*b.greater(x, b.scalar(0, DType::F32)), dy, b.scalar(0, DType::F32));
  (void)b.output("dx", g);
  (void)b.output("db", *b.sum(g, {0, 2, 3}));
  return b.finish();
}

} // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  int64_t n = argc > 2 ? std::atoll(argv[2]) : int64_t{1} << 26;
  struct Case {
    const char* name;
    Graph g;
  };
  std::vector<Case> cases;
  cases.push_back({"all", squaredError(1, n, {})});
  cases.push_back({"rows_of_1024", squaredError(n / 1024, 1024, {1})});
  cases.push_back({"columns_of_256", squaredError(n / 256, 256, {0})});
  cases.push_back({"lenet_conv1_bias_gradient", convBiasGradient(128, 6, 28)});
  cases.push_back({"lenet_conv2_bias_gradient", convBiasGradient(128, 16, 10)});
  if (argc > 3 && std::string(argv[3]) == "dump") {
    // The optimised module of each graph, to see what O3 made of the loops.
    for (Case& c : cases)
      if (argc < 5 || c.name == std::string(argv[4])) std::printf("%s\n", codegen::dumpLlvm(c.g, true)->c_str());
    return 0;
  }
  for (Case& c : cases) {
    interp::Feeds feeds = codegentest::randomFeeds(c.g, 1);
    double fused = medianMs(c.g, feeds, threads, true), unfused = medianMs(c.g, feeds, threads, false);
    std::printf("{\"graph\": \"%s\", \"elements\": %lld, \"threads\": %d, \"fused_ms\": %.3f, \"unfused_ms\": %.3f}\n",
                c.name, static_cast<long long>(n), threads, fused, unfused);
  }
  return 0;
}
