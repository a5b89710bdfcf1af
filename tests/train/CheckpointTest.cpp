// runtime/train/Checkpoint: the directory layout, the manifest check, keep N,
// resolving a root to its newest sound checkpoint, and what a crash can
// leave behind (temp and trash directories, a half-removed old checkpoint).
#include "runtime/data/Npz.h"
#include "runtime/train/Checkpoint.h"
#include "runtime/train/TrainError.h"
#include "tests/train/TrainTestUtil.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace bdl::train {
namespace {

namespace fs = std::filesystem;

Tensor floats(const Shape& shape, float first) {
  Tensor t(DType::F32, shape);
  float v = first;
  for (float& x : t.span<float>()) x = v++;
  return t;
}

Tensor int64Scalar(int64_t v) {
  Tensor t(DType::I64, {});
  *t.data<int64_t>() = v;
  return t;
}

CheckpointContents contents(int64_t iteration) {
  CheckpointContents c;
  c.params.emplace_back("h.W", floats({2, 3}, static_cast<float>(iteration)));
  c.params.emplace_back("h.b", floats({3}, -1.0f));
  c.params.emplace_back("rng:step", int64Scalar(iteration));
  c.optimizer.emplace_back("step", int64Scalar(iteration));
  c.optimizer.emplace_back("exp_avg", floats({9}, 0.5f));
  c.state = {{"iteration", iteration}, {"job", "T"}};
  return c;
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

void flipByte(const fs::path& p, size_t at) {
  std::string bytes = readFile(p);
  ASSERT_LT(at, bytes.size());
  bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
  writeFile(p, bytes);
}

std::vector<std::string> names(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(fs::path(p).filename().string());
  return out;
}

void expectSameTensors(const NamedTensors& a, const NamedTensors& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.dtype(), b[i].second.dtype()) << a[i].first;
    EXPECT_EQ(a[i].second.shape(), b[i].second.shape()) << a[i].first;
    ASSERT_EQ(a[i].second.bytes(), b[i].second.bytes()) << a[i].first;
    EXPECT_EQ(0, std::memcmp(a[i].second.rawData(), b[i].second.rawData(), a[i].second.bytes())) << a[i].first;
  }
}

using test::messageOf;

class CheckpointTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() /
            (std::string("bdl-ckpt-") + info->name() + "-" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root() const { return root_.string(); }
  fs::path root_;
};

TEST_F(CheckpointTest, WritesTheDocumentedLayoutAndReadsItBack) {
  std::string dir = writeCheckpoint(root(), 469, contents(469), 0);
  EXPECT_EQ(fs::path(dir), root_ / "step-00000469");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"manifest.json", "optimizer.npz", "params.npz", "state.json"}));

  auto manifest = nlohmann::json::parse(readFile(fs::path(dir) / "manifest.json"));
  EXPECT_EQ(manifest["format"], "bdl-checkpoint/1");
  for (const char* f : {"params.npz", "optimizer.npz", "state.json"}) {
    ASSERT_TRUE(manifest["files"].contains(f)) << f;
    EXPECT_EQ(manifest["files"][f]["bytes"], fs::file_size(fs::path(dir) / f)) << f;
    EXPECT_EQ(manifest["files"][f]["sha256"].get<std::string>().size(), 64u) << f;
  }
  EXPECT_EQ(verifyCheckpoint(dir), std::nullopt);

  // Other tools read the files directly: params.npz by full name.
  expectSameTensors(readNpz((fs::path(dir) / "params.npz").string()), contents(469).params);
  CheckpointContents back = readCheckpoint(dir);
  expectSameTensors(back.params, contents(469).params);
  expectSameTensors(back.optimizer, contents(469).optimizer);
  EXPECT_EQ(back.state, contents(469).state);
}

TEST_F(CheckpointTest, KnownSha256OfTheStateFile) {
  // The manifest's digest is the SHA-256 of the bytes (checked against a
  // digest computed by hand for a file written here).
  std::string dir = writeCheckpoint(root(), 1, contents(1), 0);
  std::string state = readFile(fs::path(dir) / "state.json");
  EXPECT_EQ(state, contents(1).state.dump(2) + "\n");
  auto manifest = nlohmann::json::parse(readFile(fs::path(dir) / "manifest.json"));
  // Replace state.json by "abc" and its manifest entry by the FIPS 180-2 test vector.
  writeFile(fs::path(dir) / "state.json", "abc");
  manifest["files"]["state.json"] = {{"bytes", 3},
                                     {"sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}};
  writeFile(fs::path(dir) / "manifest.json", manifest.dump());
  EXPECT_EQ(verifyCheckpoint(dir), std::nullopt);
}

TEST_F(CheckpointTest, KeepRemovesTheOldest) {
  for (int64_t it : {10, 20, 30, 40, 50}) writeCheckpoint(root(), it, contents(it), 2);
  EXPECT_EQ(names(listCheckpoints(root())), (std::vector<std::string>{"step-00000040", "step-00000050"}));
  for (const auto& e : fs::directory_iterator(root_))
    EXPECT_EQ(e.path().filename().string().rfind("step-", 0), 0u) << "leftover " << e.path();
}

TEST_F(CheckpointTest, PruningAloneKeepsTheNewest) {
  for (int64_t it : {10, 20, 30, 40}) writeCheckpoint(root(), it, contents(it), 0);
  pruneCheckpoints(root(), 0);
  EXPECT_EQ(listCheckpoints(root()).size(), 4u);
  pruneCheckpoints(root(), 2);
  EXPECT_EQ(names(listCheckpoints(root())), (std::vector<std::string>{"step-00000030", "step-00000040"}));
  pruneCheckpoints(root(), 5);
  EXPECT_EQ(listCheckpoints(root()).size(), 2u);
}

TEST_F(CheckpointTest, KeepZeroKeepsAll) {
  for (int64_t it : {1, 2, 3, 4}) writeCheckpoint(root(), it, contents(it), 0);
  EXPECT_EQ(listCheckpoints(root()).size(), 4u);
}

TEST_F(CheckpointTest, ListIsNumericAndIgnoresOtherEntries) {
  writeCheckpoint(root(), 100000000, contents(1), 0); // nine digits: wider than the padding
  writeCheckpoint(root(), 99, contents(2), 0);
  writeCheckpoint(root(), 5, contents(3), 0);
  fs::create_directory(root_ / "step-abc");
  fs::create_directory(root_ / "step-");
  fs::create_directory(root_ / "notes");
  writeFile(root_ / "step-00000007", "a file, not a directory");
  EXPECT_EQ(names(listCheckpoints(root())),
            (std::vector<std::string>{"step-00000005", "step-00000099", "step-100000000"}));
  EXPECT_TRUE(listCheckpoints((root_ / "does-not-exist").string()).empty());
}

TEST_F(CheckpointTest, RewritingAStepReplacesIt) {
  writeCheckpoint(root(), 30, contents(30), 3);
  CheckpointContents other = contents(30);
  other.params[0].second = floats({2, 3}, 1000.0f);
  std::string dir = writeCheckpoint(root(), 30, other, 3);
  EXPECT_EQ(names(listCheckpoints(root())), (std::vector<std::string>{"step-00000030"}));
  expectSameTensors(readCheckpoint(dir).params, other.params);
  for (const auto& e : fs::directory_iterator(root_))
    EXPECT_EQ(e.path().filename(), "step-00000030") << "leftover " << e.path();
}

struct Damage {
  const char* name;
  std::function<void(const fs::path&)> apply;
  const char* problem; // what verifyCheckpoint must say
};

class CheckpointDamageTest : public CheckpointTest, public ::testing::WithParamInterface<Damage> {};

TEST_P(CheckpointDamageTest, FailsTheManifestCheck) {
  std::string dir = writeCheckpoint(root(), 7, contents(7), 0);
  GetParam().apply(dir);
  std::optional<std::string> problem = verifyCheckpoint(dir);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find(GetParam().problem), std::string::npos) << *problem;
  // Reading it says which checkpoint and what is wrong.
  std::string message = messageOf([&] { readCheckpoint(dir); });
  EXPECT_NE(message.find(dir), std::string::npos) << message;
  EXPECT_NE(message.find("not sound"), std::string::npos) << message;
  EXPECT_NE(message.find(GetParam().problem), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Damages, CheckpointDamageTest,
    ::testing::Values(
        Damage{"FlippedParamsByte", [](const fs::path& d) { flipByte(d / "params.npz", 70); },
               "params.npz does not match its SHA-256"},
        Damage{"FlippedStateByte", [](const fs::path& d) { flipByte(d / "state.json", 3); },
               "state.json does not match its SHA-256"},
        Damage{"TruncatedOptimizer",
               [](const fs::path& d) { fs::resize_file(d / "optimizer.npz", fs::file_size(d / "optimizer.npz") - 1); },
               "optimizer.npz has"},
        Damage{"MissingState", [](const fs::path& d) { fs::remove(d / "state.json"); }, "state.json is missing"},
        Damage{"MissingManifest", [](const fs::path& d) { fs::remove(d / "manifest.json"); },
               "manifest.json is missing"},
        Damage{"ManifestNotJson", [](const fs::path& d) { writeFile(d / "manifest.json", "{\"files\": "); },
               "manifest.json is not valid JSON"},
        Damage{"ManifestOtherFormat",
               [](const fs::path& d) {
                 auto m = nlohmann::json::parse(readFile(d / "manifest.json"));
                 m["format"] = "bdl-checkpoint/0";
                 writeFile(d / "manifest.json", m.dump());
               },
               "not a bdl-checkpoint/1 manifest"},
        Damage{"ManifestLacksAFile",
               [](const fs::path& d) {
                 auto m = nlohmann::json::parse(readFile(d / "manifest.json"));
                 m["files"].erase("optimizer.npz");
                 writeFile(d / "manifest.json", m.dump());
               },
               "does not list optimizer.npz"},
        Damage{"ManifestIsAnArray", [](const fs::path& d) { writeFile(d / "manifest.json", "[1, 2]"); },
               "not a bdl-checkpoint/1 manifest"}),
    [](const ::testing::TestParamInfo<Damage>& info) { return info.param.name; });

TEST_F(CheckpointTest, ResolveRootGivesTheNewestSound) {
  for (int64_t it : {10, 20, 30}) writeCheckpoint(root(), it, contents(it), 0);
  std::vector<std::string> skipped;
  EXPECT_EQ(fs::path(resolveCheckpoint(root(), &skipped)).filename(), "step-00000030");
  EXPECT_TRUE(skipped.empty());

  flipByte(root_ / "step-00000030" / "params.npz", 80);
  fs::remove(root_ / "step-00000020" / "manifest.json");
  EXPECT_EQ(fs::path(resolveCheckpoint(root(), &skipped)).filename(), "step-00000010");
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_NE(skipped[0].find("step-00000030"), std::string::npos) << skipped[0];
  EXPECT_NE(skipped[0].find("SHA-256"), std::string::npos) << skipped[0];
  EXPECT_NE(skipped[1].find("step-00000020"), std::string::npos) << skipped[1];
}

TEST_F(CheckpointTest, ResolveANamedCheckpointGivesItEvenWhenCorrupt) {
  // Named directly, a checkpoint is not swapped for another: reading it fails.
  std::string dir = writeCheckpoint(root(), 10, contents(10), 0);
  writeCheckpoint(root(), 20, contents(20), 0);
  flipByte(fs::path(dir) / "optimizer.npz", 60);
  EXPECT_EQ(resolveCheckpoint(dir), dir);
  EXPECT_NE(messageOf([&] { readCheckpoint(dir); }).find("optimizer.npz does not match its SHA-256"),
            std::string::npos);
}

TEST_F(CheckpointTest, ResolveErrors) {
  std::string missing = (root_ / "nothing-here").string();
  EXPECT_NE(messageOf([&] { resolveCheckpoint(missing); }).find(missing + ": no such checkpoint or directory"),
            std::string::npos);
  fs::create_directories(root_);
  EXPECT_NE(messageOf([&] { resolveCheckpoint(root()); }).find("holds no sound checkpoint"), std::string::npos);
  writeCheckpoint(root(), 10, contents(10), 0);
  flipByte(root_ / "step-00000010" / "state.json", 5);
  std::vector<std::string> skipped;
  EXPECT_NE(messageOf([&] { resolveCheckpoint(root(), &skipped); }).find("holds no sound checkpoint"),
            std::string::npos);
  EXPECT_EQ(skipped.size(), 1u);
}

TEST_F(CheckpointTest, LeftoversOfACrashAreIgnoredThenRemoved) {
  writeCheckpoint(root(), 10, contents(10), 0);
  // What a SIGKILL can leave: a temp directory being filled (even a complete
  // looking one) and an old checkpoint renamed for removal.
  fs::copy(root_ / "step-00000010", root_ / ".tmp-step-00000020-12345");
  fs::create_directory(root_ / ".tmp-step-00000030-12345");
  writeFile(root_ / ".tmp-step-00000030-12345" / "params.npz", "half");
  fs::copy(root_ / "step-00000010", root_ / ".trash-step-00000005-12345");
  EXPECT_EQ(names(listCheckpoints(root())), (std::vector<std::string>{"step-00000010"}));
  EXPECT_EQ(fs::path(resolveCheckpoint(root())).filename(), "step-00000010");

  writeCheckpoint(root(), 40, contents(40), 0);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(root_)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"step-00000010", "step-00000040"}));
}

// A run resumed at the end of its job writes nothing; opening its
// checkpoint directory must still clear what the killed run left.
TEST_F(CheckpointTest, PreparingTheRootRemovesLeftoversWithoutWriting) {
  writeCheckpoint(root(), 10, contents(10), 0);
  fs::copy(root_ / "step-00000010", root_ / ".trash-step-00000005-12345");
  fs::create_directory(root_ / ".tmp-step-00000020-12345");
  prepareCheckpointRoot(root());
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(root_)) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, (std::vector<std::string>{"step-00000010"}));
  prepareCheckpointRoot((root_ / "fresh").string());
  EXPECT_TRUE(fs::is_directory(root_ / "fresh"));
}

TEST_F(CheckpointTest, WriteErrorsNameThePath) {
  fs::create_directories(root_);
  fs::path file = root_ / "plain-file";
  writeFile(file, "x");
  std::string message = messageOf([&] { writeCheckpoint(file.string(), 1, contents(1), 0); });
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  EXPECT_TRUE(fs::is_regular_file(file));
}

} // namespace
} // namespace bdl::train
