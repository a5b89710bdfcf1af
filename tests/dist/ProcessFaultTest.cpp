// Faults with a real process: rank 2 runs in a forked child and is killed
// (SIGKILL) or stopped (SIGSTOP) after the first iteration. Ranks 0 and 1,
// threads of this process, must fail the next iteration within the timeout
// with an error naming rank 2.
#include "runtime/dist/ParamSync.h"
#include "tests/dist/TestCluster.h"

#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <sys/wait.h>
#include <unistd.h>

using namespace bdl::dist;
using bdl::dist::test::Cluster;

namespace {

using Ms = std::chrono::milliseconds;
constexpr size_t kParams = 3001;

void stepOnce(ParamSync& sync) {
  std::vector<float> g(kParams, 1.0f), w(kParams, 0.0f);
  sync.step(g, w, [](std::span<float> ws, std::span<const float> gs, size_t) {
    for (size_t i = 0; i < ws.size(); ++i)
      ws[i] -= gs[i];
  });
}

// The child: rank 2. Never returns into the test framework.
[[noreturn]] void childRank(Cluster& cluster, int portFd, int readyFd) {
  uint16_t port = 0;
  if (::read(portFd, &port, sizeof port) != sizeof port)
    _exit(3);
  try {
    Communicator comm(cluster.configFor(2, port));
    comm.connect();
    ParamSync sync(comm, kParams, {.wire = WireDType::F32, .chunkElements = 500});
    stepOnce(sync);
    char done = 1;
    if (::write(readyFd, &done, 1) != 1)
      _exit(4);
    stepOnce(sync); // waits here until killed or stopped
  } catch (const DistError&) {
    _exit(1);
  }
  _exit(0);
}

void runWithFaultyChild(int signal, double maxSeconds) {
  Cluster cluster;
  cluster.world = 3;
  cluster.timeout = Ms(500);
  int portPipe[2], readyPipe[2];
  ASSERT_EQ(::pipe(portPipe), 0);
  ASSERT_EQ(::pipe(readyPipe), 0);
  // Fork before any thread of this test exists.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(portPipe[1]);
    ::close(readyPipe[0]);
    childRank(cluster, portPipe[0], readyPipe[1]);
  }
  ::close(portPipe[0]);
  ::close(readyPipe[1]);

  std::promise<void> faultInjected;
  std::shared_future<void> fault = faultInjected.get_future().share();
  std::vector<std::string> messages(2);
  std::vector<int> blamed(2, -9);
  std::vector<double> seconds(2, -1);
  std::vector<std::string> childName(2);
  auto rank0 = std::make_unique<Communicator>(cluster.configFor(0, 0));
  uint16_t port = rank0->coordinatorPort();
  ASSERT_EQ(::write(portPipe[1], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  std::vector<std::thread> threads;
  std::chrono::steady_clock::time_point injectedAt{};
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      // The fault may land while this rank still finishes the first
      // iteration (the child finished its own first): then that step fails.
      try {
        auto comm = r == 0 ? std::move(rank0) : std::make_unique<Communicator>(cluster.configFor(1, port));
        comm->connect();
        childName[static_cast<size_t>(r)] = comm->describePeer(2);
        ParamSync sync(*comm, kParams, {.wire = WireDType::F32, .chunkElements = 500});
        stepOnce(sync);
        fault.wait();
        stepOnce(sync);
      } catch (const DistError& e) {
        fault.wait();
        seconds[static_cast<size_t>(r)] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - injectedAt).count();
        messages[static_cast<size_t>(r)] = e.what();
        blamed[static_cast<size_t>(r)] = e.peerRank();
      }
    });
  char done = 0;
  bool childReady = ::read(readyPipe[0], &done, 1) == 1;
  injectedAt = std::chrono::steady_clock::now();
  if (childReady)
    ::kill(child, signal);
  faultInjected.set_value();
  for (auto& t : threads)
    t.join();
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(portPipe[1]);
  ::close(readyPipe[0]);
  ASSERT_TRUE(childReady) << "the child rank did not finish its first iteration";
  for (int r = 0; r < 2; ++r) {
    const auto& m = messages[static_cast<size_t>(r)];
    EXPECT_NE(m.find(childName[static_cast<size_t>(r)]), std::string::npos)
        << "rank " << r << ": '" << m << "' should name " << childName[static_cast<size_t>(r)];
    EXPECT_EQ(blamed[static_cast<size_t>(r)], 2) << m;
    EXPECT_GE(seconds[static_cast<size_t>(r)], 0.0) << m;
    EXPECT_LT(seconds[static_cast<size_t>(r)], maxSeconds) << m;
  }
}

} // namespace

TEST(ProcessFaults, KilledRankFailsTheOthersAtOnceNamingIt) { runWithFaultyChild(SIGKILL, 0.5); }

TEST(ProcessFaults, StoppedRankFailsTheOthersWithinTheTimeoutNamingIt) { runWithFaultyChild(SIGSTOP, 1.2); }
