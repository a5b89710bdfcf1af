#include "runtime/data/Rng.h"

#include "TestUtil.h"

#include <algorithm>
#include <cstring>
#include <set>

using namespace bdl;
using namespace bdl::data;
using namespace bdl::test;

namespace {

Record withI(int64_t i) {
  Tensor t(DType::I64, {});
  *t.data<int64_t>() = i;
  return Record{{"i", t}};
}

int64_t iOf(const Record& r) { return *r.get("i").data<int64_t>(); }

} // namespace

TEST(Stages, MapTransformsEveryRecord) {
  Pipeline p(range(5));
  p.map([](Record r) { return withI(iOf(r) * 10 + 1); });
  EXPECT_EQ(drainField(p), (std::vector<int64_t>{1, 11, 21, 31, 41}));
  EXPECT_EQ(p.describe(), "range |> map");
}

TEST(Stages, FilterKeepsMatching) {
  for (int64_t n : {0, 1, 10}) {
    Pipeline p(range(n));
    p.filter([](const Record& r) { return iOf(r) % 3 == 0; });
    std::vector<int64_t> want;
    for (int64_t i = 0; i < n; i += 3) want.push_back(i);
    EXPECT_EQ(drainField(p), want);
  }
}

TEST(Stages, TakeSkipRepeat) {
  Pipeline a(range(10));
  a.skip(3).take(4);
  EXPECT_EQ(drainField(a), (std::vector<int64_t>{3, 4, 5, 6}));
  Pipeline b(range(3));
  b.skip(5);
  EXPECT_TRUE(drainField(b).empty());
  Pipeline c(range(3));
  c.repeat(3).take(7);
  EXPECT_EQ(drainField(c), (std::vector<int64_t>{0, 1, 2, 0, 1, 2, 0}));
  Pipeline d(range(2));
  d.repeat(0);
  EXPECT_TRUE(drainField(d).empty());
  Pipeline forever(range(2));
  forever.repeat().take(5);
  EXPECT_EQ(drainField(forever), (std::vector<int64_t>{0, 1, 0, 1, 0}));
  Pipeline emptyForever(range(0));
  emptyForever.repeat();
  EXPECT_TRUE(drainField(emptyForever).empty()); // ends instead of spinning
  EXPECT_THROW(Pipeline(range(1)).take(-1), DataError);
}

TEST(Stages, RepeatReshufflesEachRepetition) {
  Pipeline p(range(20));
  p.shuffle(20, 1).repeat(2);
  auto all = drainField(p);
  ASSERT_EQ(all.size(), 40u);
  std::vector<int64_t> first(all.begin(), all.begin() + 20), second(all.begin() + 20, all.end());
  EXPECT_NE(first, second);
  std::sort(second.begin(), second.end());
  EXPECT_EQ(second, iota(0, 20));
}

TEST(Stages, CacheReadsUpstreamOnce) {
  auto reads = std::make_shared<std::atomic<int64_t>>(0);
  auto mapped = std::make_shared<int>(0);
  Pipeline p(range(6, reads));
  p.map([mapped](Record r) {
     ++*mapped;
     return r;
   }).cache();
  for (int epoch = 0; epoch < 3; ++epoch) {
    p.startEpoch(epoch);
    EXPECT_EQ(drainField(p), iota(0, 6));
  }
  EXPECT_EQ(reads->load(), 6);
  EXPECT_EQ(*mapped, 6);
}

TEST(Stages, BatchStacksAndKeepsOrPartialBatch) {
  for (int64_t n : {0, 1, 7, 10}) {
    Pipeline keep(range(n));
    keep.batch(4);
    std::vector<int64_t> sizes;
    std::vector<int64_t> all;
    while (auto b = keep.next()) {
      sizes.push_back(b->get("i").shape()[0]);
      EXPECT_EQ(b->globalBatchSize, b->get("i").shape()[0]);
      for (int64_t v : b->get("i").span<const int64_t>()) all.push_back(v);
    }
    EXPECT_EQ(all, iota(0, n));
    Pipeline drop(range(n));
    drop.batch(4, true);
    int64_t rows = 0;
    while (auto b = drop.next()) {
      EXPECT_EQ(b->get("i").shape()[0], 4);
      rows += 4;
    }
    EXPECT_EQ(rows, n / 4 * 4);
  }
}

TEST(Stages, BatchOfImagesHasLeadingDimension) {
  Pipeline p(range(3));
  p.map([](Record r) {
     Tensor img(DType::F32, {1, 2, 2});
     for (int k = 0; k < 4; ++k) img.data<float>()[k] = static_cast<float>(iOf(r) * 4 + k);
     r.set("image", img);
     return r;
   }).batch(3);
  auto b = p.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->get("image").shape(), (Shape{3, 1, 2, 2}));
  for (int k = 0; k < 12; ++k) EXPECT_EQ(b->get("image").data<float>()[k], static_cast<float>(k));
}

TEST(Stages, BatchRejectsRecordsOfDifferentShapes) {
  Pipeline p(range(3));
  p.map([](Record r) {
     r.set("v", Tensor(DType::F32, {iOf(r) + 1}));
     return r;
   }).batch(3);
  std::string e = dataErrorOf([&] { p.next(); });
  EXPECT_NE(e.find("cannot batch records of different types"), std::string::npos) << e;
}

TEST(Stages, OneHot) {
  Pipeline p(range(4));
  p.oneHot("i", 5).batch(4);
  auto b = p.next();
  ASSERT_TRUE(b);
  const Tensor& t = b->get("i");
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_EQ(t.shape(), (Shape{4, 5}));
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 5; ++c) EXPECT_EQ(t.data<float>()[r * 5 + c], r == c ? 1.0f : 0.0f);
  Pipeline bad(range(4));
  bad.oneHot("i", 3);
  std::string e = dataErrorOf([&] { drainField(bad, "i"); });
  EXPECT_NE(e.find("one_hot(i, 3): label 3 out of range [0, 3)"), std::string::npos) << e;
  Pipeline missing(range(1));
  missing.oneHot("label", 3);
  std::string m = dataErrorOf([&] { missing.next(); });
  EXPECT_NE(m.find("record has no field 'label' (fields: i)"), std::string::npos) << m;
}

namespace {

// Image field [1, 3, 4] with value 100*i + 10*y + x.
Pipeline imagePipeline(int64_t n) {
  Pipeline p(range(n));
  p.map([](Record r) {
    Tensor img(DType::F32, {1, 3, 4});
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) img.data<float>()[y * 4 + x] = static_cast<float>(100 * iOf(r) + 10 * y + x);
    r.set("image", img);
    return r;
  });
  return p;
}

} // namespace

TEST(Stages, RandomFlipFlipsAboutHalfDeterministically) {
  auto run = [](uint64_t seed) {
    Pipeline p = imagePipeline(200);
    p.randomFlip("image", seed);
    std::vector<bool> flipped;
    while (auto r = p.next()) {
      const float* v = r->get("image").data<float>();
      const float base = static_cast<float>(100 * iOf(*r));
      bool isFlipped = v[0] == base + 3;
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 4; ++x)
          EXPECT_EQ(v[y * 4 + x], base + 10 * y + (isFlipped ? 3 - x : x));
      flipped.push_back(isFlipped);
    }
    return flipped;
  };
  auto a = run(1), b = run(1), c = run(2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  const auto count = std::count(a.begin(), a.end(), true);
  EXPECT_GT(count, 70);
  EXPECT_LT(count, 130);
}

TEST(Stages, RandomCropMatchesPlainOracle) {
  Pipeline p = imagePipeline(100);
  p.randomCrop("image", 3, 2, 11);
  std::set<std::pair<int, int>> offsets;
  while (auto r = p.next()) {
    const Tensor& out = r->get("image");
    ASSERT_EQ(out.shape(), (Shape{1, 3, 3}));
    const float base = static_cast<float>(100 * iOf(*r));
    // Find the offset that explains the output: padded image is 7 x 8.
    bool found = false;
    for (int top = -2; top <= 2 && !found; ++top)
      for (int left = -2; left <= 3 && !found; ++left) {
        bool ok = true;
        for (int y = 0; y < 3 && ok; ++y)
          for (int x = 0; x < 3 && ok; ++x) {
            int sy = top + y, sx = left + x;
            float want = (sy < 0 || sy >= 3 || sx < 0 || sx >= 4) ? 0.0f : base + 10 * sy + sx;
            ok = out.data<float>()[y * 3 + x] == want;
          }
        if (ok) {
          found = true;
          offsets.insert({top, left});
        }
      }
    EXPECT_TRUE(found) << "record " << iOf(*r);
  }
  EXPECT_GT(offsets.size(), 10u); // many of the 30 windows are used
  Pipeline tooBig = imagePipeline(1);
  tooBig.randomCrop("image", 9, 1, 0);
  EXPECT_THROW(tooBig.next(), DataError);
}

TEST(Stages, RandomStagesDependOnEpoch) {
  auto flips = [](int64_t epoch) {
    Pipeline p = imagePipeline(64);
    p.randomFlip("image", 5);
    p.startEpoch(epoch);
    std::vector<float> firsts;
    while (auto r = p.next()) firsts.push_back(r->get("image").data<float>()[0]);
    return firsts;
  };
  EXPECT_EQ(flips(1), flips(1));
  EXPECT_NE(flips(0), flips(1));
}

TEST(Stages, ErrorsInMapReachTheCaller) {
  Pipeline p(range(3));
  p.map([](Record r) -> Record {
    if (iOf(r) == 2) throw DataError("x.bin", "record 2", "broken");
    return r;
  });
  EXPECT_TRUE(p.next());
  EXPECT_TRUE(p.next());
  EXPECT_EQ(dataErrorOf([&] { p.next(); }), "x.bin: record 2: broken");
}

TEST(Rng, KnownSequenceAndRange) {
  // splitmix64's reference output for state 0 (Vigna's test value).
  EXPECT_EQ(splitmix64(0), 0xE220A8397B1DCDAFull);
  Rng r(7);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_LT(r.below(13), 13u);
    float f = r.unitFloat();
    EXPECT_GE(f, 0.0f);
    EXPECT_LT(f, 1.0f);
  }
  Rng a(1), b(1);
  b.next();
  a.setState(b.state());
  EXPECT_EQ(a.next(), b.next());
}
