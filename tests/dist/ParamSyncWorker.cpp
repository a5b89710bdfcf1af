// One rank of a ParamSync job placed by a real launcher: rank, world size
// and coordinator come from detectLaunchEnv() (mpirun, srun, RANK/WORLD_SIZE,
// BDL_*), the token from BDL_JOB_TOKEN. Runs N iterations and checks the
// weights bit for bit against a plain sum of every rank's gradient, which
// each rank can compute alone because gradients are a known function of
// (rank, iteration, element). Used by run_mpi_param_sync.sh (mpirun) and
// netns/run_netns_tests.sh (one rank per network namespace).
//
//   param_sync_worker [--iters N] [--params P] [--wire f32|bf16] [--chunk C]
//                     [--timeout-ms T] [--pause-ms M] [--coordinator HOST:PORT]
//                     [--die-rank R --die-at I]   # rank R raises SIGKILL before iteration I
//   param_sync_worker --print-free-port
//
// Exit 0: every iteration matched. 1: DistError (printed as "rank R: error:
// ..."). 2: bad usage or launch environment. 3: a wrong weight.
#include "runtime/dist/Bf16.h"
#include "runtime/dist/LaunchEnv.h"
#include "runtime/dist/LocalLauncher.h"
#include "runtime/dist/ParamSync.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace bdl::dist;

namespace {

struct Args {
  int iters = 20;
  size_t params = 100'003;
  WireDType wire = WireDType::F32;
  size_t chunk = ParamSyncOptions{}.chunkElements;
  int timeoutMs = 10'000;
  int pauseMs = 0;
  int dieRank = -1;
  int dieAt = -1;
  LaunchOverrides overrides;
};

// Small integers: every partial sum, and the weights (multiples of 1/2
// below 2^8 in bf16 mode), are exact, so any order gives the same bits and
// the check needs no tolerance.
float gradient(int rank, int iteration, size_t i) {
  return static_cast<float>(static_cast<int>((i * 7 + static_cast<size_t>(rank) * 13 + static_cast<size_t>(iteration) * 5) % 17) - 8);
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "param_sync_worker: %s\nusage: param_sync_worker [--iters N] [--params P] [--wire f32|bf16] "
               "[--chunk C] [--timeout-ms T] [--pause-ms M] [--coordinator HOST:PORT] [--die-rank R --die-at I] "
               "| --print-free-port\n",
               why);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--print-free-port") {
      std::printf("%u\n", pickFreePort());
      std::exit(0);
    }
    if (i + 1 >= argc)
      usage((k + " needs a value").c_str());
    std::string v = argv[++i];
    if (k == "--iters")
      a.iters = std::stoi(v);
    else if (k == "--params")
      a.params = std::stoull(v);
    else if (k == "--wire")
      a.wire = v == "bf16" ? WireDType::BF16 : v == "f32" ? WireDType::F32 : (usage("--wire is f32 or bf16"), WireDType::F32);
    else if (k == "--chunk")
      a.chunk = std::stoull(v);
    else if (k == "--timeout-ms")
      a.timeoutMs = std::stoi(v);
    else if (k == "--pause-ms")
      a.pauseMs = std::stoi(v);
    else if (k == "--die-rank")
      a.dieRank = std::stoi(v);
    else if (k == "--die-at")
      a.dieAt = std::stoi(v);
    else if (k == "--coordinator")
      a.overrides.coordinator = v;
    else
      usage(("unknown option " + k).c_str());
  }
  return a;
}

} // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  LaunchEnv env;
  DistConfig cfg;
  try {
    env = detectLaunchEnv(args.overrides);
    applyLaunchEnv(env, cfg);
    cfg.jobToken = jobTokenFromEnvironment();
  } catch (const DistError& e) {
    std::fprintf(stderr, "param_sync_worker: %s\n", e.what());
    return 2;
  }
  const int rank = env.rank, W = env.worldSize;
  std::fprintf(stderr, "rank %d: %s\n", rank, env.describe().c_str());
  cfg.programHash.fill(0x5A);
  cfg.bdlcVersion = "param_sync_worker";
  cfg.timeout = std::chrono::milliseconds(args.timeoutMs);
  cfg.joinTimeout = std::chrono::seconds(30);

  const size_t P = args.params;
  std::vector<float> grad(P), weights(P, 0.0f), expected(P, 0.0f);
  auto sgd = [](std::span<float> w, std::span<const float> g, size_t) {
    for (size_t i = 0; i < w.size(); ++i)
      w[i] -= 0.5f * g[i];
  };
  try {
    Communicator comm(cfg);
    comm.connect();
    ParamSync sync(comm, P, {.wire = args.wire, .chunkElements = args.chunk});
    auto start = std::chrono::steady_clock::now();
    for (int it = 0; it < args.iters; ++it) {
      if (rank == args.dieRank && it == args.dieAt)
        std::raise(SIGKILL);
      for (size_t i = 0; i < P; ++i)
        grad[i] = gradient(rank, it, i);
      sync.step(grad, weights, sgd);
      for (size_t i = 0; i < P; ++i) {
        float sum = 0.0f;
        for (int r = 0; r < W; ++r)
          sum += gradient(r, it, i);
        expected[i] -= 0.5f * sum;
        float want = args.wire == WireDType::BF16 ? bf16ToF32(f32ToBf16(expected[i])) : expected[i];
        if (std::memcmp(&want, &weights[i], sizeof want) != 0) {
          std::fprintf(stderr, "rank %d: MISMATCH at iteration %d, element %zu: %.9g, want %.9g\n", rank, it, i,
                       static_cast<double>(weights[i]), static_cast<double>(want));
          return 3;
        }
      }
      if (args.pauseMs > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(args.pauseMs));
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("rank %d: OK, %d iterations of %zu parameters (%s), %.2f ms per iteration\n", rank, args.iters, P,
                args.wire == WireDType::BF16 ? "bf16" : "f32", ms / std::max(args.iters, 1));
    return 0;
  } catch (const DistError& e) {
    std::fprintf(stderr, "rank %d: error: %s\n", rank, e.what());
    return 1;
  }
}
