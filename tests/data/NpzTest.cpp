#include "runtime/data/Npz.h"

#include "runtime/data/Npy.h"

#include "TestUtil.h"

#include <cstdlib>
#include <cstring>

using namespace bdl;
using namespace bdl::test;

namespace {

std::string ref(const std::string& name) { return testdataDir() + "/" + name; }

void expectXy(const NamedTensors& arrays) {
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(arrays[0].first, "x");
  EXPECT_EQ(arrays[0].second.shape(), (Shape{5, 2}));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(arrays[0].second.data<float>()[i], i / 4.0f);
  EXPECT_EQ(arrays[1].first, "y");
  auto y = arrays[1].second.span<const int64_t>();
  EXPECT_EQ(std::vector<int64_t>(y.begin(), y.end()), (std::vector<int64_t>{0, 1, 2, 1, 0}));
}

} // namespace

TEST(Npz, ReadsNumpyStoredAndCompressedArchives) {
  expectXy(readNpz(ref("xy.npz")));
  expectXy(readNpz(ref("xy_compressed.npz")));
}

TEST(Npz, RoundTripsStoredAndDeflated) {
  TempDir dir;
  for (bool compress : {false, true}) {
    NamedTensors arrays;
    Tensor big(DType::F32, {513, 33});
    for (int64_t i = 0; i < big.numel(); ++i) big.data<float>()[i] = static_cast<float>(i % 97) * 0.25f;
    arrays.emplace_back("h1.W", big);
    arrays.emplace_back("h1.b", Tensor(DType::F64, {0}));
    Tensor step(DType::I64, {});
    *step.data<int64_t>() = 42;
    arrays.emplace_back("step", step);
    arrays.emplace_back("mask", Tensor(DType::Bool, {3}));
    writeNpz(dir.file("params.npz"), arrays, compress);
    NamedTensors back = readNpz(dir.file("params.npz"));
    ASSERT_EQ(back.size(), arrays.size());
    for (size_t i = 0; i < arrays.size(); ++i) {
      EXPECT_EQ(back[i].first, arrays[i].first);
      EXPECT_EQ(back[i].second.shape(), arrays[i].second.shape());
      EXPECT_EQ(back[i].second.dtype(), arrays[i].second.dtype());
      EXPECT_EQ(std::memcmp(back[i].second.rawData(), arrays[i].second.rawData(), arrays[i].second.bytes()), 0);
    }
  }
}

TEST(Npz, EmptyArchiveRoundTrips) {
  TempDir dir;
  writeNpz(dir.file("empty.npz"), {});
  EXPECT_TRUE(readNpz(dir.file("empty.npz")).empty());
}

TEST(Npz, ErrorsNameTheFile) {
  TempDir dir;
  std::string missing = dataErrorOf([&] { readNpz(dir.file("none.npz")); });
  EXPECT_NE(missing.find("none.npz: cannot open"), std::string::npos) << missing;
  std::string notZip = dataErrorOf([&] { readNpz(ref("f32_2x3.npy")); });
  EXPECT_NE(notZip.find("is this a .npy?"), std::string::npos) << notZip;
  std::string dup = dataErrorOf([&] {
    writeNpz(dir.file("d.npz"), {{"a", Tensor(DType::F32, {1})}, {"a", Tensor(DType::F32, {1})}});
  });
  EXPECT_NE(dup.find("unique"), std::string::npos);
  // A truncated archive.
  std::vector<uint8_t> bytes = readBytes(ref("xy.npz"));
  bytes.resize(bytes.size() / 2);
  writeBytes(dir.file("cut.npz"), bytes);
  std::string cut = dataErrorOf([&] { readNpz(dir.file("cut.npz")); });
  EXPECT_NE(cut.find("cut.npz"), std::string::npos) << cut;
}

TEST(Npz, NumpyReadsWhatWeWrite) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-numpy is not installed; the committed reference files still test reading";
  TempDir dir;
  Tensor a(DType::F32, {3, 5});
  for (int i = 0; i < 15; ++i) a.data<float>()[i] = static_cast<float>(i) * 0.5f - 2.0f;
  Tensor step(DType::I64, {4});
  const int64_t steps[] = {0, -1000000000000LL, -2000000000000LL, 7};
  std::memcpy(step.rawData(), steps, sizeof steps);
  Tensor mask(DType::Bool, {2});
  mask.data<uint8_t>()[1] = 1;
  Tensor lr(DType::F64, {});
  *lr.data<double>() = 3.25;
  NamedTensors arrays = {{"h1.W", a}, {"step", step}, {"mask", mask}, {"lr", lr}, {"empty", Tensor(DType::I32, {0, 2})}};
  writeNpz(dir.file("stored.npz"), arrays, false);
  writeNpz(dir.file("deflated.npz"), arrays, true);
  writeNpz(dir.file("none.npz"), {});
  writeNpy(dir.file("a.npy"), a);
  const std::string cmd = "/usr/bin/python3 " + testdataDir() + "/check_cpp_written.py " + dir.path() + " >/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}
