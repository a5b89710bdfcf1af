// The kernel cache: miss then hit, a corrupt entry ignored and rebuilt, a
// different CPU (features) never reusing an entry, "-" disabling it, and
// no temporary files left behind.
#include "compiler/codegen/KernelCache.h"
#include "tests/codegen/TestSupport.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <unistd.h>

namespace bdl::codegentest {
namespace {

using namespace bdl::ir;
namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("bdl-cache-test-" + std::to_string(::getpid()) + "-" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::remove_all(path); }
  ~TempDir() { fs::remove_all(path); }
  std::vector<fs::path> files() const {
    std::vector<fs::path> out;
    if (fs::exists(path))
      for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path());
    return out;
  }
};

Graph smallGraph() {
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F32, dimsOf({4, 9})});
  ValueId w = *b.parameter("w", {DType::F32, dimsOf({9})}, Initializer::uniform(-1, 1));
  ValueId y = *b.tanh(*b.add(*b.mul(x, w), b.scalar(0.5, DType::F32)));
  EXPECT_TRUE(b.output("y", y).ok());
  return b.finish();
}

codegen::JitStats compileWith(const Graph& g, const fs::path& dir) {
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.cacheDir = dir.string();
  auto exe = exec::compile(g, opts);
  EXPECT_TRUE(exe.ok()) << exe.error().message;
  if (!exe.ok()) return {};
  // A cached kernel must compute the same as a fresh one.
  interp::Feeds feeds = randomFeeds(g, 3);
  auto got = (*exe)->run(feeds);
  auto want = interp::run(g, feeds);
  EXPECT_TRUE(got.ok() && want.ok());
  if (got.ok() && want.ok()) {
    EXPECT_LE(relativeDifference(got->outputs.at("y"), want->outputs.at("y")), 1e-5);
  }
  return *codegen::jitStats(**exe);
}

TEST(JitCache, MissThenHit) {
  TempDir dir;
  Graph g = smallGraph();
  EXPECT_FALSE(compileWith(g, dir.path).cacheHit);
  ASSERT_EQ(dir.files().size(), 1u);
  EXPECT_EQ(dir.files()[0].extension(), ".o") << "no temporary file left behind";
  EXPECT_TRUE(compileWith(g, dir.path).cacheHit);
  // Another shape is another kernel.
  GraphBuilder b;
  ValueId x = *b.input("x", {DType::F32, dimsOf({5, 9})});
  EXPECT_TRUE(b.output("y", *b.tanh(x)).ok());
  EXPECT_FALSE(compileWith(b.finish(), dir.path).cacheHit);
  EXPECT_EQ(dir.files().size(), 2u);
}

TEST(JitCache, CorruptEntryIsIgnoredAndRebuilt) {
  TempDir dir;
  Graph g = smallGraph();
  compileWith(g, dir.path);
  ASSERT_EQ(dir.files().size(), 1u);
  fs::path entry = dir.files()[0];
  for (int damage = 0; damage < 3; ++damage) {
    SCOPED_TRACE("damage " + std::to_string(damage));
    std::string bytes;
    {
      std::ifstream in(entry, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (damage == 0) bytes.resize(bytes.size() / 2);        // truncated write
    if (damage == 1) bytes[bytes.size() - 20] ^= 0x5a;      // flipped bits in the object
    if (damage == 2) bytes = "not a cache entry";           // garbage
    std::ofstream(entry, std::ios::binary | std::ios::trunc) << bytes;
    EXPECT_FALSE(compileWith(g, dir.path).cacheHit);
    EXPECT_TRUE(compileWith(g, dir.path).cacheHit) << "the rebuild rewrote the entry";
  }
}

TEST(JitCache, DifferentCpuFeaturesNeverShareAnEntry) {
  TempDir dir;
  codegen::HostTarget host = codegen::hostTarget();
  ASSERT_FALSE(host.cpu.empty());
  codegen::HostTarget other = host;
  other.features += ",-avx512f";
  std::string module = "; some module\n";
  std::string keyHost = codegen::cacheKey(module, host), keyOther = codegen::cacheKey(module, other);
  EXPECT_NE(codegen::cacheFileName(keyHost), codegen::cacheFileName(keyOther));
  ASSERT_TRUE(codegen::cacheStore(dir.path, keyHost, "object for this cpu"));
  EXPECT_EQ(codegen::cacheLoad(dir.path, keyHost), std::optional<std::string>("object for this cpu"));
  EXPECT_EQ(codegen::cacheLoad(dir.path, keyOther), std::nullopt);
  // Even under the other key's file name, the stored key does not match.
  fs::rename(dir.path / codegen::cacheFileName(keyHost), dir.path / codegen::cacheFileName(keyOther));
  EXPECT_EQ(codegen::cacheLoad(dir.path, keyOther), std::nullopt);
  other = host;
  other.cpu = "some-other-cpu";
  EXPECT_NE(codegen::cacheFileName(codegen::cacheKey(module, other)), codegen::cacheFileName(keyHost));
}

TEST(JitCache, DashDisablesTheCacheEmptyMeansTheDefault) {
  TempDir dir;
  ::setenv("BDL_CACHE_DIR", dir.path.c_str(), 1); // the default directory, for this test
  Graph g = smallGraph();
  exec::EngineOptions opts;
  opts.engine = exec::Engine::Jit;
  opts.cacheDir = "-";
  for (int i = 0; i < 2; ++i) {
    auto exe = exec::compile(g, opts);
    ASSERT_TRUE(exe.ok());
    EXPECT_FALSE(codegen::jitStats(**exe)->cacheHit);
  }
  EXPECT_TRUE(dir.files().empty());
  opts.cacheDir = "";
  ASSERT_TRUE(exec::compile(g, opts).ok());
  EXPECT_EQ(dir.files().size(), 1u);
  ::unsetenv("BDL_CACHE_DIR");
}

} // namespace
} // namespace bdl::codegentest
