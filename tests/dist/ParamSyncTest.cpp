// Parameter synchronization with W ranks as threads over loopback TCP,
// checked bit for bit against a plain rank-order sum and the same updater
// applied serially; bf16 on the wire against its own serial oracle.
#include "runtime/dist/Bf16.h"
#include "runtime/dist/ParamSync.h"
#include "tests/dist/TestCluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

using namespace bdl::dist;
using bdl::dist::test::Cluster;

namespace {

float gradValue(int rank, size_t i, uint64_t iteration) {
  uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(rank) + 1) * 0xC2B2AE3D27D4EB4Full ^
               iteration * 0x165667B19E3779F9ull;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return static_cast<float>(x & 0xFFFFFF) / static_cast<float>(0x800000) - 1.0f; // [-1, 1)
}

float initialWeight(size_t i) { return static_cast<float>(i % 97) * 0.01f - 0.3f; }

void sgd(std::span<float> w, std::span<const float> g) {
  for (size_t i = 0; i < w.size(); ++i)
    w[i] -= 0.5f * g[i];
}

std::vector<float> makeGrad(int rank, size_t P, uint64_t iteration) {
  std::vector<float> g(P);
  for (size_t i = 0; i < P; ++i)
    g[i] = gradValue(rank, i, iteration);
  return g;
}

// f32 oracle: plain sum in rank order, then the same update.
std::vector<float> oracleF32(int W, size_t P, int iterations) {
  std::vector<float> w(P);
  for (size_t i = 0; i < P; ++i)
    w[i] = initialWeight(i);
  for (int it = 1; it <= iterations; ++it) {
    std::vector<float> sum(P, 0.0f);
    for (size_t i = 0; i < P; ++i) {
      float s = gradValue(0, i, static_cast<uint64_t>(it));
      for (int r = 1; r < W; ++r)
        s += gradValue(r, i, static_cast<uint64_t>(it));
      sum[i] = s;
    }
    sgd(w, sum);
  }
  return w;
}

bool bitEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

size_t firstDifference(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (std::memcmp(&a[i], &b[i], 4) != 0)
      return i;
  return std::min(a.size(), b.size());
}

// Runs `iterations` steps of P parameters on every rank; returns each
// rank's final weights.
std::vector<std::vector<float>> runSync(Cluster& cluster, size_t P, int iterations, ParamSyncOptions options,
                                        bool overlapped = false, unsigned jitterSeed = 0) {
  std::vector<std::vector<float>> finalWeights(static_cast<size_t>(cluster.world));
  auto results = cluster.run([&](int rank, Communicator& comm) {
    ParamSync sync(comm, P, options);
    std::vector<float> w(P);
    for (size_t i = 0; i < P; ++i)
      w[i] = initialWeight(i);
    std::mt19937 rng(jitterSeed * 31 + static_cast<unsigned>(rank));
    for (int it = 1; it <= iterations; ++it) {
      auto g = makeGrad(rank, P, static_cast<uint64_t>(it));
      std::vector<size_t> calls;
      auto update = [&](std::span<float> ws, std::span<const float> gs, size_t offset) {
        EXPECT_EQ(offset, sync.ownedBlock().offset);
        EXPECT_EQ(ws.size(), sync.ownedBlock().length);
        EXPECT_EQ(gs.size(), ws.size());
        calls.push_back(offset);
        sgd(ws, gs);
      };
      if (!overlapped) {
        sync.step(g, w, update);
      } else {
        // Backward produces the last layers first: mark ranges ready from
        // the end, in pieces of random size, with small random pauses.
        sync.begin(g, w);
        size_t end = P;
        while (end > 0) {
          size_t n = std::min<size_t>(end, 1 + rng() % std::max<size_t>(1, P / 7));
          sync.gradientReady(end - n, end);
          end -= n;
          if (jitterSeed && rng() % 3 == 0)
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
        }
        sync.finish(update);
      }
      EXPECT_EQ(calls.size(), sync.ownedBlock().length > 0 ? 1u : 0u);
    }
    finalWeights[static_cast<size_t>(rank)] = w;
  });
  for (int r = 0; r < cluster.world; ++r)
    EXPECT_FALSE(results[static_cast<size_t>(r)].error.has_value())
        << "rank " << r << ": " << results[static_cast<size_t>(r)].error->what();
  return finalWeights;
}

class ParamSyncWorld : public ::testing::TestWithParam<int> {};

} // namespace

TEST(BlockLayout, FirstRemainderBlocksAreOneLonger) {
  for (size_t P : {0u, 1u, 7u, 8u, 9u, 1001u})
    for (size_t W = 1; W <= 8; ++W) {
      size_t expectOffset = 0;
      for (size_t r = 0; r < W; ++r) {
        BlockRange b = blockRange(P, W, r);
        EXPECT_EQ(b.offset, expectOffset);
        EXPECT_EQ(b.length, P / W + (r < P % W ? 1 : 0));
        expectOffset = b.end();
      }
      EXPECT_EQ(expectOffset, P);
    }
}

TEST_P(ParamSyncWorld, MatchesPlainSumForEverySize) {
  const int W = GetParam();
  Cluster cluster;
  cluster.world = W;
  ParamSyncOptions options;
  options.chunkElements = 64; // several chunks per block even for small P
  const std::vector<size_t> sizes = {0, 1, static_cast<size_t>(W - 1), 1001, 64 * 3 * static_cast<size_t>(W) + 5};
  std::vector<std::vector<std::vector<float>>> got(sizes.size(),
                                                    std::vector<std::vector<float>>(static_cast<size_t>(W)));
  auto results = cluster.run([&](int rank, Communicator& comm) {
    // One communicator, one ParamSync after another: iteration numbers keep
    // their frames apart.
    for (size_t s = 0; s < sizes.size(); ++s) {
      const size_t P = sizes[s];
      ParamSync sync(comm, P, options);
      std::vector<float> w(P);
      for (size_t i = 0; i < P; ++i)
        w[i] = initialWeight(i);
      for (int it = 1; it <= 2; ++it) {
        auto g = makeGrad(rank, P, static_cast<uint64_t>(it));
        sync.step(g, w, [](std::span<float> ws, std::span<const float> gs, size_t) { sgd(ws, gs); });
      }
      got[s][static_cast<size_t>(rank)] = w;
    }
  });
  for (int r = 0; r < W; ++r)
    ASSERT_FALSE(results[static_cast<size_t>(r)].error) << results[static_cast<size_t>(r)].error->what();
  for (size_t s = 0; s < sizes.size(); ++s) {
    auto want = oracleF32(W, sizes[s], 2);
    for (int r = 0; r < W; ++r)
      EXPECT_TRUE(bitEqual(got[s][static_cast<size_t>(r)], want))
          << "W=" << W << " P=" << sizes[s] << " rank " << r << " first difference at element "
          << firstDifference(got[s][static_cast<size_t>(r)], want);
  }
}

INSTANTIATE_TEST_SUITE_P(W1to8, ParamSyncWorld, ::testing::Range(1, 9));

TEST(ParamSync, TenMillionFloatsAtW2MatchPlainSum) {
  Cluster cluster;
  cluster.world = 2;
  const size_t P = 10'000'000;
  auto start = std::chrono::steady_clock::now();
  auto weights = runSync(cluster, P, 1, {});
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto want = oracleF32(2, P, 1);
  for (int r = 0; r < 2; ++r)
    EXPECT_TRUE(bitEqual(weights[static_cast<size_t>(r)], want)) << "rank " << r;
  RecordProperty("seconds", std::to_string(elapsed));
}

TEST(ParamSync, OverlappedRepeatRunsAreBitIdentical) {
  // Ranges are marked ready in random pieces with random pauses, so chunks
  // arrive in a different order each run; the rank-order sum must not care.
  const size_t P = 100'003;
  ParamSyncOptions options;
  options.chunkElements = 1000;
  std::vector<std::vector<std::vector<float>>> runs;
  for (unsigned seed : {1u, 2u}) {
    Cluster cluster;
    cluster.world = 5;
    runs.push_back(runSync(cluster, P, 3, options, true, seed));
  }
  auto want = oracleF32(5, P, 3);
  for (int r = 0; r < 5; ++r) {
    EXPECT_TRUE(bitEqual(runs[0][static_cast<size_t>(r)], runs[1][static_cast<size_t>(r)])) << "rank " << r;
    EXPECT_TRUE(bitEqual(runs[0][static_cast<size_t>(r)], want)) << "rank " << r;
  }
}

TEST(ParamSync, Bf16WireKeepsF32MasterAndIdenticalReplicas) {
  const int W = 3;
  const size_t P = 5001;
  const int iterations = 3;
  ParamSyncOptions options;
  options.wire = WireDType::BF16;
  options.chunkElements = 256;
  Cluster cluster;
  cluster.world = W;
  auto got = runSync(cluster, P, iterations, options, true);

  // Oracle: owner o sums its own f32 piece and the others' bf16-rounded
  // pieces in rank order, updates its f32 master, and every replica gets
  // the master rounded to bf16.
  std::vector<float> master(P), weights(P);
  for (size_t i = 0; i < P; ++i)
    master[i] = initialWeight(i);
  for (int it = 1; it <= iterations; ++it) {
    for (int o = 0; o < W; ++o) {
      BlockRange b = blockRange(P, W, static_cast<size_t>(o));
      for (size_t i = b.offset; i < b.end(); ++i) {
        auto piece = [&](int r) {
          float g = gradValue(r, i, static_cast<uint64_t>(it));
          return r == o ? g : bf16ToF32(f32ToBf16(g));
        };
        float s = piece(0);
        for (int r = 1; r < W; ++r)
          s += piece(r);
        master[i] -= 0.5f * s;
        weights[i] = bf16ToF32(f32ToBf16(master[i]));
      }
    }
  }
  for (int r = 0; r < W; ++r)
    EXPECT_TRUE(bitEqual(got[static_cast<size_t>(r)], weights))
        << "rank " << r << " first difference at " << firstDifference(got[static_cast<size_t>(r)], weights);
}

TEST(ParamSync, MismatchedWireTypeFailsTheJobClearly) {
  Cluster cluster;
  cluster.world = 2;
  auto results = cluster.run([&](int rank, Communicator& comm) {
    ParamSyncOptions options;
    options.wire = rank == 0 ? WireDType::F32 : WireDType::BF16;
    options.chunkElements = 16;
    ParamSync sync(comm, 100, options);
    std::vector<float> g(100, 1.0f), w(100, 0.0f);
    sync.step(g, w, [](std::span<float>, std::span<const float>, size_t) {});
  });
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(results[static_cast<size_t>(r)].error) << "rank " << r;
    EXPECT_NE(std::string(results[static_cast<size_t>(r)].error->what()).find("same wire type"), std::string::npos)
        << results[static_cast<size_t>(r)].error->what();
  }
}

TEST(ParamSync, ReadyChunksLeaveBeforeFinish) {
  // Rank 1 marks its whole gradient ready, then "keeps computing" for 300 ms
  // before finish(). Rank 0 owns block 0: if rank 1's chunks left at
  // gradientReady(), rank 0 reduces and updates during that pause.
  Cluster cluster;
  cluster.world = 2;
  const size_t P = 4000;
  using Clock = std::chrono::steady_clock;
  Clock::time_point rank0Updated{}, rank1Finishing{};
  auto results = cluster.run([&](int rank, Communicator& comm) {
    ParamSync sync(comm, P, {.wire = WireDType::F32, .chunkElements = 100});
    auto g = makeGrad(rank, P, 1);
    std::vector<float> w(P, 0.0f);
    auto update = [&](std::span<float> ws, std::span<const float> gs, size_t) {
      if (rank == 0)
        rank0Updated = Clock::now();
      sgd(ws, gs);
    };
    sync.begin(g, w);
    sync.gradientReady(0, P);
    if (rank == 1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      rank1Finishing = Clock::now();
    }
    sync.finish(update);
  });
  for (auto& r : results)
    ASSERT_FALSE(r.error) << r.error->what();
  EXPECT_LT(rank0Updated, rank1Finishing) << "rank 0 could only reduce once rank 1 called finish()";
}
