#include "runtime/data/DataFile.h"
#include "runtime/data/Sources.h"

#include "TestUtil.h"

#include <filesystem>

using namespace bdl;
using namespace bdl::data;
using namespace bdl::test;

namespace {

struct IdxFiles {
  TempDir dir;
  std::string images, labels;
  IdxFiles(uint32_t count, uint32_t rows, uint32_t cols, bool gz) {
    images = dir.file(gz ? "img.gz" : "img");
    labels = dir.file(gz ? "lab.gz" : "lab");
    auto img = idxImages(count, rows, cols);
    auto lab = idxLabels(count);
    writeBytes(images, gz ? gzip(img) : img);
    writeBytes(labels, gz ? gzip(lab) : lab);
  }
};

std::vector<Record> readAll(const IdxOptions& o) {
  Pipeline p(idxSource(o));
  std::vector<Record> out;
  while (auto r = p.next()) out.push_back(*r);
  return out;
}

void expectPattern(const std::vector<Record>& records, uint32_t rows, uint32_t cols) {
  for (size_t i = 0; i < records.size(); ++i) {
    const Tensor& image = records[i].get("image");
    ASSERT_EQ(image.dtype(), DType::F32);
    ASSERT_EQ(image.shape(), (Shape{1, rows, cols}));
    for (uint32_t p = 0; p < rows * cols; ++p)
      ASSERT_EQ(image.data<float>()[p], static_cast<float>((i * 7 + p) % 256)) << i << " " << p;
    const Tensor& label = records[i].get("label");
    ASSERT_EQ(label.dtype(), DType::I64);
    ASSERT_EQ(label.shape(), Shape{});
    ASSERT_EQ(*label.data<int64_t>(), static_cast<int64_t>(i % 10));
  }
}

} // namespace

TEST(Idx, ReadsPlainAndGzipFiles) {
  for (bool gz : {false, true})
    for (uint32_t count : {0u, 1u, 37u}) {
      IdxFiles f(count, 5, 3, gz);
      auto records = readAll({f.images, f.labels});
      ASSERT_EQ(records.size(), count);
      expectPattern(records, 5, 3);
    }
}

TEST(Idx, MultiMemberGzipIsOneStream) {
  TempDir dir;
  auto img = idxImages(4, 2, 2);
  std::vector<uint8_t> first(img.begin(), img.begin() + 10), rest(img.begin() + 10, img.end());
  auto a = gzip(first), b = gzip(rest);
  a.insert(a.end(), b.begin(), b.end());
  writeBytes(dir.file("img.gz"), a);
  writeBytes(dir.file("lab"), idxLabels(4));
  expectPattern(readAll({dir.file("img.gz"), dir.file("lab")}), 2, 2);
}

TEST(Idx, BadMagicNumber) {
  IdxFiles f(3, 2, 2, false);
  auto img = readBytes(f.images);
  img[0] = 0x50; // "P"
  writeBytes(f.images, img);
  std::string e = dataErrorOf([&] { readAll({f.images, f.labels}); });
  EXPECT_NE(e.find(f.images + ": byte 0: bad magic number 0x50000803"), std::string::npos) << e;
}

TEST(Idx, SwappedFilesSayWhy) {
  IdxFiles f(3, 2, 2, false);
  std::string e = dataErrorOf([&] { readAll({f.labels, f.images}); });
  EXPECT_NE(e.find("swapped"), std::string::npos) << e;
}

TEST(Idx, UnsupportedElementType) {
  IdxFiles f(3, 2, 2, false);
  auto img = readBytes(f.images);
  img[2] = 0x0D; // float
  writeBytes(f.images, img);
  std::string e = dataErrorOf([&] { readAll({f.images, f.labels}); });
  EXPECT_NE(e.find("unsupported IDX element type 0x0d"), std::string::npos) << e;
}

TEST(Idx, TruncatedRecordNamesTheByte) {
  for (bool gz : {false, true}) {
    IdxFiles f(5, 4, 4, false);
    auto img = readBytes(f.images);
    img.resize(16 + 16 * 3 + 7); // three whole records and part of the fourth
    writeBytes(f.images, gz ? gzip(img) : img);
    std::string e = dataErrorOf([&] { readAll({f.images, f.labels}); });
    EXPECT_NE(e.find(f.images + ": byte 64"), std::string::npos) << e;
    EXPECT_NE(e.find("truncated record 3"), std::string::npos) << e;
    EXPECT_EQ(e.find("decompressed") != std::string::npos, gz) << e;
  }
}

TEST(Idx, TruncatedHeader) {
  TempDir dir;
  writeBytes(dir.file("img"), {0, 0, 8, 3, 0, 0});
  writeBytes(dir.file("lab"), idxLabels(1));
  std::string e = dataErrorOf([&] { readAll({dir.file("img"), dir.file("lab")}); });
  EXPECT_NE(e.find("truncated IDX header"), std::string::npos) << e;
}

TEST(Idx, HugeCountsInAHeaderAreATruncationError) {
  TempDir dir;
  std::vector<uint8_t> img = {0, 0, 8, 3};
  for (uint32_t d : {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}) putBigEndian(img, d);
  writeBytes(dir.file("img"), img);
  writeBytes(dir.file("lab"), idxLabels(1));
  std::string e = dataErrorOf([&] { readAll({dir.file("img"), dir.file("lab")}); });
  EXPECT_NE(e.find("byte 16: truncated record 0"), std::string::npos) << e;
}

TEST(Idx, TrailingBytesAreAnError) {
  IdxFiles f(2, 2, 2, false);
  auto lab = readBytes(f.labels);
  lab.push_back(1);
  writeBytes(f.labels, lab);
  std::string e = dataErrorOf([&] { readAll({f.images, f.labels}); });
  EXPECT_NE(e.find(f.labels + ": byte 10: 1 unexpected byte(s)"), std::string::npos) << e;
}

TEST(Idx, CountMismatch) {
  IdxFiles f(5, 2, 2, false);
  writeBytes(f.labels, idxLabels(4));
  std::string e = dataErrorOf([&] { readAll({f.images, f.labels}); });
  EXPECT_NE(e.find(f.images + ": has 5 images but " + f.labels + " has 4 labels"), std::string::npos) << e;
}

TEST(Idx, LabelOutOfRange) {
  IdxFiles f(5, 2, 2, false);
  auto lab = readBytes(f.labels);
  lab[8 + 3] = 12;
  writeBytes(f.labels, lab);
  std::string e = dataErrorOf([&] { readAll({f.images, f.labels}); });
  EXPECT_NE(e.find(f.labels + ": byte 11: label 12 of record 3 out of range [0, 10)"), std::string::npos) << e;
  EXPECT_EQ(readAll({f.images, f.labels, 13}).size(), 5u); // more classes: fine
  EXPECT_EQ(readAll({f.images, f.labels, 0}).size(), 5u);  // check disabled
}

TEST(Idx, MissingFileNamesThePath) {
  IdxFiles f(1, 2, 2, false);
  std::string missing = f.dir.file("missing-images.gz");
  std::string e = dataErrorOf([&] { readAll({missing, f.labels}); });
  EXPECT_EQ(e, missing + ": cannot open: No such file or directory");
}

TEST(Idx, TruncatedGzip) {
  IdxFiles f(50, 8, 8, true);
  auto gz = readBytes(f.images);
  gz.resize(gz.size() * 2 / 3);
  writeBytes(f.images, gz);
  std::string e = dataErrorOf([&] { readAll({f.images, f.labels}); });
  EXPECT_NE(e.find(f.images + ": compressed byte"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated gzip data"), std::string::npos) << e;
}

TEST(Idx, CorruptGzip) {
  IdxFiles f(50, 8, 8, true);
  auto gz = readBytes(f.images);
  gz[gz.size() - 6] ^= 0xFF; // inside the CRC-32 trailer
  writeBytes(f.images, gz);
  std::string e = dataErrorOf([&] { readAll({f.images, f.labels}); });
  EXPECT_NE(e.find("gzip data is corrupt: incorrect data check"), std::string::npos) << e;

  gz = readBytes(f.labels);
  gz[12] ^= 0xFF; // inside the deflate stream
  writeBytes(f.labels, gz);
  f.images = f.dir.file("img2");
  writeBytes(f.images, idxImages(50, 8, 8));
  std::string e2 = dataErrorOf([&] { readAll({f.images, f.labels}); });
  EXPECT_NE(e2.find(f.labels + ": compressed byte"), std::string::npos) << e2;
  EXPECT_NE(e2.find("gzip data"), std::string::npos) << e2;
}

TEST(Idx, WorkerDecodesOnlyItsShard) {
  // Plain files are read with pread per record: remove read permission on
  // nothing, but count decoded records through a map stage instead.
  IdxFiles f(64, 4, 4, false);
  auto decoded = std::make_shared<std::atomic<int64_t>>(0);
  Pipeline p(idxSource({f.images, f.labels}), {.shard = {.rank = 1, .world = 4}});
  p.map([decoded](Record r) {
     ++*decoded;
     return r;
   }).shuffle(64, 3).batch(16);
  int64_t rows = 0;
  while (auto b = p.next()) rows += b->get("image").shape()[0];
  EXPECT_EQ(rows, 16);
  EXPECT_EQ(decoded->load(), 16);
}

TEST(Idx, RealFashionMnistTrainSet) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)";
  Pipeline p(idxSource({dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz"}));
  p.batch(1000);
  int64_t count = 0;
  std::optional<Record> first;
  while (auto b = p.next()) {
    if (!first) first = b;
    count += b->get("label").shape()[0];
  }
  EXPECT_EQ(count, 60000);
  ASSERT_TRUE(first);
  // The first training image of Fashion-MNIST is an ankle boot (class 9),
  // then a T-shirt (class 0).
  EXPECT_EQ(first->get("label").data<int64_t>()[0], 9);
  EXPECT_EQ(first->get("label").data<int64_t>()[1], 0);
  EXPECT_EQ(first->get("image").shape(), (Shape{1000, 1, 28, 28}));
  float maxPixel = 0;
  for (float v : first->get("image").span<const float>()) maxPixel = std::max(maxPixel, v);
  EXPECT_EQ(maxPixel, 255.0f);
}

TEST(DataFile, PlainFilesStayOnDiskGzipIsInflated) {
  TempDir dir;
  std::vector<uint8_t> raw = {1, 2, 3, 4, 5};
  writeBytes(dir.file("plain"), raw);
  writeBytes(dir.file("packed"), gzip(raw));
  for (const char* name : {"plain", "packed"}) {
    auto f = DataFile::open(dir.file(name));
    EXPECT_EQ(f->gzipped(), std::string(name) == "packed");
    EXPECT_EQ(f->size(), 5u);
    uint8_t got[2];
    f->read(3, got, 2);
    EXPECT_EQ(got[0], 4);
    EXPECT_EQ(got[1], 5);
    std::string e = dataErrorOf([&] { f->read(4, got, 2); });
    EXPECT_NE(e.find("passes the end of the file"), std::string::npos) << e;
  }
  writeBytes(dir.file("empty"), {});
  EXPECT_EQ(DataFile::open(dir.file("empty"))->size(), 0u);
  std::string d = dataErrorOf([&] { DataFile::open(dir.path()); });
  EXPECT_NE(d.find("is a directory"), std::string::npos) << d;
}
