// Rendezvous security and identity checks: a wrong token is refused and
// logged while the job still forms; a mismatched program or bdlc version is
// the same clear error on every rank; garbage and oversized frames close
// only their own connection; a missing rank times out with its name.
#include "runtime/dist/Frame.h"
#include "runtime/dist/ParamSync.h"
#include "tests/dist/TestCluster.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstdlib>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

using namespace bdl::dist;
using bdl::dist::test::Cluster;

namespace {

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

void syncOnce(Communicator& comm) {
  ParamSync sync(comm, 10);
  std::vector<float> g(10, 1.0f), w(10, 0.0f);
  sync.step(g, w, [](std::span<float> ws, std::span<const float> gs, size_t) {
    for (size_t i = 0; i < ws.size(); ++i)
      ws[i] += gs[i];
  });
  for (float x : w)
    EXPECT_EQ(x, static_cast<float>(comm.worldSize()));
}

// A plain POSIX client: connects, reads the Challenge, sends `bytes`, then
// reports whether the server closed the connection within 3 s.
bool serverClosesAfterSending(uint16_t port, const std::vector<uint8_t>& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  uint8_t buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0); // the Challenge
  EXPECT_GT(n, 0);
  EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  bool closed = false;
  for (;;) {
    n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      closed = true;
      break;
    }
    if (n < 0) // timed out: still open
      break;
  }
  ::close(fd);
  return closed;
}

} // namespace

TEST(Rendezvous, WorldOfOneNeedsNoNetwork) {
  DistConfig c;
  c.worldSize = 1;
  Communicator comm(c);
  comm.connect();
  syncOnce(comm);
}

TEST(Rendezvous, MissingTokenIsAClearError) {
  ::unsetenv("BDL_JOB_TOKEN");
  DistConfig c;
  c.rank = 1;
  c.worldSize = 2;
  try {
    Communicator comm(c);
    ADD_FAILURE() << "a job without a token was accepted";
  } catch (const DistError& e) {
    EXPECT_TRUE(contains(e.what(), "BDL_JOB_TOKEN is not set")) << e.what();
  }
  ::setenv("BDL_JOB_TOKEN", "from-the-environment", 1);
  EXPECT_EQ(jobTokenFromEnvironment(), "from-the-environment");
  ::unsetenv("BDL_JOB_TOKEN");
}

TEST(Rendezvous, WrongTokenIsRefusedAndLoggedThenTheJobForms) {
  Cluster cluster;
  cluster.world = 2;
  auto rank0 = std::make_unique<Communicator>(cluster.configFor(0, 0));
  const uint16_t port = rank0->coordinatorPort();
  std::optional<DistError> rank0Error;
  std::thread t0([&] {
    try {
      rank0->connect();
      syncOnce(*rank0);
    } catch (const DistError& e) {
      rank0Error = e;
    }
  });
  // An impostor claiming rank 1 with another token comes first.
  {
    DistConfig c = cluster.configFor(1, port);
    c.jobToken = "not-the-token";
    Communicator intruder(c);
    try {
      intruder.connect();
      ADD_FAILURE() << "a connection with the wrong token was admitted";
    } catch (const DistError& e) {
      EXPECT_TRUE(contains(e.what(), "authentication failed")) << e.what();
      EXPECT_TRUE(contains(e.what(), "BDL_JOB_TOKEN")) << e.what();
    }
  }
  // The genuine rank 1 still gets in.
  {
    Communicator rank1(cluster.configFor(1, port));
    rank1.connect();
    syncOnce(rank1);
  }
  t0.join();
  EXPECT_FALSE(rank0Error) << rank0Error->what();
  EXPECT_TRUE(cluster.logContains("refused connection from 127.0.0.1:"));
  EXPECT_TRUE(cluster.logContains("HMAC mismatch"));
  rank0.reset();
}

TEST(Rendezvous, MismatchedProgramHashIsTheSameClearErrorOnEveryRank) {
  Cluster cluster;
  cluster.world = 3;
  cluster.tweak = [](DistConfig& c) {
    if (c.rank == 2)
      c.programHash.fill(0xCD);
  };
  auto results = cluster.run([](int, Communicator&) { ADD_FAILURE() << "the job started"; });
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(results[static_cast<size_t>(r)].error) << "rank " << r;
    std::string what = results[static_cast<size_t>(r)].error->what();
    EXPECT_TRUE(contains(what, "program mismatch: rank 2 (127.0.0.1:")) << "rank " << r << ": " << what;
    EXPECT_TRUE(contains(what, "cdcdcdcd")) << what;
    EXPECT_EQ(results[static_cast<size_t>(r)].error->peerRank(), 2) << what;
  }
}

TEST(Rendezvous, MismatchedBdlcVersionIsRejectedOnEveryRank) {
  Cluster cluster;
  cluster.world = 2;
  cluster.tweak = [](DistConfig& c) {
    if (c.rank == 1)
      c.bdlcVersion = "0.2.0";
  };
  auto results = cluster.run([](int, Communicator&) { ADD_FAILURE() << "the job started"; });
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(results[static_cast<size_t>(r)].error) << "rank " << r;
    EXPECT_TRUE(contains(results[static_cast<size_t>(r)].error->what(), "bdlc version mismatch: rank 1"))
        << results[static_cast<size_t>(r)].error->what();
  }
}

TEST(Rendezvous, GarbageAndOversizedFramesCloseOnlyTheirConnection) {
  Cluster cluster;
  cluster.world = 2;
  auto rank0 = std::make_unique<Communicator>(cluster.configFor(0, 0));
  const uint16_t port = rank0->coordinatorPort();
  std::optional<DistError> rank0Error;
  std::thread t0([&] {
    try {
      rank0->connect();
      syncOnce(*rank0);
    } catch (const DistError& e) {
      rank0Error = e;
    }
  });
  std::vector<uint8_t> garbage = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n'};
  EXPECT_TRUE(serverClosesAfterSending(port, garbage));
  auto huge = encodeFrameHeader(FrameType::Hello, 0xFFFFFFF0u); // 4 GB claimed, nothing sent
  EXPECT_TRUE(serverClosesAfterSending(port, std::vector<uint8_t>(huge.begin(), huge.end())));
  auto bigChunk = encodeFrameHeader(FrameType::GradChunk, 1u << 30); // data frame before the handshake
  EXPECT_TRUE(serverClosesAfterSending(port, std::vector<uint8_t>(bigChunk.begin(), bigChunk.end())));
  {
    Communicator rank1(cluster.configFor(1, port));
    rank1.connect();
    syncOnce(rank1);
  }
  t0.join();
  EXPECT_FALSE(rank0Error) << rank0Error->what();
  EXPECT_TRUE(cluster.logContains("bad frame magic"));
  EXPECT_TRUE(cluster.logContains("exceeds the limit"));
  rank0.reset();
}

TEST(Rendezvous, MissingRankTimesOutNamingIt) {
  Cluster cluster;
  cluster.world = 3;
  cluster.joinTimeout = std::chrono::milliseconds(600);
  auto rank0 = std::make_unique<Communicator>(cluster.configFor(0, 0));
  const uint16_t port = rank0->coordinatorPort();
  std::optional<DistError> e0, e1;
  std::thread t0([&] {
    try {
      rank0->connect();
    } catch (const DistError& e) {
      e0 = e;
    }
  });
  auto start = std::chrono::steady_clock::now();
  try {
    Communicator rank1(cluster.configFor(1, port));
    rank1.connect();
  } catch (const DistError& e) {
    e1 = e;
  }
  t0.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(e0 && e1);
  EXPECT_TRUE(contains(e0->what(), "rank(s) 2 did not join")) << e0->what();
  EXPECT_TRUE(contains(e1->what(), "rank(s) 2 did not join")) << e1->what();
  EXPECT_LT(seconds, 3.0);
  rank0.reset();
}

TEST(Rendezvous, WorkerWithoutCoordinatorFailsNamingRank0) {
  DistConfig c;
  c.rank = 1;
  c.worldSize = 2;
  c.jobToken = std::string("test-token-for-rank-1");
  c.coordinatorPort = 1; // nothing listens on port 1
  c.joinTimeout = std::chrono::milliseconds(300);
  Communicator comm(c);
  try {
    comm.connect();
    ADD_FAILURE() << "connected to nothing";
  } catch (const DistError& e) {
    EXPECT_TRUE(contains(e.what(), "cannot connect to rank 0 at 127.0.0.1:1")) << e.what();
    EXPECT_EQ(e.peerRank(), 0);
  }
}
