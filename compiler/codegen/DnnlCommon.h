// What the oneDNN steps (DnnlOps.cpp, DnnlConv.cpp) share: the engine and
// stream of one executable and the OpenMP team rules. Internal to codegen.
#pragma once

#include "compiler/codegen/Program.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <omp.h>

namespace bdl::codegen {

class DnnlRuntime {
public:
  explicit DnnlRuntime(int threads) : threads(threads) {}
  int threads;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

// Below this much work a primitive runs on one thread: waking the other
// OpenMP thread costs more than it saves (batch-1 inference).
constexpr double kParallelFlops = 2e6;

// Runs `f` with oneDNN's OpenMP team sized for `flops` of work.
template <typename F> void withThreads(const RunContext& ctx, double flops, F&& f) {
  bool narrow = ctx.threads > 1 && flops < kParallelFlops;
  if (narrow) omp_set_num_threads(1);
  f();
  if (narrow) omp_set_num_threads(ctx.threads);
}

// oneDNN fixes a primitive's thread count when it is created (its kernels
// then open `omp parallel num_threads(n)` whatever the caller's setting), so
// the team size must be right at creation: one thread for small work.
class CreationThreads {
public:
  CreationThreads(int threads, double flops) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(flops < kParallelFlops ? 1 : threads);
  }
  ~CreationThreads() { omp_set_num_threads(previous_); }
  CreationThreads(const CreationThreads&) = delete;
  CreationThreads& operator=(const CreationThreads&) = delete;

private:
  int previous_;
};

} // namespace bdl::codegen
