#include "runtime/data/Npy.h"
#include "runtime/data/Npz.h"
#include "runtime/data/Sources.h"

#include "TestUtil.h"

using namespace bdl;
using namespace bdl::data;
using namespace bdl::test;

TEST(NpySource, RecordsAreRows) {
  Pipeline p(npySource(testdataDir() + "/f32_2x3.npy", "v"));
  auto a = p.next(), b = p.next();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(p.next());
  EXPECT_EQ(a->get("v").shape(), (Shape{3}));
  EXPECT_EQ(b->get("v").data<float>()[2], 1.5f);
}

TEST(NpySource, ScalarArrayIsAnError) {
  std::string e = dataErrorOf([] { npySource(testdataDir() + "/i64_scalar.npy"); });
  EXPECT_NE(e.find("is a scalar"), std::string::npos) << e;
}

TEST(NpzSource, FieldsAndMismatchedCounts) {
  Pipeline p(npzSource(testdataDir() + "/xy_compressed.npz", {"y", "x"}));
  p.batch(5);
  auto b = p.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->fieldNames(), "y, x");
  EXPECT_EQ(b->get("x").shape(), (Shape{5, 2}));
  EXPECT_EQ(drainField(p, "y"), std::vector<int64_t>{});

  std::string e = dataErrorOf([] { npzSource(testdataDir() + "/mismatch.npz"); });
  EXPECT_NE(e.find("array 'y': has 4 rows but 'x' has 5"), std::string::npos) << e;
  std::string missing = dataErrorOf([] { npzSource(testdataDir() + "/xy.npz", {"z"}); });
  EXPECT_NE(missing.find("no array named 'z' (arrays: x, y)"), std::string::npos) << missing;
}

TEST(SyntheticSource, DeterministicAndSeedDependent) {
  auto collect = [](uint64_t seed) {
    Pipeline p(syntheticSource({.shape = {3, 2}, .classes = 4, .count = 50, .seed = seed}));
    p.batch(50);
    return *p.next();
  };
  Record a = collect(5), b = collect(5), c = collect(6);
  EXPECT_EQ(a.get("x").shape(), (Shape{50, 3, 2}));
  auto same = [](const Tensor& x, const Tensor& y) {
    return std::memcmp(x.rawData(), y.rawData(), x.bytes()) == 0;
  };
  EXPECT_TRUE(same(a.get("x"), b.get("x")));
  EXPECT_TRUE(same(a.get("label"), b.get("label")));
  EXPECT_FALSE(same(a.get("x"), c.get("x")));
  std::vector<int> seen(4);
  for (int64_t l : a.get("label").span<const int64_t>()) {
    ASSERT_GE(l, 0);
    ASSERT_LT(l, 4);
    ++seen[l];
  }
  for (int n : seen) EXPECT_GT(n, 0);
  // Records of one class share a prototype: within-class spread is the noise.
  const float* x = a.get("x").data<float>();
  const int64_t* y = a.get("label").data<int64_t>();
  for (int i = 0; i < 50; ++i)
    for (int j = 0; j < 50; ++j)
      if (y[i] == y[j]) {
        for (int k = 0; k < 6; ++k) ASSERT_LE(std::abs(x[i * 6 + k] - x[j * 6 + k]), 1.0f + 1e-6f);
      }
  EXPECT_THROW(syntheticSource({.shape = {2}, .classes = 0, .count = 1}), DataError);
}

TEST(NpzSource, ClassIndicesAreCheckedAtTheSourceWhenStagesPassThemOn) {
  // y = 0, 1, 5, 2: row 2 is out of range for 3 classes.
  Tensor y(DType::I64, {4});
  const int64_t labels[] = {0, 1, 5, 2};
  std::copy(std::begin(labels), std::end(labels), y.data<int64_t>());
  TempDir dir;
  const std::string path = dir.file("labels.npz");
  writeNpz(path, {{"x", Tensor(DType::F32, {4, 2})}, {"y", y}});

  Pipeline plain(npzSource(path));
  plain.shuffle(4, 1).batch(2).prefetch(2);
  std::string e = dataErrorOf([&] { plain.checkClassIndices("y", 3, "3 classes"); });
  EXPECT_NE(e.find("labels.npz: array 'y', row 2: label 5 out of range [0, 3): 3 classes"), std::string::npos) << e;
  EXPECT_NO_THROW(plain.checkClassIndices("y", 6, "6 classes"));
  EXPECT_NO_THROW(plain.checkClassIndices("x", 1, "a float field is not a class index"));

  // A map may rewrite the labels and a filter may drop the bad row: the
  // source's values are not what the job sees, so nothing is checked there.
  Pipeline mapped(npzSource(path));
  mapped.map([](Record r) { return r; }).batch(2);
  EXPECT_NO_THROW(mapped.checkClassIndices("y", 3, "3 classes"));
  Pipeline filtered(npzSource(path));
  filtered.filter([](const Record&) { return true; }).batch(2);
  EXPECT_NO_THROW(filtered.checkClassIndices("y", 3, "3 classes"));
}
