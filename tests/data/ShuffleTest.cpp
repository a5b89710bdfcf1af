#include "runtime/data/Rng.h"

#include "TestUtil.h"

#include <algorithm>

using namespace bdl;
using namespace bdl::data;
using namespace bdl::test;

namespace {

std::vector<int64_t> shuffled(int64_t n, int64_t buffer, uint64_t seed, int64_t epoch = 0) {
  Pipeline p(range(n));
  p.shuffle(buffer, seed);
  p.startEpoch(epoch);
  return drainField(p);
}

// The plain algorithm (tf.data's shuffle) written out on indices.
std::vector<int64_t> oracle(int64_t n, int64_t buffer, uint64_t seed, int64_t epoch) {
  Rng rng(mixSeed(seed, static_cast<uint64_t>(epoch)));
  std::vector<int64_t> buf, out;
  int64_t next = 0;
  while (next < n && static_cast<int64_t>(buf.size()) < buffer) buf.push_back(next++);
  while (!buf.empty()) {
    size_t pick = rng.below(buf.size());
    out.push_back(buf[pick]);
    if (next < n) buf[pick] = next++;
    else {
      buf[pick] = buf.back();
      buf.pop_back();
    }
  }
  return out;
}

} // namespace

TEST(Shuffle, MatchesOracleForEverySize) {
  for (int64_t n : {0, 1, 2, 17, 1000})
    for (int64_t buffer : {1, 2, 10, 1000, 5000})
      EXPECT_EQ(shuffled(n, buffer, 9, 3), oracle(n, buffer, 9, 3)) << n << " " << buffer;
}

TEST(Shuffle, IsAPermutation) {
  auto v = shuffled(1001, 64, 5);
  std::sort(v.begin(), v.end());
  EXPECT_EQ(v, iota(0, 1001));
}

TEST(Shuffle, SameSeedSameOrderDifferentSeedDifferentOrder) {
  EXPECT_EQ(shuffled(500, 500, 7), shuffled(500, 500, 7));
  EXPECT_NE(shuffled(500, 500, 7), shuffled(500, 500, 8));
  EXPECT_NE(shuffled(500, 500, 7), iota(0, 500));
}

TEST(Shuffle, EachEpochHasItsOwnReproducibleOrder) {
  EXPECT_NE(shuffled(300, 300, 7, 0), shuffled(300, 300, 7, 1));
  EXPECT_EQ(shuffled(300, 300, 7, 4), shuffled(300, 300, 7, 4));
  // Starting epoch 4 directly gives the same order as reaching it in sequence.
  Pipeline p(range(300));
  p.shuffle(300, 7);
  for (int64_t e = 0; e <= 4; ++e) {
    p.startEpoch(e);
    auto order = drainField(p);
    if (e == 4) {
      EXPECT_EQ(order, shuffled(300, 300, 7, 4));
    }
  }
}

TEST(Shuffle, BufferOfOneKeepsOrderAndSmallBufferStaysLocal) {
  EXPECT_EQ(shuffled(50, 1, 3), iota(0, 50));
  auto v = shuffled(200, 4, 3);
  // With a buffer of 4, output k is one of the first k + 4 inputs.
  for (size_t k = 0; k < v.size(); ++k) EXPECT_LT(v[k], static_cast<int64_t>(k) + 4);
}

TEST(Shuffle, DoesNotDecodeRecordsItDoesNotEmit) {
  auto reads = std::make_shared<std::atomic<int64_t>>(0);
  Pipeline p(range(1000, reads));
  p.shuffle(1000, 1).take(5);
  EXPECT_EQ(drainField(p).size(), 5u);
  EXPECT_EQ(reads->load(), 5); // the buffer holds lazy handles
}

TEST(Shuffle, BadBuffer) {
  EXPECT_THROW(Pipeline(range(3)).shuffle(0, 1), DataError);
}
