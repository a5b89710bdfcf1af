#include "runtime/data/Sources.h"

#include "TestUtil.h"

using namespace bdl;
using namespace bdl::data;
using namespace bdl::test;

namespace {

using Builder = std::function<Pipeline()>;

std::vector<int64_t> flat(const Record& r, const std::string& field) {
  auto s = r.get(field).span<const int64_t>();
  return {s.begin(), s.end()};
}

// Reads `stopAfter` items of epoch `epoch`, saves the position (through a
// JSON string, as a checkpoint would), then checks that a freshly built
// pipeline restored there yields what the original yields next, to the end
// of this epoch and through the following epoch.
void expectExactResume(const Builder& build, int64_t epoch, int64_t stopAfter, const std::string& field = "i") {
  Pipeline original = build();
  original.startEpoch(epoch);
  for (int64_t k = 0; k < stopAfter; ++k) ASSERT_TRUE(original.next()) << "stopAfter too large";
  const std::string saved = original.position().dump();

  Pipeline resumed = build();
  resumed.restore(nlohmann::json::parse(saved));
  EXPECT_EQ(resumed.epoch(), epoch);
  for (int pass = 0; pass < 2; ++pass) {
    for (;;) {
      auto a = original.next();
      auto b = resumed.next();
      ASSERT_EQ(a.has_value(), b.has_value());
      if (!a) break;
      ASSERT_EQ(flat(*a, field), flat(*b, field));
    }
    original.startEpoch(epoch + 1);
    resumed.startEpoch(epoch + 1);
  }
}

} // namespace

TEST(Position, ShuffleBatchResumesMidEpoch) {
  Builder build = [] {
    Pipeline p(range(103), {.shard = {}, .seed = 1});
    p.shuffle(40, 7).batch(8);
    return p;
  };
  for (int64_t stop : {0, 1, 5, 12, 13}) expectExactResume(build, 2, stop);
}

TEST(Position, EveryStageKindResumes) {
  Builder build = [] {
    Pipeline p(range(57), {.shard = {}, .seed = 9});
    p.skip(2)
        .filter([](const Record& r) { return *r.get("i").data<int64_t>() % 5 != 0; })
        .map([](Record r) { return r; })
        .shuffle(10, 1)
        .repeat(3)
        .shuffle(7, 2)
        .take(100)
        .batch(6)
        .prefetch(3);
    return p;
  };
  for (int64_t stop : {0, 3, 8, 16}) expectExactResume(build, 1, stop);
}

TEST(Position, CacheResumesInFirstAndLaterPasses) {
  Builder build = [] {
    Pipeline p(range(30));
    p.shuffle(30, 4).cache().shuffle(8, 5).batch(4);
    return p;
  };
  expectExactResume(build, 0, 3); // filling the cache
  expectExactResume(build, 3, 2); // replaying it
}

TEST(Position, RandomAugmentationResumes) {
  Builder build = [] {
    Pipeline p(syntheticSource({.shape = {1, 4, 4}, .classes = 3, .count = 40, .seed = 2}), {.shard = {}, .seed = 4});
    p.randomFlip("x").randomCrop("x", 3, 1).shuffle(16, 3).batch(5);
    return p;
  };
  // Compare the augmented images, bit for bit, through their bytes.
  Pipeline a = build(), b = build();
  a.startEpoch(1);
  a.next();
  a.next();
  b.restore(nlohmann::json::parse(a.position().dump()));
  while (auto x = a.next()) {
    auto y = b.next();
    ASSERT_TRUE(y);
    ASSERT_EQ(x->get("x").shape(), y->get("x").shape());
    EXPECT_EQ(std::memcmp(x->get("x").rawData(), y->get("x").rawData(), x->get("x").bytes()), 0);
  }
  EXPECT_FALSE(b.next());
}

TEST(Position, RealFileSourceResumes) {
  TempDir dir;
  writeBytes(dir.file("img.gz"), gzip(idxImages(90, 3, 3)));
  writeBytes(dir.file("lab"), idxLabels(90));
  Builder build = [&] {
    Pipeline p(idxSource({dir.file("img.gz"), dir.file("lab")}));
    p.shuffle(90, 7).batch(10).prefetch(2);
    return p;
  };
  expectExactResume(build, 0, 4, "label");
}

TEST(Position, PositionIsPlainJsonWithTheShuffleRngState) {
  Pipeline p(range(10));
  p.shuffle(4, 1).batch(2);
  p.next();
  nlohmann::json pos = p.position();
  EXPECT_EQ(pos["format"], "bdl.pipeline.position/1");
  EXPECT_EQ(pos["pipeline"], "range |> shuffle(4, 1) |> batch(2)");
  const auto& shuffle = pos["state"]["up"];
  EXPECT_EQ(shuffle["kind"], "shuffle");
  EXPECT_EQ(shuffle["emitted"], 2);
  EXPECT_EQ(shuffle["rng"].size(), 4u);
}

TEST(Position, MismatchedOrMalformedPositionsAreDataErrors) {
  Pipeline a(range(10));
  a.shuffle(4, 1).batch(2);
  Pipeline b(range(10));
  b.batch(2);
  std::string e = dataErrorOf([&] { b.restore(a.position()); });
  EXPECT_NE(e.find("saved for the pipeline 'range |> shuffle(4, 1) |> batch(2)', this one is 'range |> batch(2)'"),
            std::string::npos) << e;

  Pipeline bufferChanged(range(10));
  bufferChanged.shuffle(5, 1).batch(2);
  EXPECT_THROW(bufferChanged.restore(a.position()), DataError);

  // A position edited by hand (or by a bug) is caught by the RNG check.
  Pipeline same(range(10));
  same.shuffle(4, 1).batch(2);
  a.next();
  nlohmann::json edited = a.position();
  edited["state"]["up"]["rng"][0] = 12345;
  std::string s = dataErrorOf([&] { same.restore(edited); });
  EXPECT_NE(s.find("random state after replay differs"), std::string::npos) << s;

  Pipeline dataChanged(range(11));
  dataChanged.shuffle(4, 1).batch(2);
  std::string d = dataErrorOf([&] { dataChanged.restore(a.position()); });
  EXPECT_NE(d.find("had 10 records when the position was saved and has 11 now"), std::string::npos) << d;

  nlohmann::json broken = a.position();
  broken["state"].erase("up");
  EXPECT_THROW(b.restore(nlohmann::json::object()), DataError);
  std::string m = dataErrorOf([&] {
    Pipeline c(range(10));
    c.shuffle(4, 1).batch(2);
    c.restore(broken);
  });
  EXPECT_NE(m.find("malformed"), std::string::npos) << m;
}
