#include "runtime/data/Sources.h"

#include "TestUtil.h"

#include <filesystem>

using namespace bdl;
using namespace bdl::data;
using namespace bdl::test;

namespace {

std::vector<Record> readAll(const CsvOptions& o) {
  Pipeline p(csvSource(o));
  std::vector<Record> out;
  while (auto r = p.next()) out.push_back(*r);
  return out;
}

CsvOptions opts(std::string path, std::string label = "", std::vector<std::string> features = {},
                bool header = true, int64_t numClasses = 0) {
  CsvOptions o;
  o.path = std::move(path);
  o.label = std::move(label);
  o.features = std::move(features);
  o.header = header;
  o.numClasses = numClasses;
  return o;
}

std::vector<float> features(const Record& r) {
  auto s = r.get("features").span<const float>();
  return {s.begin(), s.end()};
}

} // namespace

TEST(Csv, HeaderSelectsFeaturesAndLabelByName) {
  TempDir dir;
  writeText(dir.file("a.csv"), "w, x ,y,class\n1,2.5,-3e2,1\r\n\n4,5,6,0\n");
  auto all = readAll(opts(dir.file("a.csv"), "class"));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(features(all[0]), (std::vector<float>{1, 2.5f, -300}));
  EXPECT_EQ(*all[1].get("label").data<int64_t>(), 0);

  auto picked = readAll(opts(dir.file("a.csv"), "class", {"y", "w"}));
  EXPECT_EQ(features(picked[1]), (std::vector<float>{6, 4}));
  EXPECT_EQ(picked[1].get("features").shape(), (Shape{2}));

  auto unlabelled = readAll(opts(dir.file("a.csv")));
  EXPECT_FALSE(unlabelled[0].has("label"));
  EXPECT_EQ(features(unlabelled[0]).size(), 4u);
}

TEST(Csv, WithoutHeaderColumnsAreNumbered) {
  TempDir dir;
  writeText(dir.file("b.csv"), "1,2,0\n3,4,1");
  auto all = readAll(opts(dir.file("b.csv"), "2", {}, false));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(features(all[1]), (std::vector<float>{3, 4}));
  EXPECT_EQ(*all[1].get("label").data<int64_t>(), 1);
}

TEST(Csv, EmptyFileWithHeaderOnlyHasNoRecords) {
  TempDir dir;
  writeText(dir.file("h.csv"), "a,b,label\n");
  EXPECT_TRUE(readAll(opts(dir.file("h.csv"), "label")).empty());
}

TEST(Csv, SklearnIrisIsRecognised) {
  const std::string iris = "/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv";
  if (!std::filesystem::exists(iris)) GTEST_SKIP() << "python3-sklearn is not installed";
  auto all = readAll(opts(iris));
  ASSERT_EQ(all.size(), 150u);
  EXPECT_EQ(features(all[0]), (std::vector<float>{5.1f, 3.5f, 1.4f, 0.2f}));
  EXPECT_EQ(*all[0].get("label").data<int64_t>(), 0);
  EXPECT_EQ(features(all[149]), (std::vector<float>{5.9f, 3.0f, 5.1f, 1.8f}));
  EXPECT_EQ(*all[149].get("label").data<int64_t>(), 2);
  // Columns by position work too.
  auto two = readAll(opts(iris, "target", {"0", "3"}));
  EXPECT_EQ(features(two[0]), (std::vector<float>{5.1f, 0.2f}));
}

TEST(Csv, SklearnDigitsIsGzippedWithoutHeader) {
  const std::string digits = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
  if (!std::filesystem::exists(digits)) GTEST_SKIP() << "python3-sklearn is not installed";
  auto all = readAll(opts(digits, "64", {}, false, 10));
  ASSERT_EQ(all.size(), 1797u);
  EXPECT_EQ(all[0].get("features").shape(), (Shape{64}));
  EXPECT_EQ(features(all[0])[2], 5.0f);
  EXPECT_EQ(*all[0].get("label").data<int64_t>(), 0);
}

TEST(Csv, SklearnLabelsAreCheckedAgainstTheClassNames) {
  TempDir dir;
  writeText(dir.file("s.csv"), "2,2,a,b\n1,2,0\n3,4,2\n");
  std::string e = dataErrorOf([&] { readAll(opts(dir.file("s.csv"))); });
  EXPECT_NE(e.find(dir.file("s.csv") + ": line 3, column 3: label 2 out of range [0, 2)"), std::string::npos) << e;
}

TEST(Csv, WrongColumnCount) {
  TempDir dir;
  writeText(dir.file("c.csv"), "a,b,label\n1,2,0\n1,2\n");
  std::string e = dataErrorOf([&] { readAll(opts(dir.file("c.csv"), "label")); });
  EXPECT_EQ(e, dir.file("c.csv") + ": line 3: wrong column count: expected 3, found 2");
}

TEST(Csv, NonNumericValue) {
  TempDir dir;
  writeText(dir.file("d.csv"), "a,b,label\n1,2,0\n1,x2,1\n");
  std::string e = dataErrorOf([&] { readAll(opts(dir.file("d.csv"), "label")); });
  EXPECT_EQ(e, dir.file("d.csv") + ": line 3, column 2: non-numeric value 'x2' in column 'b'");
  writeText(dir.file("e.csv"), "a,label\n1,0.5\n");
  std::string e2 = dataErrorOf([&] { readAll(opts(dir.file("e.csv"), "label")); });
  EXPECT_NE(e2.find("line 2, column 2: label '0.5' is not an integer"), std::string::npos) << e2;
}

TEST(Csv, LabelOutOfRangeWithGivenClassCount) {
  TempDir dir;
  writeText(dir.file("f.csv"), "a,label\n1,0\n2,3\n");
  std::string e = dataErrorOf([&] { readAll(opts(dir.file("f.csv"), "label", {}, true, 3)); });
  EXPECT_NE(e.find("line 3, column 2: label 3 out of range [0, 3)"), std::string::npos) << e;
  std::string neg = dataErrorOf([&] {
    writeText(dir.file("g.csv"), "a,label\n1,-1\n");
    readAll(opts(dir.file("g.csv"), "label"));
  });
  EXPECT_NE(neg.find("label -1 out of range"), std::string::npos) << neg;
}

TEST(Csv, UnknownColumnAndMissingFile) {
  TempDir dir;
  writeText(dir.file("h.csv"), "a,b\n1,2\n");
  std::string e = dataErrorOf([&] { readAll(opts(dir.file("h.csv"), "target")); });
  EXPECT_EQ(e, dir.file("h.csv") + ": no column named 'target' (columns: a, b)");
  std::string m = dataErrorOf([&] { readAll(opts(dir.file("none.csv"))); });
  EXPECT_EQ(m, dir.file("none.csv") + ": cannot open: No such file or directory");
}
