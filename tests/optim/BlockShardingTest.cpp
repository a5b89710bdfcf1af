// The property the distributed layer relies on: applying the optimizer to W
// contiguous blocks, each with its own optimizer and state, gives bit-for-bit
// the weights and state of one optimizer over the whole vector.
#include "runtime/optim/Optimizer.h"
#include "runtime/optim/OptimizerFactory.h"
#include "tests/optim/ReferenceData.h"

#include <gtest/gtest.h>

namespace bdl::optim {
namespace {

using testing::describe;
using testing::floats;
using testing::namedArgs;
using testing::reference;

std::vector<BlockRange> blocksFromSizes(std::initializer_list<int64_t> sizes) {
  std::vector<BlockRange> blocks;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    blocks.push_back({offset, s});
    offset += s;
  }
  return blocks;
}

// Every way of cutting n elements that the test tries: the dist split for
// W = 1..5 and hand-made cuts with blocks of size 0 and 1 in odd places.
std::vector<std::vector<BlockRange>> splitsOf(int64_t n) {
  std::vector<std::vector<BlockRange>> splits;
  for (int64_t w = 1; w <= 5; ++w) splits.push_back(splitIntoBlocks(n, w));
  if (n == 37) {
    for (auto sizes : {std::initializer_list<int64_t>{0, 37}, {37, 0}, {1, 0, 36}, {1, 1, 1, 34},
                       {18, 0, 1, 18}, {5, 3, 0, 28, 1}})
      splits.push_back(blocksFromSizes(sizes));
  } else if (n == 1) {
    splits.push_back(blocksFromSizes({0, 1}));
    splits.push_back(blocksFromSizes({1, 0, 0}));
  }
  return splits;
}

struct BlockRun {
  std::vector<float> weights;
  OptimizerState state;
};

BlockRun runBlocks(const nlohmann::json& c, const nlohmann::json& input, const std::vector<BlockRange>& blocks) {
  const auto& ref = reference();
  BlockRun run{floats(input["weights"]), {}};
  std::vector<Optimizer> owners;
  for (BlockRange b : blocks) owners.push_back(
      makeOptimizer(c["optimizer"].get<std::string>(), namedArgs(c["args"]), b).value());
  for (size_t step = 0; step < ref["steps"].get<size_t>(); ++step) {
    const std::vector<float> grads = floats(input["grads"][step]);
    for (Optimizer& opt : owners) {
      const BlockRange b = opt.block();
      const double lr = c.contains("lrs") ? c["lrs"][step].get<double>() : opt.config().lr;
      const auto off = static_cast<size_t>(b.offset), len = static_cast<size_t>(b.length);
      EXPECT_TRUE(opt.step(std::span(run.weights).subspan(off, len),
                           std::span<const float>(grads).subspan(off, len), lr)
                      .ok());
    }
  }
  std::vector<OptimizerState> states;
  for (const Optimizer& opt : owners) states.push_back(opt.state());
  run.state = gatherState(states).value();
  return run;
}

TEST(BlockSharding, BlocksGiveBitIdenticalWeightsAndState) {
  const auto& ref = reference();
  int checked = 0;
  for (const auto& c : ref["optimizer_cases"]) {
    const int64_t n = c["size"];
    const auto& input = ref["inputs"][std::to_string(n)];
    const BlockRun whole = runBlocks(c, input, {BlockRange{0, n}});
    for (const auto& blocks : splitsOf(n)) {
      std::string cut;
      for (BlockRange b : blocks) cut += std::to_string(b.length) + " ";
      SCOPED_TRACE(describe(c) + " blocks of " + cut);
      const BlockRun split = runBlocks(c, input, blocks);
      ASSERT_EQ(split.weights, whole.weights);
      ASSERT_EQ(split.state.block, whole.state.block);
      ASSERT_EQ(split.state.step, whole.state.step);
      ASSERT_EQ(split.state.buffers.size(), whole.state.buffers.size());
      for (size_t i = 0; i < whole.state.buffers.size(); ++i) {
        EXPECT_EQ(split.state.buffers[i].name, whole.state.buffers[i].name);
        EXPECT_EQ(split.state.buffers[i].values, whole.state.buffers[i].values);
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 500);
}

TEST(BlockSharding, SplitIntoBlocksTilesTheVector) {
  for (int64_t n : {0, 1, 2, 37, 1000}) {
    for (int64_t w = 1; w <= 7; ++w) {
      const auto blocks = splitIntoBlocks(n, w);
      ASSERT_EQ(blocks.size(), static_cast<size_t>(w));
      int64_t next = 0, smallest = n, largest = 0;
      for (BlockRange b : blocks) {
        EXPECT_EQ(b.offset, next);
        next = b.end();
        smallest = std::min(smallest, b.length);
        largest = std::max(largest, b.length);
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1);
    }
  }
  EXPECT_TRUE(splitIntoBlocks(10, 0).empty());
}

TEST(BlockSharding, StateKeptOnlyForTheOwnedBlock) {
  auto opt = makeOptimizer("adam", {{"lr", 0.1}, {"amsgrad", true}}, {1'000'000, 3}).value();
  for (const StateBuffer& b : opt.state().buffers) EXPECT_EQ(b.values.size(), 3u) << b.name;
}

} // namespace
} // namespace bdl::optim
