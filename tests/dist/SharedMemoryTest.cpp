// Same-host links that share memory (DistConfig::sharedMemory): the same
// bits as the socket path for f32 and bf16, plain and chunk-by-chunk,
// ranks that disagree on the setting still agree per link, a peer killed
// in the middle of a sync fails the others at once naming it, and nothing
// (descriptors, files in /dev/shm) is left behind.
#include "runtime/dist/ParamSync.h"
#include "tests/dist/TestCluster.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <future>
#include <sys/wait.h>
#include <unistd.h>

using namespace bdl::dist;
using bdl::dist::test::Cluster;

namespace {

constexpr size_t kParams = 100'003;

// Values whose sums round differently in another order, so a reordered
// reduction would show.
float gradValue(int rank, int iteration, size_t i) {
  uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(rank) + 1) * 0xC2B2AE3D27D4EB4Full ^
               static_cast<uint64_t>(iteration) * 0x165667B19E3779F9ull;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return static_cast<float>(x & 0xFFFFFF) / static_cast<float>(0x300000) - 2.5f;
}

struct JobResult {
  std::vector<std::vector<float>> weights; // by rank
  std::vector<int> sharedLinks;            // by rank: links that share memory
};

// Three iterations on every rank; the gradient is marked ready back to
// front when `overlapped`, as backward would.
JobResult runJob(Cluster& cluster, ParamSyncOptions options, bool overlapped, size_t P = kParams) {
  JobResult out;
  out.weights.resize(static_cast<size_t>(cluster.world));
  out.sharedLinks.assign(static_cast<size_t>(cluster.world), 0);
  auto results = cluster.run([&](int r, Communicator& comm) {
    for (int p = 0; p < cluster.world; ++p)
      out.sharedLinks[static_cast<size_t>(r)] += p != r && comm.peerSegmentFd(p) >= 0;
    ParamSync sync(comm, P, options);
    std::vector<float> g(P), w(P);
    for (size_t i = 0; i < P; ++i)
      w[i] = static_cast<float>(i % 101) * 0.01f;
    auto update = [](std::span<float> ws, std::span<const float> gs, size_t) {
      for (size_t i = 0; i < ws.size(); ++i)
        ws[i] -= 0.125f * gs[i];
    };
    for (int it = 0; it < 3; ++it) {
      for (size_t i = 0; i < P; ++i)
        g[i] = gradValue(r, it, i);
      if (!overlapped) {
        sync.step(g, w, update);
        continue;
      }
      sync.begin(g, w);
      for (size_t end = P; end > 0;) {
        size_t begin = end > 7000 ? end - 7000 : 0;
        sync.gradientReady(begin, end);
        end = begin;
      }
      sync.finish(update);
    }
    out.weights[static_cast<size_t>(r)] = w;
  });
  for (int r = 0; r < cluster.world; ++r)
    EXPECT_FALSE(results[static_cast<size_t>(r)].error) << "rank " << r << ": "
                                                        << results[static_cast<size_t>(r)].error->what();
  return out;
}

bool bitEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

size_t countEntries(const char* dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}

} // namespace

TEST(SharedMemory, SameBitsAsSocketsForEveryWireAndMode) {
  for (WireDType wire : {WireDType::F32, WireDType::BF16})
    for (bool eachChunk : {false, true})
      for (bool overlapped : {false, true}) {
        SCOPED_TRACE(std::string(wire == WireDType::BF16 ? "bf16" : "f32") + (eachChunk ? " each-chunk" : "") +
                     (overlapped ? " overlapped" : ""));
        ParamSyncOptions options{.wire = wire, .chunkElements = 4096, .updateEachChunk = eachChunk};
        Cluster shared;
        shared.world = 3;
        JobResult a = runJob(shared, options, overlapped);
        EXPECT_EQ(a.sharedLinks, (std::vector<int>{2, 2, 2}));

        Cluster sockets;
        sockets.world = 3;
        sockets.tweak = [](DistConfig& c) { c.sharedMemory = false; };
        JobResult b = runJob(sockets, options, overlapped);
        EXPECT_EQ(b.sharedLinks, (std::vector<int>{0, 0, 0}));

        // Rank 1 declines: its links use the socket, the 0-2 link shares.
        Cluster mixed;
        mixed.world = 3;
        mixed.tweak = [](DistConfig& c) { c.sharedMemory = c.rank != 1; };
        JobResult c = runJob(mixed, options, overlapped);
        EXPECT_EQ(c.sharedLinks, (std::vector<int>{1, 0, 1}));

        for (int r = 0; r < 3; ++r) {
          EXPECT_TRUE(bitEqual(a.weights[static_cast<size_t>(r)], b.weights[0])) << "shared, rank " << r;
          EXPECT_TRUE(bitEqual(c.weights[static_cast<size_t>(r)], b.weights[0])) << "mixed, rank " << r;
          EXPECT_TRUE(bitEqual(b.weights[static_cast<size_t>(r)], b.weights[0])) << "sockets, rank " << r;
        }
      }
}

// Past ParamSync's streaming threshold (32 MiB of f32) the bulk loops use
// non-temporal stores and doorbells leave in batches; the shared-memory
// path still gives the socket's bits, and updating chunk by chunk (sums in
// a cached one-chunk buffer, not streamed) those of one update per block.
TEST(SharedMemory, LargeVectorsSameBitsAsSockets) {
  constexpr size_t P = 9'000'001;
  for (WireDType wire : {WireDType::F32, WireDType::BF16}) {
    SCOPED_TRACE(wire == WireDType::BF16 ? "bf16" : "f32");
    Cluster shared;
    JobResult a = runJob(shared, {.wire = wire}, false, P);
    Cluster sockets;
    sockets.tweak = [](DistConfig& c) { c.sharedMemory = false; };
    JobResult b = runJob(sockets, {.wire = wire}, false, P);
    Cluster sharedEach;
    JobResult c = runJob(sharedEach, {.wire = wire, .updateEachChunk = true}, false, P);
    EXPECT_EQ(a.sharedLinks, (std::vector<int>{1, 1}));
    EXPECT_EQ(c.sharedLinks, (std::vector<int>{1, 1}));
    for (int r = 0; r < 2; ++r) {
      EXPECT_TRUE(bitEqual(a.weights[static_cast<size_t>(r)], b.weights[0])) << "shared, rank " << r;
      EXPECT_TRUE(bitEqual(b.weights[static_cast<size_t>(r)], b.weights[0])) << "sockets, rank " << r;
      EXPECT_TRUE(bitEqual(c.weights[static_cast<size_t>(r)], b.weights[0])) << "shared each-chunk, rank " << r;
    }
  }
}

TEST(SharedMemory, LeavesNoDescriptorsOrFilesBehind) {
  const size_t fdsBefore = countEntries("/proc/self/fd");
  const size_t shmBefore = countEntries("/dev/shm");
  for (WireDType wire : {WireDType::F32, WireDType::BF16}) {
    Cluster cluster;
    cluster.world = 4;
    JobResult r = runJob(cluster, {.wire = wire}, false);
    EXPECT_EQ(r.sharedLinks, (std::vector<int>{3, 3, 3, 3}));
  }
  EXPECT_EQ(countEntries("/proc/self/fd"), fdsBefore);
  EXPECT_EQ(countEntries("/dev/shm"), shmBefore);
}

// Rank 1 runs in a child that marks half its gradient ready (those chunks
// are in its segment and announced) and is then killed, mid-iteration.
TEST(SharedMemory, PeerKilledMidSyncFailsTheOtherAtOnceNamingIt) {
  Cluster cluster;
  cluster.world = 2;
  cluster.timeout = std::chrono::milliseconds(1000);
  constexpr size_t P = 1'000'000;
  int portPipe[2], readyPipe[2];
  ASSERT_EQ(::pipe(portPipe), 0);
  ASSERT_EQ(::pipe(readyPipe), 0);
  pid_t child = ::fork(); // before this test starts any thread
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(portPipe[1]);
    ::close(readyPipe[0]);
    uint16_t port = 0;
    if (::read(portPipe[0], &port, sizeof port) != sizeof port)
      _exit(3);
    try {
      Communicator comm(cluster.configFor(1, port));
      comm.connect();
      ParamSync sync(comm, P, {.chunkElements = 10'000});
      std::vector<float> g(P, 1.0f), w(P, 0.0f);
      sync.begin(g, w);
      sync.gradientReady(0, P / 4); // part of rank 0's block
      char shared = comm.peerSegmentFd(0) >= 0 ? 1 : 0;
      if (::write(readyPipe[1], &shared, 1) != 1)
        _exit(4);
      ::pause(); // killed here
    } catch (const DistError&) {
      _exit(1);
    }
    _exit(0);
  }
  ::close(portPipe[0]);
  ::close(readyPipe[1]);

  Communicator comm(cluster.configFor(0, 0));
  uint16_t port = comm.coordinatorPort();
  ASSERT_EQ(::write(portPipe[1], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  auto killer = std::async(std::launch::async, [&] {
    char shared = 0;
    bool ready = ::read(readyPipe[0], &shared, 1) == 1;
    auto at = std::chrono::steady_clock::now();
    ::kill(child, SIGKILL);
    return std::make_tuple(ready, shared == 1, at);
  });
  std::string message;
  int blamed = -9;
  bool shared = false;
  try {
    comm.connect();
    shared = comm.peerSegmentFd(1) >= 0;
    ParamSync sync(comm, P, {.chunkElements = 10'000});
    std::vector<float> g(P, 1.0f), w(P, 0.0f);
    sync.step(g, w, [](std::span<float>, std::span<const float>, size_t) {});
  } catch (const DistError& e) {
    message = e.what();
    blamed = e.peerRank();
  }
  auto failedAt = std::chrono::steady_clock::now();
  auto [ready, childShared, killedAt] = killer.get();
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(portPipe[1]);
  ::close(readyPipe[0]);
  ASSERT_TRUE(ready) << "the child did not get half way through its iteration";
  EXPECT_TRUE(shared && childShared) << "the link should share memory";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(blamed, 1) << message;
  EXPECT_NE(message.find(comm.describePeer(1)), std::string::npos) << message;
  EXPECT_LT(std::chrono::duration<double>(failedAt - killedAt).count(), 0.5) << message;
}

// On a socket a chunk of the wrong size is refused; in shared memory the
// frames carry no elements, so they carry the layout instead.
TEST(SharedMemory, RanksThatDisagreeOnTheParameterCountFailClearly) {
  Cluster cluster;
  bool shared = true;
  auto results = cluster.run([&](int r, Communicator& comm) {
    shared = shared && comm.peerSegmentFd(1 - r) >= 0;
    const size_t P = r == 0 ? 1001 : 1000;
    ParamSync sync(comm, P, {.chunkElements = 100});
    std::vector<float> g(P, 1.0f), w(P, 0.0f);
    sync.step(g, w, [](std::span<float>, std::span<const float>, size_t) {});
  });
  EXPECT_TRUE(shared);
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(results[static_cast<size_t>(r)].error) << "rank " << r << " should fail";
    EXPECT_NE(std::string(results[static_cast<size_t>(r)].error->what()).find("same parameter count"),
              std::string::npos)
        << results[static_cast<size_t>(r)].error->what();
  }
}
