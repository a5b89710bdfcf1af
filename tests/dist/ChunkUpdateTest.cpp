// ParamSyncOptions::updateEachChunk: the owner updates and sends each chunk
// as soon as it is reduced. With an elementwise updater the weights are
// bit-identical to one update per block, and weight chunks that arrive
// while this rank's backward still runs wait until its whole gradient is
// marked ready.
#include "runtime/dist/ParamSync.h"
#include "tests/dist/TestCluster.h"

#include <gtest/gtest.h>

#include <thread>

using namespace bdl::dist;
using bdl::dist::test::Cluster;

namespace {

float gradient(int rank, int iteration, size_t i) {
  uint32_t x = static_cast<uint32_t>(i * 2654435761u) ^ static_cast<uint32_t>(rank * 40503 + iteration * 977);
  x ^= x >> 13;
  return static_cast<float>(x % 20011) * 1e-4f - 1.0f; // not exactly representable sums: order matters
}

// Momentum SGD with its state indexed by the flat offset, so any tiling of
// the calls gives the same bits.
struct Sgd {
  std::vector<float> velocity;
  explicit Sgd(size_t P) : velocity(P, 0.0f) {}
  void operator()(std::span<float> w, std::span<const float> g, size_t offset) {
    for (size_t i = 0; i < w.size(); ++i) {
      float& v = velocity[offset + i];
      v = 0.9f * v + g[i];
      w[i] -= 0.05f * v;
    }
  }
};

std::vector<std::vector<float>> run(int W, size_t P, WireDType wire, bool eachChunk, std::vector<int>* calls = nullptr) {
  Cluster cluster;
  cluster.world = W;
  std::vector<std::vector<float>> weights(static_cast<size_t>(W));
  if (calls)
    calls->assign(static_cast<size_t>(W), 0);
  auto results = cluster.run([&](int r, Communicator& comm) {
    ParamSync sync(comm, P, {.wire = wire, .chunkElements = 1000, .updateEachChunk = eachChunk});
    Sgd sgd(P);
    std::vector<float> g(P), w(P);
    for (size_t i = 0; i < P; ++i)
      w[i] = static_cast<float>(i % 13) * 0.1f;
    for (int it = 0; it < 4; ++it) {
      for (size_t i = 0; i < P; ++i)
        g[i] = gradient(r, it, i);
      sync.step(g, w, [&](std::span<float> ws, std::span<const float> gs, size_t offset) {
        if (calls)
          ++(*calls)[static_cast<size_t>(r)];
        sgd(ws, gs, offset);
      });
    }
    weights[static_cast<size_t>(r)] = w;
  });
  for (int r = 0; r < W; ++r)
    EXPECT_FALSE(results[static_cast<size_t>(r)].error) << results[static_cast<size_t>(r)].error->what();
  return weights;
}

} // namespace

TEST(ChunkUpdate, SameBitsAsOneUpdatePerBlock) {
  for (WireDType wire : {WireDType::F32, WireDType::BF16})
    for (int W : {1, 2, 3, 4})
      // (Not P = 0: no data moves, so ranks do not wait for each other and
      // one that leaves early fails the others' next iteration.)
      for (size_t P : {size_t{1}, size_t{4999}, size_t{12345}}) {
        std::vector<int> calls;
        auto perBlock = run(W, P, wire, false);
        auto perChunk = run(W, P, wire, true, &calls);
        for (int r = 0; r < W; ++r) {
          EXPECT_EQ(perChunk[static_cast<size_t>(r)], perBlock[static_cast<size_t>(r)])
              << "W=" << W << " P=" << P << " wire=" << static_cast<int>(wire) << " rank " << r;
          size_t own = blockRange(P, static_cast<size_t>(W), static_cast<size_t>(r)).length;
          EXPECT_EQ(calls[static_cast<size_t>(r)], 4 * static_cast<int>(chunkCount(own, 1000)));
        }
      }
}

TEST(ChunkUpdate, OwnedChunksTileTheOwnedBlock) {
  Cluster cluster;
  cluster.world = 3;
  cluster.run([&](int, Communicator& comm) {
    ParamSync sync(comm, 10'001, {.chunkElements = 1000, .updateEachChunk = true});
    auto chunks = sync.ownedChunks();
    size_t at = sync.ownedBlock().offset;
    for (auto& c : chunks) {
      EXPECT_EQ(c.offset, at);
      at = c.end();
    }
    EXPECT_EQ(at, sync.ownedBlock().end());
  });
}

TEST(ChunkUpdate, EarlyWeightsWaitUntilTheWholeGradientIsReady) {
  // Rank 1 owns the second half and updates it chunk by chunk as soon as
  // rank 0 marks that half ready; rank 0 is still "in backward" and must
  // keep seeing its old weights until it marks the rest.
  constexpr size_t P = 20'000;
  Cluster cluster;
  cluster.world = 2;
  std::vector<float> seenDuringBackward;
  std::vector<std::vector<float>> finalWeights(2);
  auto results = cluster.run([&](int r, Communicator& comm) {
    ParamSync sync(comm, P, {.chunkElements = 1000, .updateEachChunk = true});
    std::vector<float> g(P, 1.0f), w(P, 5.0f);
    auto sgd = [](std::span<float> ws, std::span<const float> gs, size_t) {
      for (size_t i = 0; i < ws.size(); ++i)
        ws[i] -= gs[i];
    };
    if (r == 0) {
      sync.begin(g, w);
      sync.gradientReady(P / 2, P); // rank 1's block: it can finish and send now
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      seenDuringBackward.assign(w.begin() + P / 2, w.end());
      sync.gradientReady(0, P / 2);
      sync.finish(sgd);
    } else {
      sync.step(g, w, sgd);
    }
    finalWeights[static_cast<size_t>(r)] = w;
  });
  for (auto& res : results)
    ASSERT_FALSE(res.error) << res.error->what();
  EXPECT_EQ(seenDuringBackward, std::vector<float>(P / 2, 5.0f));
  EXPECT_EQ(finalWeights[0], std::vector<float>(P, 3.0f)); // 5 - (1 + 1)
  EXPECT_EQ(finalWeights[1], finalWeights[0]);
}

TEST(ChunkUpdate, EarlyWeightsWaitAlsoWithOneUpdatePerBlock) {
  // W = 3: rank 1 gets its block's pieces from rank 0 (marked first) and
  // rank 2 (no overlap), updates and sends while rank 0 is still "in
  // backward" on the other blocks.
  constexpr size_t P = 30'000;
  Cluster cluster;
  cluster.world = 3;
  std::vector<float> seenDuringBackward;
  std::vector<std::vector<float>> finalWeights(3);
  auto results = cluster.run([&](int r, Communicator& comm) {
    ParamSync sync(comm, P, {.chunkElements = 1000});
    std::vector<float> g(P, 1.0f), w(P, 5.0f);
    auto sgd = [](std::span<float> ws, std::span<const float> gs, size_t) {
      for (size_t i = 0; i < ws.size(); ++i)
        ws[i] -= gs[i];
    };
    if (r == 0) {
      const BlockRange b1 = blockRange(P, 3, 1);
      sync.begin(g, w);
      sync.gradientReady(b1.offset, b1.end());
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      seenDuringBackward.assign(w.begin() + static_cast<ptrdiff_t>(b1.offset), w.begin() + static_cast<ptrdiff_t>(b1.end()));
      sync.gradientReady(0, P);
      sync.finish(sgd);
    } else {
      sync.step(g, w, sgd);
    }
    finalWeights[static_cast<size_t>(r)] = w;
  });
  for (auto& res : results)
    ASSERT_FALSE(res.error) << res.error->what();
  EXPECT_EQ(seenDuringBackward, std::vector<float>(P / 3, 5.0f));
  EXPECT_EQ(finalWeights[0], std::vector<float>(P, 2.0f)); // 5 - (1 + 1 + 1)
  EXPECT_EQ(finalWeights[2], finalWeights[0]);
}
