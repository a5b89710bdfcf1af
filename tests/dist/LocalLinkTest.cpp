// Same-host links on Unix-domain sockets (DistConfig::localLinks): used when
// both ends share an address, not when disabled, same results either way,
// and a job whose ranks disagree on the setting fails on every rank.
#include "runtime/dist/ParamSync.h"
#include "tests/dist/TestCluster.h"

#include <gtest/gtest.h>

using namespace bdl::dist;
using bdl::dist::test::Cluster;

namespace {

constexpr size_t kParams = 100'003;

// Small integers: sums are exact in any order.
float gradient(int rank, int iteration, size_t i) {
  return static_cast<float>(static_cast<int>((i * 7 + static_cast<size_t>(rank) * 13 + static_cast<size_t>(iteration)) % 17) - 8);
}

// Runs 3 iterations on W ranks; returns rank 0's weights and, per rank,
// how many of its links are local.
std::vector<float> runJob(Cluster& cluster, std::vector<int>& localLinks) {
  std::vector<std::vector<float>> weights(static_cast<size_t>(cluster.world));
  localLinks.assign(static_cast<size_t>(cluster.world), 0);
  auto results = cluster.run([&](int r, Communicator& comm) {
    for (int p = 0; p < cluster.world; ++p)
      localLinks[static_cast<size_t>(r)] += p != r && comm.usesLocalLinkForTesting(p);
    ParamSync sync(comm, kParams, {.wire = WireDType::F32, .chunkElements = 4096});
    std::vector<float> g(kParams), w(kParams, 0.0f);
    for (int it = 0; it < 3; ++it) {
      for (size_t i = 0; i < kParams; ++i)
        g[i] = gradient(r, it, i);
      sync.step(g, w, [](std::span<float> ws, std::span<const float> gs, size_t) {
        for (size_t i = 0; i < ws.size(); ++i)
          ws[i] -= 0.5f * gs[i];
      });
    }
    weights[static_cast<size_t>(r)] = w;
  });
  for (int r = 0; r < cluster.world; ++r)
    EXPECT_FALSE(results[static_cast<size_t>(r)].error) << "rank " << r << ": " << results[static_cast<size_t>(r)].error->what();
  for (int r = 1; r < cluster.world; ++r)
    EXPECT_EQ(weights[static_cast<size_t>(r)], weights[0]) << "rank " << r;
  return weights[0];
}

} // namespace

TEST(LocalLinks, SameHostLinksRunOnUnixSocketsWithTheSameResults) {
  Cluster local;
  local.world = 4;
  std::vector<int> localCount;
  std::vector<float> a = runJob(local, localCount);
  EXPECT_EQ(localCount, (std::vector<int>{3, 3, 3, 3}));

  Cluster tcp;
  tcp.world = 4;
  tcp.tweak = [](DistConfig& c) { c.localLinks = false; };
  std::vector<float> b = runJob(tcp, localCount);
  EXPECT_EQ(localCount, (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(a, b);

  std::vector<float> expected(kParams, 0.0f);
  for (int it = 0; it < 3; ++it)
    for (size_t i = 0; i < kParams; ++i) {
      float sum = 0.0f;
      for (int r = 0; r < 4; ++r)
        sum += gradient(r, it, i);
      expected[i] -= 0.5f * sum;
    }
  EXPECT_EQ(a, expected);
}

TEST(LocalLinks, RanksThatDisagreeOnTheSettingFailEverywhere) {
  Cluster cluster;
  cluster.world = 3;
  cluster.tweak = [](DistConfig& c) { c.localLinks = c.rank != 2; };
  auto start = std::chrono::steady_clock::now();
  // Rank 2's own set-up may complete (it never waits for a LocalLink); its
  // first iteration then fails with the others.
  auto results = cluster.run([](int, Communicator& comm) {
    ParamSync sync(comm, 1000);
    std::vector<float> g(1000, 1.0f), w(1000, 0.0f);
    sync.step(g, w, [](std::span<float>, std::span<const float>, size_t) {});
  });
  for (int r = 0; r < 3; ++r)
    EXPECT_TRUE(results[static_cast<size_t>(r)].error) << "rank " << r << " should fail";
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
}
