// Checkpoint and re-shard: a run that saves its state mid-way (through the
// optimizer.npz tensor form) and resumes in a fresh optimizer, possibly with
// another worker count, ends bit-identical to a run that never stopped.
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

// Steps [from, to) of a reference case on `blocks`, starting from the given
// per-block states (empty: fresh optimizers). Returns the final states.
std::vector<OptimizerState> runSteps(const nlohmann::json& c, const nlohmann::json& input,
                                     std::vector<float>& weights, const std::vector<BlockRange>& blocks,
                                     const std::vector<OptimizerState>& start, size_t from, size_t to) {
  std::vector<OptimizerState> out;
  for (size_t k = 0; k < blocks.size(); ++k) {
    auto opt = makeOptimizer(c["optimizer"].get<std::string>(), namedArgs(c["args"]), blocks[k]).value();
    if (!start.empty()) {
      Status s = opt.restore(start[k]);
      EXPECT_TRUE(s.ok()) << s.message();
    }
    const auto off = static_cast<size_t>(blocks[k].offset), len = static_cast<size_t>(blocks[k].length);
    for (size_t step = from; step < to; ++step) {
      const std::vector<float> grads = floats(input["grads"][step]);
      const double lr = c.contains("lrs") ? c["lrs"][step].get<double>() : opt.config().lr;
      EXPECT_TRUE(opt.step(std::span(weights).subspan(off, len),
                           std::span<const float>(grads).subspan(off, len), lr).ok());
    }
    out.push_back(opt.state());
  }
  return out;
}

TEST(OptimizerState, ResumeThroughTensorsAndReshardIsExact) {
  const auto& ref = reference();
  for (const auto& c : ref["optimizer_cases"]) {
    const int64_t n = c["size"];
    const auto& input = ref["inputs"][std::to_string(n)];
    std::vector<float> uninterrupted = floats(input["weights"]);
    runSteps(c, input, uninterrupted, {{0, n}}, {}, 0, 10);

    for (auto [before, after] : {std::pair<int64_t, int64_t>{1, 1}, {3, 2}, {1, 4}, {5, 3}}) {
      SCOPED_TRACE(describe(c) + " workers " + std::to_string(before) + " -> " + std::to_string(after));
      std::vector<float> weights = floats(input["weights"]);
      const auto saved = runSteps(c, input, weights, splitIntoBlocks(n, before), {}, 0, 4);
      // Checkpoint: gather to the whole vector, write as tensors, read back.
      const OptimizerState whole = gatherState(saved).value();
      const auto tensors = stateToTensors(whole);
      const OptimizerConfig config =
          makeOptimizerConfig(c["optimizer"].get<std::string>(), namedArgs(c["args"])).value();
      auto reread = stateFromTensors(config, n, tensors);
      ASSERT_TRUE(reread.ok()) << reread.message();
      EXPECT_EQ(reread->step, 4);
      // Resume on another worker count.
      std::vector<OptimizerState> resumed;
      for (BlockRange b : splitIntoBlocks(n, after)) resumed.push_back(sliceState(reread.value(), b).value());
      runSteps(c, input, weights, splitIntoBlocks(n, after), resumed, 4, 10);
      ASSERT_EQ(weights, uninterrupted);
    }
  }
}

OptimizerState someState() {
  auto opt = makeOptimizer("rmsprop", {{"momentum", 0.9}, {"centered", true}}, {2, 3}).value();
  std::vector<float> w{1, 2, 3}, g{0.5f, -1, 2};
  EXPECT_TRUE(opt.step(w, g).ok());
  return opt.state();
}

TEST(OptimizerState, BuffersAreNamedLikeTorch) {
  const OptimizerState s = someState();
  ASSERT_EQ(s.buffers.size(), 3u);
  EXPECT_EQ(s.buffers[0].name, "square_avg");
  EXPECT_EQ(s.buffers[1].name, "momentum_buffer");
  EXPECT_EQ(s.buffers[2].name, "grad_avg");
  EXPECT_EQ(s.step, 1);
  const auto tensors = stateToTensors(s);
  ASSERT_EQ(tensors.size(), 4u);
  EXPECT_EQ(tensors[0].first, "step");
  EXPECT_EQ(tensors[0].second.dtype(), DType::I64);
  EXPECT_EQ(tensors[0].second.data<int64_t>()[0], 1);
  EXPECT_EQ(tensors[1].second.shape(), Shape{3});
  EXPECT_EQ(tensors[1].second.data<float>()[2], s.buffers[0].values[2]);
}

TEST(OptimizerState, RestoreRejectsMismatchedState) {
  auto opt = makeOptimizer("rmsprop", {{"momentum", 0.9}, {"centered", true}}, {2, 3}).value();
  const OptimizerState good = someState();
  EXPECT_TRUE(opt.restore(good).ok());
  EXPECT_EQ(opt.stepCount(), 1);

  auto expectError = [&](OptimizerState s, std::string_view needle) {
    Status st = opt.restore(s);
    ASSERT_FALSE(st.ok()) << "expected an error containing: " << needle;
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  };
  OptimizerState s = good;
  s.kind = OptimizerKind::Adam;
  expectError(s, "the saved state is for adam");
  s = good;
  s.block = {0, 3};
  expectError(s, "covers [0, 3) but this optimizer owns [2, 5)");
  s = good;
  s.buffers.erase(s.buffers.begin() + 1);
  expectError(s, "buffer 'momentum_buffer' is missing");
  s = good;
  s.buffers.push_back({"exp_avg", {0, 0, 0}});
  expectError(s, "unexpected buffer 'exp_avg'");
  s = good;
  s.buffers[2].values.pop_back();
  expectError(s, "buffer 'grad_avg' has 2 elements, expected 3");
  s = good;
  s.step = -1;
  expectError(s, "step must be >= 0");
  EXPECT_EQ(opt.stepCount(), 1) << "a failed restore changes nothing";
}

TEST(OptimizerState, GatherAndSliceRejectBadTilings) {
  const OptimizerState a = someState(); // [2, 5)
  OptimizerState b = a;
  b.block = {5, 3};
  EXPECT_TRUE(gatherState(std::vector{b, a}).ok()) << "any order";
  EXPECT_EQ(gatherState(std::vector{b, a})->block, (BlockRange{2, 6}));
  OptimizerState gap = a;
  gap.block = {6, 3};
  EXPECT_NE(gatherState(std::vector{a, gap}).message().find("leaves a gap after offset 5"), std::string::npos);
  OptimizerState overlap = a;
  overlap.block = {4, 3};
  EXPECT_NE(gatherState(std::vector{a, overlap}).message().find("overlaps"), std::string::npos);
  OptimizerState later = b;
  later.step = 2;
  EXPECT_NE(gatherState(std::vector{a, later}).message().find("is at step 2"), std::string::npos);
  EXPECT_FALSE(gatherState({}).ok());

  EXPECT_FALSE(sliceState(a, {1, 2}).ok());
  EXPECT_FALSE(sliceState(a, {4, 2}).ok());
  auto part = sliceState(a, {3, 1});
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->buffers[1].values, std::vector<float>{a.buffers[1].values[1]});
  EXPECT_TRUE(sliceState(a, {5, 0}).ok()) << "an empty block at the end";
}

TEST(OptimizerState, FromTensorsChecksNamesShapesAndTypes) {
  const OptimizerConfig config = makeOptimizerConfig("adam", {{"lr", 0.1}}).value();
  OptimizerState s{OptimizerKind::Adam, 7, {0, 2}, {{"exp_avg", {1, 2}}, {"exp_avg_sq", {3, 4}}}};
  auto tensors = stateToTensors(s);
  EXPECT_TRUE(stateFromTensors(config, 2, tensors).ok());
  EXPECT_NE(stateFromTensors(config, 3, tensors).message().find("must be f32 with 3 elements"),
            std::string::npos);
  auto noStep = tensors;
  noStep.erase(noStep.begin());
  EXPECT_NE(stateFromTensors(config, 2, noStep).message().find("'step' is missing"), std::string::npos);
  auto floatStep = tensors; // torch saves step as a float tensor
  floatStep[0].second = Tensor(DType::F32, {});
  floatStep[0].second.data<float>()[0] = 7.0f;
  EXPECT_EQ(stateFromTensors(config, 2, floatStep)->step, 7);
  auto extra = tensors;
  extra.emplace_back("max_exp_avg_sq", Tensor(DType::F32, {2}));
  EXPECT_NE(stateFromTensors(config, 2, extra).message().find("unexpected buffer 'max_exp_avg_sq'"),
            std::string::npos);
}

} // namespace
} // namespace bdl::optim
