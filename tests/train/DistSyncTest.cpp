// The trainer's distributed sync (DistSync): owners step their block chunk
// by chunk, each chunk with its own optimizer, as each chunk's sum arrives.
// With per-element optimizer state that must give the bits of one optimizer
// stepping the whole vector on the rank-ordered sum of the gradients, and
// its gathered state must be that optimizer's state.
#include "runtime/optim/GradClip.h"
#include "runtime/optim/Optimizer.h"
#include "runtime/train/DistSync.h"
#include "tests/dist/TestCluster.h"

#include <gtest/gtest.h>

#include <cstring>

namespace bdl::train {
namespace {

float gradient(int rank, int iteration, size_t i) {
  uint32_t x = static_cast<uint32_t>(i * 2654435761u) ^ static_cast<uint32_t>(rank * 40503 + iteration * 977);
  x ^= x >> 13;
  return static_cast<float>(x % 20011) * 1e-4f - 1.0f;
}

bool sameBits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

TEST(DistSync, ChunkedOwnersGiveTheBitsOfOneOptimizerOverTheWholeVector) {
  constexpr size_t P = 10007; // blocks of 5004 and 5003 elements (+2 extras), chunks of 1000: several per owner
  constexpr int W = 2, kSteps = 5;
  optim::OptimizerConfig config;
  config.kind = optim::OptimizerKind::Adam;
  config.lr = 0.01;
  config.weightDecay = 0.01;
  ClipRule clip{ClipRule::Kind::Value, 1.5};

  // The reference: one optimizer over [0, P) on g0 + g1, clipped.
  std::vector<float> want(P);
  for (size_t i = 0; i < P; ++i) want[i] = static_cast<float>(i % 13) * 0.1f;
  auto whole = optim::Optimizer::create(config, {0, static_cast<int64_t>(P)});
  ASSERT_TRUE(whole) << whole.message();
  for (int it = 0; it < kSteps; ++it) {
    std::vector<float> sum(P);
    for (size_t i = 0; i < P; ++i) sum[i] = gradient(0, it, i) + gradient(1, it, i);
    optim::clipByValue(sum, 1.5f);
    ASSERT_TRUE(whole.value().step(want, sum, 0.01));
  }
  optim::OptimizerState wantState = whole.value().state();

  dist::test::Cluster cluster;
  cluster.world = W;
  std::vector<std::vector<float>> got(W);
  std::vector<double> losses(W);
  std::vector<optim::OptimizerState> states(W);
  auto results = cluster.run([&](int r, dist::Communicator& comm) {
    auto sync = makeDistSync(comm, config, clip, P, 1000);
    std::vector<float> w(P), g(P);
    for (size_t i = 0; i < P; ++i) w[i] = static_cast<float>(i % 13) * 0.1f;
    for (int it = 0; it < kSteps; ++it) {
      for (size_t i = 0; i < P; ++i) g[i] = gradient(r, it, i);
      bool stop = false;
      losses[static_cast<size_t>(r)] = sync->step(w, g, 0.25 * (r + 1), 0.01, stop);
      EXPECT_FALSE(stop);
    }
    got[static_cast<size_t>(r)] = w;
    states[static_cast<size_t>(r)] = sync->fullState();
  });
  for (const auto& res : results) ASSERT_FALSE(res.error) << res.error->what();
  for (int r = 0; r < W; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r));
    EXPECT_TRUE(sameBits(got[static_cast<size_t>(r)], want));
    EXPECT_DOUBLE_EQ(losses[static_cast<size_t>(r)], 0.75); // the weighted losses' sum
    const optim::OptimizerState& s = states[static_cast<size_t>(r)];
    EXPECT_EQ(s.step, wantState.step);
    EXPECT_EQ(s.block, (optim::BlockRange{0, static_cast<int64_t>(P)}));
    ASSERT_EQ(s.buffers.size(), wantState.buffers.size());
    for (size_t b = 0; b < s.buffers.size(); ++b)
      EXPECT_TRUE(sameBits(s.buffers[b].values, wantState.buffers[b].values)) << s.buffers[b].name;
  }

  // Restored from the gathered state into fresh owners, one more step
  // continues exactly.
  std::vector<float> sum(P);
  for (size_t i = 0; i < P; ++i) sum[i] = gradient(0, kSteps, i) + gradient(1, kSteps, i);
  optim::clipByValue(sum, 1.5f);
  ASSERT_TRUE(whole.value().step(want, sum, 0.01));
  auto again = cluster.run([&](int r, dist::Communicator& comm) {
    auto sync = makeDistSync(comm, config, clip, P, 1000);
    sync->restoreFullState(states[0]);
    std::vector<float> w = got[static_cast<size_t>(r)], g(P);
    for (size_t i = 0; i < P; ++i) g[i] = gradient(r, kSteps, i);
    bool stop = r == 1; // a stop vote reaches every rank
    sync->step(w, g, 0, 0.01, stop);
    EXPECT_TRUE(stop);
    EXPECT_TRUE(sameBits(w, want)) << "rank " << r;
  });
  for (const auto& res : again) ASSERT_FALSE(res.error) << res.error->what();
}

} // namespace
} // namespace bdl::train
