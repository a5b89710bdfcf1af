// The factory's contract: names and values as the compiler passes them,
// torch's defaults for what is left out, and a clear error (never an abort)
// for anything wrong.
#include "runtime/optim/OptimizerFactory.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace bdl::optim {
namespace {

void expectError(const Result<OptimizerConfig>& r, std::string_view expected) {
  ASSERT_FALSE(r.ok()) << "expected the error: " << expected;
  EXPECT_EQ(r.message(), expected);
}

TEST(OptimizerFactory, BuildsWithDefaults) {
  auto sgd = makeOptimizerConfig("sgd", {{"lr", 0.1}, {"momentum", 0.9}, {"nesterov", true}});
  ASSERT_TRUE(sgd.ok()) << sgd.message();
  EXPECT_EQ(sgd->kind, OptimizerKind::Sgd);
  EXPECT_EQ(sgd->lr, 0.1);
  EXPECT_EQ(sgd->momentum, 0.9);
  EXPECT_TRUE(sgd->nesterov);
  EXPECT_EQ(sgd->dampening, 0.0);

  auto adamw = makeOptimizerConfig("adamw", {});
  ASSERT_TRUE(adamw.ok());
  EXPECT_EQ(adamw->lr, 1e-3);
  EXPECT_EQ(adamw->weightDecay, 0.01);
  EXPECT_EQ(adamw->beta1, 0.9);
  EXPECT_EQ(adamw->beta2, 0.999);
  EXPECT_EQ(adamw->eps, 1e-8);
  EXPECT_EQ(makeOptimizerConfig("adam", {})->weightDecay, 0.0);
  EXPECT_EQ(makeOptimizerConfig("adagrad", {})->eps, 1e-10);
  EXPECT_EQ(makeOptimizerConfig("adagrad", {})->lr, 1e-2);
  EXPECT_EQ(makeOptimizerConfig("rmsprop", {})->alpha, 0.99);
  EXPECT_EQ(makeOptimizerConfig("rmsprop", {{"rho", 0.9}})->alpha, 0.9);
  EXPECT_EQ(makeOptimizerConfig("rmsprop", {{"alpha", 0.8}})->alpha, 0.8);
  EXPECT_EQ(makeOptimizerConfig("sgd", {{"lr", 1}})->lr, 1.0) << "an integer literal";

  auto opt = makeOptimizer("adam", {{"lr", 0.01}}, {3, 4});
  ASSERT_TRUE(opt.ok());
  EXPECT_EQ(opt->block(), (BlockRange{3, 4}));
  EXPECT_EQ(opt->buffer("exp_avg").size(), 4u);
}

TEST(OptimizerFactory, UnknownNamesSuggestTheClosest) {
  expectError(makeOptimizerConfig("sgd", {{"lr", 0.1}, {"beta1", 0.9}}),
              "sgd has no argument 'beta1'; it takes lr, momentum, dampening, nesterov, "
              "weight_decay, maximize ('beta1' is an argument of adam, adamw)");
  expectError(makeOptimizerConfig("sgd", {{"lr", 0.1}, {"momentun", 0.9}}),
              "sgd has no argument 'momentun'; did you mean 'momentum'?");
  expectError(makeOptimizerConfig("adam", {{"weightdecay", 0.1}}),
              "adam has no argument 'weightdecay'; did you mean 'weight_decay'?");
  expectError(makeOptimizerConfig("adamw", {{"nesterov", true}}),
              "adamw has no argument 'nesterov'; it takes lr, beta1, beta2, eps, amsgrad, "
              "weight_decay, maximize ('nesterov' is an argument of sgd)");
  expectError(makeOptimizerConfig("adma", {}), "unknown optimizer 'adma'; did you mean 'adam'?");
  expectError(makeOptimizerConfig("lbfgs", {}),
              "unknown optimizer 'lbfgs'; known optimizers: sgd, adam, adamw, adagrad, rmsprop");
}

TEST(OptimizerFactory, BadValuesAreNamed) {
  expectError(makeOptimizerConfig("sgd", {{"lr", -0.1}}), "sgd: lr must be positive, got -0.1");
  expectError(makeOptimizerConfig("adam", {{"lr", 0.0}}), "adam: lr must be positive, got 0");
  expectError(makeOptimizerConfig("sgd", {}), "sgd needs a learning rate: sgd(lr = 0.1, ...)");
  expectError(makeOptimizerConfig("sgd", {{"lr", 0.1}, {"momentum", -0.5}}),
              "sgd: momentum must be finite and >= 0, got -0.5");
  expectError(makeOptimizerConfig("sgd", {{"lr", 0.1}, {"nesterov", true}}),
              "sgd: nesterov needs momentum > 0 and dampening = 0, got momentum 0 and dampening 0");
  expectError(makeOptimizerConfig("sgd", {{"lr", 0.1}, {"momentum", 0.9}, {"dampening", 0.1},
                                          {"nesterov", true}}),
              "sgd: nesterov needs momentum > 0 and dampening = 0, got momentum 0.9 and dampening 0.1");
  expectError(makeOptimizerConfig("adam", {{"beta1", 1.0}}), "adam: beta1 must be in [0, 1), got 1");
  expectError(makeOptimizerConfig("adamw", {{"beta2", -0.1}}), "adamw: beta2 must be in [0, 1), got -0.1");
  expectError(makeOptimizerConfig("adam", {{"eps", -1e-8}}), "adam: eps must be finite and >= 0, got -1e-08");
  expectError(makeOptimizerConfig("adam", {{"weight_decay", -0.01}}),
              "adam: weight_decay must be finite and >= 0, got -0.01");
  expectError(makeOptimizerConfig("adagrad", {{"lr_decay", -1}}),
              "adagrad: lr_decay must be finite and >= 0, got -1");
  expectError(makeOptimizerConfig("adagrad", {{"initial_accumulator_value", -1}}),
              "adagrad: initial_accumulator_value must be finite and >= 0, got -1");
  expectError(makeOptimizerConfig("rmsprop", {{"rho", 1.5}}), "rmsprop: rho must be in [0, 1], got 1.5");
  expectError(makeOptimizerConfig("sgd", {{"lr", std::numeric_limits<double>::infinity()}}),
              "sgd: lr must be positive, got inf");
  expectError(makeOptimizerConfig("adam", {{"lr", std::nan("")}}), "adam: lr must be positive, got nan");
}

TEST(OptimizerFactory, TypeAndDuplicateErrors) {
  expectError(makeOptimizerConfig("sgd", {{"lr", 0.1}, {"nesterov", 1}}),
              "sgd: nesterov must be true or false, got 1");
  expectError(makeOptimizerConfig("sgd", {{"lr", true}}), "sgd: lr must be a number, got true");
  expectError(makeOptimizerConfig("sgd", {{"lr", 0.1}, {"lr", 0.2}}), "sgd: argument 'lr' is given twice");
  expectError(makeOptimizerConfig("rmsprop", {{"rho", 0.9}, {"alpha", 0.9}}),
              "rmsprop: rho and alpha name the same argument; give only one");
}

TEST(OptimizerFactory, ArgumentNamesPerKind) {
  EXPECT_EQ(optimizerArgumentNames(OptimizerKind::Adagrad),
            (std::vector<std::string_view>{"lr", "eps", "lr_decay", "initial_accumulator_value",
                                           "weight_decay", "maximize"}));
  for (std::string_view name : optimizerNames()) {
    const auto kind = optimizerKindFromName(name);
    ASSERT_TRUE(kind.has_value());
    EXPECT_EQ(optimizerName(*kind), name);
  }
}

TEST(OptimizerFactory, CreateRejectsNegativeBlocks) {
  auto config = makeOptimizerConfig("adam", {}).value();
  EXPECT_FALSE(Optimizer::create(config, {-1, 3}).ok());
  EXPECT_FALSE(Optimizer::create(config, {0, -3}).ok());
  config.lr = -1;
  EXPECT_EQ(Optimizer::create(config, {0, 3}).message(), "adam: lr must be positive, got -1");
  Result<Optimizer> failed = Optimizer::create(config, {0, 3});
  EXPECT_THROW(failed.value(), std::logic_error) << "reading a failed result throws, never aborts";
}

} // namespace
} // namespace bdl::optim
