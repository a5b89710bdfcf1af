// Program::train: a train job run from a host program, through include/bdl
// only.
#include "bdl/bdl.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace {

// A small classifier on synthetic data; `stop` and `checkpoint` vary.
std::string jobSource(const std::string& stop, const std::string& checkpoint = "") {
  return R"(
def Dense(x: f32[N, I], units: int, act: fn = relu) -> f32[N, units] {
  param W: f32[I, units] = glorot_uniform()
  param b: f32[units] = zeros()
  return act(x @ W + b)
}
model Net(x: f32[N, 16]) -> f32[N, 4] {
  return Dense(Dense(x, 32), 4, act = identity)
}
pipeline Data(n: int = 1024) =
  synthetic(shape = [16], classes = 4, count = n, seed = 5, noise = 1.0)
  |> batch(64)
train Job {
  data      = Data()
  logits    = Net(x)
  loss      = cross_entropy(logits, label)
  optimizer = sgd(lr = 0.05, momentum = 0.9)
  stop      = )" + stop + R"(
  validate  = Data(256) every 16 iterations with [accuracy(logits, label)]
)" + checkpoint + R"(
  seed      = 7
}
)";
}

bdl::Program compile(const std::string& source) {
  auto program = bdl::Program::compileString("job.bdl", source);
  EXPECT_TRUE(program) << program.error().rendered;
  return *program;
}

bool sameBits(const bdl::Tensor& a, const bdl::Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.bytes() == b.bytes() &&
         std::memcmp(a.rawData(), b.rawData(), a.bytes()) == 0;
}

std::filesystem::path freshDir(const std::string& name) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("bdl_api_train_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(ApiTrain, RunsTheJobAndItsParametersRunTheModel) {
  bdl::Program program = compile(jobSource("64 iterations"));
  std::vector<double> losses;
  bdl::TrainOptions how;
  how.onStep = [&](const bdl::TrainProgress& p) {
    EXPECT_EQ(p.iteration, static_cast<int64_t>(losses.size()) + 1);
    losses.push_back(p.loss);
    return true;
  };
  auto run = program.train(how);
  ASSERT_TRUE(run) << run.error().rendered;
  EXPECT_EQ(run->iterations, 64);
  EXPECT_GE(run->epochs, 3); // 1,024 records in batches of 64: the 4th ends
  EXPECT_LE(run->epochs, 4); // when the pipeline next says so
  EXPECT_FALSE(run->stoppedEarly);
  ASSERT_EQ(losses.size(), 64u);
  EXPECT_LT(losses.back(), 0.5 * losses.front()) << "the loss falls";
  EXPECT_EQ(run->lastLoss, losses.back());
  ASSERT_EQ(run->validation.size(), 1u);
  EXPECT_EQ(run->validation[0].first, "accuracy");
  EXPECT_GT(run->validation[0].second, 0.8);
  EXPECT_TRUE(run->lastCheckpoint.empty());

  // The trained parameters are the model's, changed, and forward() takes them.
  auto net = program.model("Net");
  ASSERT_TRUE(net) << net.error().rendered;
  bdl::TensorMap initial = net->initialize(7);
  for (const bdl::ParameterInfo& p : net->parameters()) {
    ASSERT_TRUE(run->parameters.count(p.name)) << p.name;
    EXPECT_EQ(run->parameters.at(p.name).shape(), p.shape) << p.name;
    EXPECT_FALSE(sameBits(run->parameters.at(p.name), initial.at(p.name))) << p.name << " did not train";
  }
  bdl::Tensor x(bdl::DType::F32, {3, 16});
  auto out = net->forward({{"x", x}}, run->parameters);
  ASSERT_TRUE(out) << out.error().rendered;
  EXPECT_EQ(out->at("out").shape(), (bdl::Shape{3, 4}));
}

TEST(ApiTrain, TheCallbackStopsTrainingAfterItsStep) {
  bdl::Program program = compile(jobSource("64 iterations"));
  bdl::TrainOptions how;
  how.onStep = [](const bdl::TrainProgress& p) { return p.iteration < 5; };
  auto run = program.train(how);
  ASSERT_TRUE(run) << run.error().rendered;
  EXPECT_TRUE(run->stoppedEarly);
  EXPECT_EQ(run->iterations, 5);
}

TEST(ApiTrain, ResumingFromACheckpointGivesTheUninterruptedRunsParameters) {
  std::filesystem::path dir = freshDir("resume");
  std::string checkpoint = "  checkpoint = \"" + dir.string() + "\" every 8 iterations keep 2\n";
  bdl::Program program = compile(jobSource("40 iterations", checkpoint));
  bdl::TrainOptions first;
  first.onStep = [](const bdl::TrainProgress& p) { return p.iteration < 24; };
  auto stopped = program.train(first);
  ASSERT_TRUE(stopped) << stopped.error().rendered;
  ASSERT_EQ(stopped->iterations, 24);
  EXPECT_FALSE(stopped->lastCheckpoint.empty());

  bdl::TrainOptions resume;
  resume.resumeFrom = dir.string();
  std::vector<int64_t> steps;
  resume.onStep = [&](const bdl::TrainProgress& p) {
    steps.push_back(p.iteration);
    return true;
  };
  auto resumed = program.train(resume);
  ASSERT_TRUE(resumed) << resumed.error().rendered;
  EXPECT_EQ(resumed->iterations, 40);
  ASSERT_EQ(steps.size(), 16u) << "only the steps after the checkpoint run again";
  EXPECT_EQ(steps.front(), 25);

  bdl::Program plain = compile(jobSource("40 iterations"));
  auto whole = plain.train();
  ASSERT_TRUE(whole) << whole.error().rendered;
  ASSERT_EQ(whole->parameters.size(), resumed->parameters.size());
  for (const auto& [name, value] : whole->parameters) {
    ASSERT_TRUE(resumed->parameters.count(name)) << name;
    EXPECT_TRUE(sameBits(resumed->parameters.at(name), value)) << name;
  }
  std::filesystem::remove_all(dir);
}

TEST(ApiTrain, MistakesAreErrorsNotAborts) {
  bdl::Program program = compile(jobSource("8 iterations"));
  bdl::TrainOptions wrongJob;
  wrongJob.job = "Nope";
  auto none = program.train(wrongJob);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, bdl::Error::Kind::UserInput);
  EXPECT_NE(none.error().message.find("Nope"), std::string::npos) << none.error().rendered;

  bdl::TrainOptions badResume;
  badResume.resumeFrom = "/no/such/checkpoint";
  auto noCheckpoint = program.train(badResume);
  ASSERT_FALSE(noCheckpoint);
  EXPECT_EQ(noCheckpoint.error().kind, bdl::Error::Kind::UserInput);
  EXPECT_NE(noCheckpoint.error().message.find("/no/such/checkpoint"), std::string::npos)
      << noCheckpoint.error().message;

  // A data file that is not there: named, and nothing runs.
  std::string source = jobSource("8 iterations");
  std::string from = "synthetic(shape = [16], classes = 4, count = n, seed = 5, noise = 1.0)";
  source.replace(source.find(from), from.size(), "csv(\"/no/such/data.csv\")");
  bdl::Program missingData = compile(source);
  auto noData = missingData.train();
  ASSERT_FALSE(noData);
  EXPECT_EQ(noData.error().kind, bdl::Error::Kind::UserInput);
  EXPECT_NE(noData.error().message.find("/no/such/data.csv"), std::string::npos) << noData.error().message;

  // A learning rate that blows the loss up: the iteration and a hint.
  std::string diverging = jobSource("64 iterations");
  std::string lr = "lr = 0.05";
  diverging.replace(diverging.find(lr), lr.size(), "lr = 1e30");
  auto blownUp = compile(diverging).train();
  ASSERT_FALSE(blownUp);
  EXPECT_EQ(blownUp.error().kind, bdl::Error::Kind::UserInput);
  EXPECT_NE(blownUp.error().message.find("the loss became"), std::string::npos) << blownUp.error().message;
  EXPECT_NE(blownUp.error().message.find("hint: lower the learning rate"), std::string::npos)
      << blownUp.error().message;
}

} // namespace
