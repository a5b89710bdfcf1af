// Times BigDL parameter synchronization (runtime/dist ParamSync) on loopback
// with one process per rank: for each world size, parameter count and wire
// type, rank 0 runs in this process and ranks 1..W-1 in forked children.
// Reports the median (or, with --stat min, the fastest) time of one sync
// and the algorithm bandwidth
// (parameter bytes / time, as nccl-tests' algbw).
//
//   bench_param_sync [--sizes 1000000,10000000,25000000] [--worlds 2,4]
//                    [--wires f32,bf16] [--iters 10] [--warmup 2] [--chunk 262144]
//                    [--stat median|min] [--tcp | --socket] [--each-chunk] [--json]
//                    [--update sgd|sum]
// --update sgd (the default) applies w -= 0.01 g to the owner's block, as a
// training step does; --update sum copies the summed gradient into it, so
// every rank ends with the sum: an all-reduce, the work gloo's all_reduce
// does, for a like-for-like comparison.
// Same-host links share memory by default (DistConfig::sharedMemory: the
// data goes through memfd segments, the Unix socket carries control frames).
// --socket keeps the data on the Unix sockets (sharedMemory off); --tcp keeps
// the links on loopback TCP (localLinks off), as gloo does. --each-chunk sets
// ParamSyncOptions::updateEachChunk (the all-gather overlaps the reduce).
// On a shared machine the fastest iteration says more about what the code
// can do than the median, which follows the other load.
//
// bench/dist/compare_torch_gloo.py runs this and torch.distributed's gloo
// all_reduce side by side and prints the ratio.
#include "runtime/dist/ParamSync.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace bdl::dist;

namespace {

struct Options {
  std::vector<size_t> sizes = {1'000'000, 10'000'000, 25'000'000};
  std::vector<int> worlds = {2, 4};
  std::vector<WireDType> wires = {WireDType::F32, WireDType::BF16};
  int iters = 10;
  int warmup = 2;
  size_t chunk = ParamSyncOptions{}.chunkElements;
  bool json = false;
  bool minimum = false; // report the fastest iteration instead of the median
  bool tcp = false;
  bool socket = false;
  bool eachChunk = false;
  bool sumOnly = false; // --update sum
};


std::vector<std::string> splitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty())
      out.push_back(item);
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_param_sync: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--sizes") {
      o.sizes.clear();
      for (auto& s : splitCommas(value()))
        o.sizes.push_back(std::stoull(s));
    } else if (a == "--worlds") {
      o.worlds.clear();
      for (auto& s : splitCommas(value()))
        o.worlds.push_back(std::stoi(s));
    } else if (a == "--wires") {
      o.wires.clear();
      for (auto& s : splitCommas(value()))
        o.wires.push_back(s == "bf16" ? WireDType::BF16 : WireDType::F32);
    } else if (a == "--iters") {
      o.iters = std::stoi(value());
    } else if (a == "--warmup") {
      o.warmup = std::stoi(value());
    } else if (a == "--chunk") {
      o.chunk = std::stoull(value());
    } else if (a == "--stat") {
      std::string v = value();
      if (v != "median" && v != "min") {
        std::fprintf(stderr, "bench_param_sync: --stat is median or min\n");
        std::exit(2);
      }
      o.minimum = v == "min";
    } else if (a == "--each-chunk") {
      o.eachChunk = true;
    } else if (a == "--tcp") {
      o.tcp = true;
    } else if (a == "--socket") {
      o.socket = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--update") {
      std::string v = value();
      if (v != "sgd" && v != "sum") {
        std::fprintf(stderr, "bench_param_sync: --update is sgd or sum\n");
        std::exit(2);
      }
      o.sumOnly = v == "sum";
    } else {
      std::fprintf(stderr,
                   "usage: bench_param_sync [--sizes N,...] [--worlds W,...] [--wires f32,bf16] [--iters K] "
                   "[--warmup K] [--chunk elements] [--stat median|min] [--tcp | --socket] [--each-chunk] [--json] [--update sgd|sum]\n");
      std::exit(2);
    }
  }
  return o;
}

DistConfig configFor(int rank, int world, uint16_t port, const Options& o) {
  DistConfig c;
  c.rank = rank;
  c.worldSize = world;
  c.coordinatorPort = port;
  c.jobToken = "bench-token";
  c.bdlcVersion = "bench";
  c.timeout = std::chrono::seconds(60);
  c.localLinks = !o.tcp;
  c.sharedMemory = !o.tcp && !o.socket;
  return c;
}

// One rank's run; returns per-iteration seconds (rank 0 reports them).
std::vector<double> runRank(Communicator& comm, size_t P, WireDType wire, const Options& o) {
  const int warmup = o.warmup, iters = o.iters;
  ParamSyncOptions options;
  options.wire = wire;
  options.chunkElements = o.chunk;
  options.updateEachChunk = o.eachChunk;
  ParamSync sync(comm, P, options);
  std::vector<float> grad(P), weights(P, 0.5f);
  for (size_t i = 0; i < P; ++i)
    grad[i] = static_cast<float>((i * 2654435761u + static_cast<size_t>(comm.rank())) % 1000) * 1e-6f;
  auto sgd = [&o](std::span<float> w, std::span<const float> g, size_t) {
    if (o.sumOnly) {
      std::memcpy(w.data(), g.data(), w.size_bytes());
      return;
    }
    for (size_t i = 0; i < w.size(); ++i)
      w[i] -= 0.01f * g[i];
  };
  std::vector<double> times;
  for (int it = 0; it < warmup + iters; ++it) {
    auto start = std::chrono::steady_clock::now();
    sync.step(grad, weights, sgd);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (it >= warmup)
      times.push_back(s);
  }
  return times;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Runs one configuration; returns the median (or minimum) seconds, or a
// negative value.
double runConfig(int world, size_t P, WireDType wire, const Options& o) {
  std::vector<int> portPipes;
  std::vector<pid_t> children;
  // Fork the other ranks before this process starts any thread.
  for (int r = 1; r < world; ++r) {
    int fds[2];
    if (::pipe(fds) != 0)
      return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[1]);
      uint16_t port = 0;
      if (::read(fds[0], &port, sizeof port) != sizeof port)
        _exit(3);
      try {
        Communicator comm(configFor(r, world, port, o));
        comm.connect();
        runRank(comm, P, wire, o);
      } catch (const DistError& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
        _exit(1);
      }
      _exit(0);
    }
    ::close(fds[0]);
    portPipes.push_back(fds[1]);
    children.push_back(pid);
  }
  double result = -1;
  try {
    Communicator comm(configFor(0, world, 0, o));
    uint16_t port = comm.coordinatorPort();
    for (int fd : portPipes)
      if (::write(fd, &port, sizeof port) != sizeof port)
        std::fprintf(stderr, "bench_param_sync: cannot hand the port to a child\n");
    comm.connect();
    auto times = runRank(comm, P, wire, o);
    result = o.minimum && !times.empty() ? *std::min_element(times.begin(), times.end()) : median(times);
  } catch (const DistError& e) {
    std::fprintf(stderr, "rank 0: %s\n", e.what());
  }
  for (int fd : portPipes)
    ::close(fd);
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      result = -1;
  }
  return result;
}

} // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (!o.json)
    std::printf("%-6s %-10s %-5s %12s %12s\n", "world", "floats", "wire", o.minimum ? "min ms" : "median ms", "algbw GB/s");
  else
    std::printf("[\n");
  bool first = true;
  for (int world : o.worlds)
    for (size_t P : o.sizes)
      for (WireDType wire : o.wires) {
        double s = runConfig(world, P, wire, o);
        const char* wireName = wire == WireDType::BF16 ? "bf16" : "f32";
        double gbps = s > 0 ? static_cast<double>(P) * 4.0 / s / 1e9 : 0.0;
        if (o.json) {
          std::printf("%s  {\"world\": %d, \"floats\": %zu, \"wire\": \"%s\", \"seconds\": %.6f}", first ? "" : ",\n",
                      world, P, wireName, s);
          first = false;
        } else {
          std::printf("%-6d %-10zu %-5s %12.3f %12.2f\n", world, P, wireName, s * 1e3, gbps);
        }
        std::fflush(stdout);
        if (s < 0)
          return 1;
      }
  if (o.json)
    std::printf("\n]\n");
  return 0;
}
