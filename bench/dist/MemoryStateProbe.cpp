// How fast this machine's memory is right now, for labelling parameter-sync
// figures. On the 2-vCPU development VM the same streaming loop on the same
// buffers, in one process with the guest otherwise idle, switches between
// two speeds every few seconds to minutes (writes 2x, reads 1.35x; no steal
// time, no frequency change: the host's doing), and a 25M-float sync, which
// is memory-bound, follows: 12-13 ms in the fast state, 19-22 ms in the
// slow one (docs/distributed.md, "Performance").
//
//   bench_memory_state [--seconds S]
//
// Two threads (one per CPU, as the two ranks), each over its own 12.5M
// floats, in lockstep; every 0.6 s one line with the median milliseconds
// of: R reading 50 MB, W writing 50 MB with non-temporal stores, C copying
// 50 MB (non-temporal), U w -= 0.01 g (reads 100 MB, writes 50 MB).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BDL_PROBE_AVX512 __attribute__((target("avx512f")))
// GCC 12's AVX-512 headers trip this on their own placeholders (bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <pthread.h>
#include <sched.h>

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kFloats = 12'500'000;

// One thread per CPU, as the two ranks of a sync end up; left to itself
// the scheduler may put both on one CPU for a while.
void pinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

double elapsedMs(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

#ifdef BDL_PROBE_AVX512
bool wide() { return __builtin_cpu_supports("avx512f"); }

BDL_PROBE_AVX512 float kernelWide(int which, float* w, const float* g) {
  switch (which) {
  case 0: {
    __m512 acc = _mm512_setzero_ps();
    for (size_t i = 0; i < kFloats; i += 16)
      acc = _mm512_add_ps(acc, _mm512_load_ps(g + i));
    return _mm512_reduce_add_ps(acc);
  }
  case 1:
    for (size_t i = 0; i < kFloats; i += 16)
      _mm512_stream_ps(w + i, _mm512_set1_ps(1.0f));
    break;
  case 2:
    for (size_t i = 0; i < kFloats; i += 16)
      _mm512_stream_ps(w + i, _mm512_load_ps(g + i));
    break;
  default:
    for (size_t i = 0; i < kFloats; i += 16)
      _mm512_store_ps(w + i, _mm512_fnmadd_ps(_mm512_set1_ps(0.01f), _mm512_load_ps(g + i), _mm512_load_ps(w + i)));
  }
  _mm_sfence();
  return 0;
}
#else
bool wide() { return false; }
float kernelWide(int, float*, const float*) { return 0; }
#endif

// Without AVX-512: plain loops (no non-temporal stores), figures not
// comparable with the wide ones.
float kernelPlain(int which, float* w, const float* g) {
  float acc = 0;
  for (size_t i = 0; i < kFloats; ++i) {
    switch (which) {
    case 0: acc += g[i]; break;
    case 1: w[i] = 1.0f; break;
    case 2: w[i] = g[i]; break;
    default: w[i] -= 0.01f * g[i];
    }
  }
  return acc;
}

float kernel(int which, float* w, const float* g) { return wide() ? kernelWide(which, w, g) : kernelPlain(which, w, g); }

float* allocate() {
  auto* p = static_cast<float*>(std::aligned_alloc(64, kFloats * sizeof(float)));
  if (!p) {
    std::fprintf(stderr, "bench_memory_state: out of memory\n");
    std::exit(1);
  }
  std::memset(p, 0, kFloats * sizeof(float));
  return p;
}

} // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_memory_state [--seconds S]\n");
      return 2;
    }
  }
  float* buffers[4] = {allocate(), allocate(), allocate(), allocate()};
  std::atomic<int> go{0}, done{0}, which{0};
  std::atomic<float> sink{0};
  std::thread partner([&] {
    pinTo(1);
    for (int k = 1;; ++k) {
      int g;
      while ((g = go.load()) < k)
        if (g < 0)
          return;
      sink = sink + kernel(which.load(), buffers[2], buffers[3]);
      done.store(k);
    }
  });
  pinTo(0);
  const auto start = Clock::now();
  int round = 0;
  std::printf("%s\n", wide() ? "AVX-512 kernels" : "plain kernels (no AVX-512)");
  while (elapsedMs(start) < seconds * 1000) {
    std::printf("%6.1f s ", elapsedMs(start) / 1000);
    for (int k = 0; k < 4; ++k) {
      std::vector<double> times;
      which.store(k);
      const auto window = Clock::now();
      while (elapsedMs(window) < 150) {
        const auto t = Clock::now();
        go.store(++round);
        sink = sink + kernel(k, buffers[0], buffers[1]);
        while (done.load() < round) {
        }
        times.push_back(elapsedMs(t));
      }
      std::sort(times.begin(), times.end());
      std::printf(" %c %5.2f", "RWCU"[k], times[times.size() / 2]);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  go.store(-1);
  partner.join();
  for (float* b : buffers)
    std::free(b);
  return sink == 12345.0f ? 3 : 0; // keeps the reads
}
