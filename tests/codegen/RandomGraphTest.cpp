// Generated graphs of element-wise and broadcast ops, and reductions at the
// end of their chains (broadcast back into later ops), on random shapes
// (ranks 0-4, sizes 1, odd and multiples of the vector width), their
// training graphs (so broadcast gradients reduce), Jit against the
// reference, with fusion on and off.
#include "compiler/ir/Random.h"
#include "compiler/ir/Verifier.h"
#include "compiler/passes/Autodiff.h"
#include "tests/codegen/TestSupport.h"

#include <gtest/gtest.h>

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;

struct Rng {
  uint64_t key, n = 0;
  uint64_t below(uint64_t m) { return randomBits(key, n++) % m; }
};

struct Generated {
  Graph graph;
  int fusedCandidates = 0;
};

Generated randomGraph(uint64_t seed) {
  Rng rng{mix64(seed * 7919 + 1)};
  const int64_t sizes[] = {1, 2, 3, 5, 7, 16, 17, 33};
  Shape full;
  for (uint64_t r = rng.below(5); r > 0; --r) full.push_back(sizes[rng.below(8)]);
  // A shape that broadcasts to `full`: some dims set to 1, some leading dims dropped.
  auto broadcastable = [&]() {
    Shape s = full;
    for (auto& d : s)
      if (rng.below(3) == 0) d = 1;
    size_t drop = s.empty() ? 0 : rng.below(s.size() + 1);
    return Shape(s.begin() + static_cast<long>(drop), s.end());
  };
  GraphBuilder b;
  std::vector<ValueId> pool;
  int params = 0;
  auto newParam = [&](const Shape& s) {
    return *b.parameter("p" + std::to_string(params++), {DType::F32, dimsOf(s)}, Initializer::uniform(-1.5, 1.5));
  };
  pool.push_back(newParam(full));
  pool.push_back(newParam(broadcastable()));
  auto pick = [&] { return pool[rng.below(pool.size())]; };
  for (int step = 0; step < 14; ++step) {
    ValueId a = pick();
    ValueId c = rng.below(4) == 0 ? newParam(broadcastable()) : pick();
    Expected<ValueId> r = makeError("unset");
    auto axesOf = [&](ValueId v) {
      std::vector<int64_t> axes;
      for (int64_t d = 0; d < b.graph().type(v).rank(); ++d)
        if (rng.below(2) == 0) axes.push_back(d);
      return axes;
    };
    switch (rng.below(20)) {
    case 0: r = b.add(a, c); break;
    case 1: r = b.sub(a, c); break;
    case 2: r = b.mul(a, c); break;
    case 3: r = b.div(a, *b.add(*b.abs(c), b.scalar(0.5, DType::F32))); break;
    case 4: r = b.maximum(a, c); break;
    case 5: r = b.minimum(a, c); break;
    case 6: r = b.where(*b.greater(a, c), a, c); break;
    case 7: r = b.tanh(a); break;
    case 8: r = b.sigmoid(a); break;
    case 9: r = b.relu(a); break;
    case 10: r = b.exp(*b.tanh(a)); break;
    case 11: r = b.log(*b.add(*b.abs(a), b.scalar(1.0, DType::F32))); break;
    case 12: r = b.sqrt(*b.add(*b.mul(a, a), b.scalar(0.25, DType::F32))); break;
    case 13: r = b.mul(a, *b.cast(*b.lessEqual(c, b.scalar(0.1, DType::F32)), DType::F32)); break;
    case 14: r = b.elu(a, 0.5); break;
    case 15: r = b.softplus(a); break;
    case 16: r = b.broadcastTo(a, dimsOf(full)); break;
    // Reductions at the end of a chain, their results broadcast back into one.
    case 17: r = b.sub(a, *b.max(*b.tanh(a), axesOf(a), true)); break;
    case 18: r = b.mul(c, *b.mean(*b.mul(a, a), axesOf(a), true)); break;
    case 19: {
      ValueId d = *b.sub(a, c);
      r = b.add(a, *b.sum(d, axesOf(d), true));
      break;
    }
    }
    if (r) pool.push_back(*r);
  }
  // Every value reaches the loss, so every parameter has a gradient.
  ValueId loss = *b.sum(pool.back());
  for (size_t i = 0; i + 1 < pool.size(); ++i) loss = *b.add(loss, *b.mean(pool[i]));
  EXPECT_TRUE(b.output("y", pool.back()).ok());
  EXPECT_TRUE(b.output("loss", loss).ok());
  return {b.finish(), 0};
}

TEST(JitRandomGraphs, ElementwiseAndBroadcastMatchReference) {
  int withGroups = 0, withRoots = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Graph forward = randomGraph(seed).graph;
    ASSERT_EQ(verifyGraph(forward), std::vector<std::string>{});
    auto training = passes::buildTrainingGraph(forward);
    ASSERT_TRUE(training.ok()) << training.error().message;
    interp::Feeds feeds = randomFeeds(*training, seed);
    auto stats = expectSameAsReference(*training, feeds, 2e-4, {seed % 2 == 0, static_cast<int>(1 + seed % 2), false});
    withRoots += codegen::dumpFused(*training).find("reduced by") != std::string::npos;
    EXPECT_EQ(stats.referenceSteps, 0) << stats.referenceOps;
    withGroups += stats.fusedGroups > 0;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_EQ(withGroups, 40);
  EXPECT_GE(withRoots, 30); // most graphs end a chain in a fused reduction
}

} // namespace
} // namespace bdl::codegentest
