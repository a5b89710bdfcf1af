// Faults after the job has formed: a silent rank (its I/O frozen, as under
// SIGSTOP), a rank stuck in compute, and a rank that leaves. Every other
// rank must fail within the timeout with an error naming the culprit.
#include "runtime/dist/ParamSync.h"
#include "tests/dist/TestCluster.h"

#include <gtest/gtest.h>

using namespace bdl::dist;
using bdl::dist::test::Cluster;

namespace {

using Ms = std::chrono::milliseconds;

void stepOnce(ParamSync& sync, size_t P) {
  std::vector<float> g(P, 1.0f), w(P, 0.0f);
  sync.step(g, w, [](std::span<float> ws, std::span<const float> gs, size_t) {
    for (size_t i = 0; i < ws.size(); ++i)
      ws[i] -= gs[i];
  });
}

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct Outcome {
  std::string message;
  double seconds = -1;
};

} // namespace

TEST(Faults, SilentRankFailsEveryOtherRankWithinTheTimeoutNamingIt) {
  Cluster cluster;
  cluster.world = 4;
  cluster.timeout = Ms(400);
  const int culprit = 3;
  std::vector<Outcome> outcome(4);
  std::vector<std::string> culpritName(4);
  auto results = cluster.run([&](int rank, Communicator& comm) {
    ParamSync sync(comm, 1000, {.wire = WireDType::F32, .chunkElements = 100});
    stepOnce(sync, 1000);
    culpritName[static_cast<size_t>(rank)] = comm.describePeer(culprit);
    auto start = std::chrono::steady_clock::now();
    if (rank == culprit)
      comm.freezeIoForTesting(Ms(1500)); // no heartbeats, no reads, no writes
    try {
      stepOnce(sync, 1000);
    } catch (const DistError& e) {
      outcome[static_cast<size_t>(rank)] = {e.what(), secondsSince(start)};
      throw;
    }
  });
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(results[static_cast<size_t>(r)].error) << "rank " << r << " did not fail";
    if (r == culprit)
      continue;
    const auto& o = outcome[static_cast<size_t>(r)];
    EXPECT_NE(o.message.find(culpritName[static_cast<size_t>(r)]), std::string::npos)
        << "rank " << r << ": " << o.message << " (expected to name " << culpritName[static_cast<size_t>(r)] << ")";
    EXPECT_EQ(results[static_cast<size_t>(r)].error->peerRank(), culprit) << o.message;
    // Detection within the timeout after the last heartbeat, well before the
    // frozen rank wakes up.
    EXPECT_LT(o.seconds, 1.2) << o.message;
  }
}

TEST(Faults, RankStuckInComputeFailsTheIterationEverywhereNamingIt) {
  Cluster cluster;
  cluster.world = 3;
  cluster.timeout = Ms(400);
  const int culprit = 2;
  std::vector<Outcome> outcome(3);
  auto results = cluster.run([&](int rank, Communicator& comm) {
    ParamSync sync(comm, 999, {.wire = WireDType::F32, .chunkElements = 100});
    stepOnce(sync, 999);
    auto start = std::chrono::steady_clock::now();
    if (rank == culprit)
      std::this_thread::sleep_for(Ms(1000)); // alive (heartbeats flow) but no gradient
    try {
      stepOnce(sync, 999);
    } catch (const DistError& e) {
      outcome[static_cast<size_t>(rank)] = {e.what(), secondsSince(start)};
      throw;
    }
  });
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(results[static_cast<size_t>(r)].error) << "rank " << r << " did not fail";
    if (r == culprit)
      continue;
    const auto& o = outcome[static_cast<size_t>(r)];
    EXPECT_NE(o.message.find("rank 2 (127.0.0.1:"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("sent no gradient data"), std::string::npos) << o.message;
    EXPECT_LT(o.seconds, 0.9) << o.message;
  }
}

TEST(Faults, RankLeavingFailsTheNextIterationNamingIt) {
  Cluster cluster;
  cluster.world = 3;
  cluster.timeout = Ms(1000);
  auto start = std::chrono::steady_clock::now();
  auto results = cluster.run([&](int rank, Communicator& comm) {
    ParamSync sync(comm, 50, {.wire = WireDType::F32, .chunkElements = 8});
    stepOnce(sync, 50);
    if (rank == 1)
      return; // leaves the job: ParamSync and Communicator go away
    // The others learn of it either here or, if another rank got there
    // first and told them, already at the end of the first step.
    stepOnce(sync, 50);
  });
  double seconds = secondsSince(start);
  EXPECT_FALSE(results[1].error);
  for (int r : {0, 2}) {
    ASSERT_TRUE(results[static_cast<size_t>(r)].error) << "rank " << r << " did not fail";
    std::string what = results[static_cast<size_t>(r)].error->what();
    EXPECT_NE(what.find("rank 1 (127.0.0.1:"), std::string::npos) << "rank " << r << ": " << what;
    EXPECT_NE(what.find("left the job"), std::string::npos) << "rank " << r << ": " << what;
    EXPECT_EQ(results[static_cast<size_t>(r)].error->peerRank(), 1) << what;
  }
  EXPECT_LT(seconds, 1.5);
}
