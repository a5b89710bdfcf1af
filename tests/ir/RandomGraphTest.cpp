// Differential test of the simplify passes: random graphs (with repeated
// subexpressions, constant subtrees and dead values) and their training
// graphs give exactly the same outputs before and after
// ConstantFold + CommonSubexpressions + DeadCode, and stay verified.
#include "compiler/interp/Interpreter.h"
#include "compiler/ir/Random.h"
#include "compiler/ir/Verifier.h"
#include "compiler/passes/Autodiff.h"
#include "compiler/passes/CommonSubexpressions.h"
#include "compiler/passes/ConstantFold.h"
#include "compiler/passes/DeadCode.h"
#include "tests/ir/TestUtil.h"

#include <gtest/gtest.h>

namespace bdl::irtest {
namespace {

using namespace bdl::ir;

struct Rng {
  uint64_t key, n = 0;
  uint64_t below(uint64_t m) { return randomBits(key, n++) % m; }
};

Graph randomGraph(uint64_t seed) {
  Rng rng{mix64(seed)};
  GraphBuilder b;
  TensorType square{DType::F64, dimsOf({3, 3})};
  std::vector<ValueId> pool = {*b.input("x", square),
                               *b.parameter("w", square, Initializer::zeros()),
                               *b.parameter("v", {DType::F64, dimsOf({3})}, Initializer::zeros()),
                               b.constant(randomTensor(DType::F64, {3, 3}, seed)),
                               b.scalar(0.5, DType::F64), b.scalar(0.5, DType::F64)};
  auto pick = [&] { return pool[rng.below(pool.size())]; };
  for (int step = 0; step < 25; ++step) {
    ValueId a = pick(), c = pick();
    Expected<ValueId> r = makeError("unset");
    switch (rng.below(9)) {
    case 0: r = b.add(a, c); break;
    case 1: r = b.mul(a, c); break;
    case 2: r = b.sub(a, c); break;
    case 3: r = b.maximum(a, c); break;
    case 4: r = b.tanh(a); break;
    case 5: r = b.sigmoid(a); break;
    case 6: r = b.matmul(a, c); break; // fails unless both are matrices
    case 7: r = b.sum(a, {}, false); break;
    case 8: r = b.mean(a, {b.type(a).rank() > 0 ? int64_t{-1} : int64_t{0}}, true); break;
    }
    if (r) pool.push_back(*r);
    if (step % 5 == 4 && r) pool.push_back(*b.add(*r, *b.tanh(*r))); // repeated work
  }
  ValueId last = pool.back();
  EXPECT_TRUE(b.output("y", last).ok());
  // Tie every parameter to the loss so the training graph has gradients.
  ValueId loss = *b.add(*b.sum(last), *b.add(*b.sum(pool[1]), *b.sum(pool[2])));
  EXPECT_TRUE(b.output("loss", loss).ok());
  return b.finish();
}

TEST(RandomGraphs, SimplifyPassesPreserveEveryOutput) {
  int shrunk = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Graph forward = randomGraph(seed);
    ASSERT_TRUE(verifyGraph(forward).empty());
    auto training = passes::buildTrainingGraph(forward);
    ASSERT_TRUE(training.ok()) << training.error().message;
    Graph simple = passes::eliminateDeadCode(
        passes::eliminateCommonSubexpressions(passes::foldConstants(*training)));
    ASSERT_EQ(verifyGraph(simple), std::vector<std::string>{});
    EXPECT_LE(simple.size(), training->size());
    shrunk += simple.size() < training->size();
    interp::Feeds feeds = {{"x", randomTensor(DType::F64, {3, 3}, seed + 100)},
                           {"w", randomTensor(DType::F64, {3, 3}, seed + 200)},
                           {"v", randomTensor(DType::F64, {3}, seed + 300)}};
    auto before = interp::run(*training, feeds), after = interp::run(simple, feeds);
    ASSERT_TRUE(before.ok() && after.ok());
    for (const char* out : {"y", "loss", "grad:w", "grad:v"})
      EXPECT_EQ(values(after->outputs.at(out)), values(before->outputs.at(out))) << out;
  }
  EXPECT_GT(shrunk, 30) << "the passes should simplify most random graphs";
}

} // namespace
} // namespace bdl::irtest
