#include "runtime/data/Npy.h"

#include "TestUtil.h"

#include <cstring>

using namespace bdl;
using namespace bdl::test;

namespace {

std::string ref(const std::string& name) { return testdataDir() + "/" + name; }

template <typename T> std::vector<T> values(const Tensor& t) {
  auto s = t.span<const T>();
  return {s.begin(), s.end()};
}

Tensor makeTensor(DType dtype, Shape shape) {
  Tensor t(dtype, shape);
  auto* bytes = static_cast<uint8_t*>(t.rawData());
  for (size_t i = 0; i < t.bytes(); ++i) bytes[i] = static_cast<uint8_t>(i * 37 + 11);
  if (dtype == DType::Bool)
    for (size_t i = 0; i < t.bytes(); ++i) bytes[i] &= 1;
  return t;
}

bool sameTensor(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.bytes() == 0 || std::memcmp(a.rawData(), b.rawData(), a.bytes()) == 0);
}

} // namespace

TEST(Npy, ReadsNumpyFilesOfEveryDtype) {
  Tensor f32 = readNpy(ref("f32_2x3.npy"));
  EXPECT_EQ(f32.dtype(), DType::F32);
  EXPECT_EQ(f32.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(f32), (std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f}));

  Tensor f64 = readNpy(ref("f64_5.npy"));
  EXPECT_EQ(f64.shape(), (Shape{5}));
  EXPECT_EQ(values<double>(f64), (std::vector<double>{1.5, -2.25, 3e300, 0.0, -0.0}));
  EXPECT_TRUE(std::signbit(f64.data<double>()[4]));

  Tensor i32 = readNpy(ref("i32_2x2x2.npy"));
  EXPECT_EQ(i32.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(values<int32_t>(i32), (std::vector<int32_t>{-3, -2, -1, 0, 1, 2, 3, 4}));

  Tensor i64 = readNpy(ref("i64_scalar.npy"));
  EXPECT_EQ(i64.shape(), Shape{});
  EXPECT_EQ(*i64.data<int64_t>(), -1234567890123);

  Tensor b = readNpy(ref("bool_3x2.npy"));
  EXPECT_EQ(b.dtype(), DType::Bool);
  EXPECT_EQ(values<uint8_t>(b), (std::vector<uint8_t>{1, 0, 0, 1, 1, 1}));

  Tensor empty = readNpy(ref("f32_0x4.npy"));
  EXPECT_EQ(empty.shape(), (Shape{0, 4}));
}

TEST(Npy, EncodingIsByteForByteWhatNumpyWrites) {
  for (const char* name : {"f32_2x3.npy", "f64_5.npy", "i32_2x2x2.npy", "i64_scalar.npy",
                           "bool_3x2.npy", "f32_0x4.npy"}) {
    std::vector<uint8_t> numpyBytes = readBytes(ref(name));
    std::string ours = encodeNpy(readNpy(ref(name)));
    EXPECT_EQ(std::string(numpyBytes.begin(), numpyBytes.end()), ours) << name;
  }
}

TEST(Npy, RoundTripsEveryDtypeAndShape) {
  TempDir dir;
  const std::vector<Shape> shapes = {{}, {0}, {1}, {7}, {3, 5}, {2, 0, 3}, {1, 1, 1}, {301, 17}};
  for (DType dtype : {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool})
    for (const Shape& shape : shapes) {
      Tensor t = makeTensor(dtype, shape);
      writeNpy(dir.file("a.npy"), t);
      Tensor back = readNpy(dir.file("a.npy"));
      EXPECT_TRUE(sameTensor(t, back)) << dtypeName(dtype) << shapeToString(shape);
      EXPECT_EQ(readBytes(dir.file("a.npy")).size() % 64, t.bytes() % 64); // data 64-aligned
    }
}

TEST(Npy, LargeHeaderUsesVersion2) {
  // A shape with many dimensions pushes the header past 65535 bytes.
  Shape shape(25000, 1);
  Tensor t = makeTensor(DType::F32, shape);
  std::string bytes = encodeNpy(t);
  EXPECT_EQ(bytes[6], 2);
  Tensor back = parseNpy(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "big");
  EXPECT_TRUE(sameTensor(t, back));
}

TEST(Npy, RejectsFortranBigEndianObjectAndOtherDtypes) {
  EXPECT_NE(dataErrorOf([] { readNpy(ref("fortran.npy")); }).find("Fortran order"), std::string::npos);
  EXPECT_NE(dataErrorOf([] { readNpy(ref("bigendian.npy")); }).find("big-endian dtype '>f4'"), std::string::npos);
  EXPECT_NE(dataErrorOf([] { readNpy(ref("object.npy")); }).find("object dtype"), std::string::npos);
  std::string u8 = dataErrorOf([] { readNpy(ref("uint8.npy")); });
  EXPECT_NE(u8.find("unsupported dtype '|u1'"), std::string::npos) << u8;
  EXPECT_NE(u8.find("uint8.npy"), std::string::npos) << u8;
}

TEST(Npy, BadFilesNameTheProblem) {
  TempDir dir;
  writeText(dir.file("text.npy"), "hello world, not numpy");
  std::string magic = dataErrorOf([&] { readNpy(dir.file("text.npy")); });
  EXPECT_NE(magic.find("text.npy: byte 0: bad magic number"), std::string::npos) << magic;

  std::vector<uint8_t> good = readBytes(ref("f32_2x3.npy"));
  writeBytes(dir.file("short.npy"), std::vector<uint8_t>(good.begin(), good.end() - 5));
  std::string truncated = dataErrorOf([&] { readNpy(dir.file("short.npy")); });
  EXPECT_NE(truncated.find("byte 128: truncated array data"), std::string::npos) << truncated;

  writeBytes(dir.file("header.npy"), std::vector<uint8_t>(good.begin(), good.begin() + 40));
  EXPECT_NE(dataErrorOf([&] { readNpy(dir.file("header.npy")); }).find("truncated .npy header"), std::string::npos);

  std::string missing = dataErrorOf([&] { readNpy(dir.file("nope.npy")); });
  EXPECT_NE(missing.find(dir.file("nope.npy") + ": cannot open: No such file"), std::string::npos) << missing;
}

TEST(Npy, WriteIsAtomicAndLeavesNoTempFiles) {
  TempDir dir;
  writeNpy(dir.file("a.npy"), makeTensor(DType::F32, {4}));
  writeNpy(dir.file("a.npy"), makeTensor(DType::I64, {2, 2})); // replaces
  EXPECT_EQ(readNpy(dir.file("a.npy")).dtype(), DType::I64);
  int files = 0;
  for (auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
  std::string err = dataErrorOf([&] { writeNpy(dir.file("no/such/dir/a.npy"), makeTensor(DType::F32, {1})); });
  EXPECT_NE(err.find("cannot create"), std::string::npos) << err;
}

TEST(Npy, HugeShapeInACorruptHeaderIsAnErrorNotAnAllocation) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }";
  header.append(118 - header.size() - 1, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(118) + char(0) + header + "tail";
  std::string e = dataErrorOf(
      [&] { parseNpy(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "huge.npy"); });
  EXPECT_NE(e.find("huge.npy: byte 128: truncated array data"), std::string::npos) << e;
}
