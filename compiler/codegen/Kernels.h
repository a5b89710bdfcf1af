// Hand-written kernels for the ops that are not element-wise chains:
// pooling, reductions along axes, softmax, losses and metrics (f32), data
// movement (any dtype), dropout and embedding. Each returns
// the step that computes node `out`, or nullopt when the node is outside
// what the kernel handles (the caller then falls back to the reference).
#pragma once

#include "compiler/codegen/Program.h"

#include <omp.h>
#include <optional>

// The library is built for the baseline x86-64 ISA; hot loops get AVX-512
// and AVX2 clones that the loader picks for the host CPU (GCC's
// target_clones; other compilers build the baseline only).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define BDL_KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BDL_KERNEL_CLONES
#endif

namespace bdl::codegen {

std::optional<StepFn> poolKernel(const ir::Graph& g, ir::ValueId out);   // PoolKernels.cpp
std::optional<StepFn> reduceKernel(const ir::Graph& g, ir::ValueId out); // ReduceKernels.cpp
std::optional<StepFn> lossKernel(const ir::Graph& g, ir::ValueId out);   // LossKernels.cpp
std::optional<StepFn> dataKernel(const ir::Graph& g, ir::ValueId out);   // DataKernels.cpp
// out = a @ b for at most 4 rows of a and a 2-D row-major b (GemvKernel.cpp).
// `epilogue` (optional) runs on each thread right after it has written
// columns [c0, c1) of the product's single row, while they are in cache: the
// fused element-wise group that reads the product (bias, activation).
using ColumnEpilogue = std::function<void(RunContext&, int64_t c0, int64_t c1)>;
std::optional<StepFn> gemvKernel(const ir::Graph& g, ir::ValueId out, ir::ValueId a, ir::ValueId b,
                                 ColumnEpilogue epilogue = {});

// Splits [0, n) over the run's threads (one chunk when n is small).
template <typename F> void parallelFor(int threads, int64_t n, int64_t grain, F&& f) {
  int t = n >= 2 * grain ? threads : 1;
  if (t <= 1) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(t)
  {
    int nt = omp_get_num_threads(), id = omp_get_thread_num();
    int64_t b = n * id / nt, e = n * (id + 1) / nt;
    if (b < e) f(b, e);
  }
}

} // namespace bdl::codegen
