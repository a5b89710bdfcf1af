#include "TestUtil.h"

#include <chrono>
#include <thread>

using namespace bdl;
using namespace bdl::data;
using namespace bdl::test;

TEST(Prefetch, SameRecordsAsWithout) {
  for (int64_t depth : {1, 2, 16})
    for (int64_t n : {0, 1, 50}) {
      Pipeline p(range(n));
      p.shuffle(16, 3).batch(4).prefetch(depth);
      Pipeline q(range(n));
      q.shuffle(16, 3).batch(4);
      for (int epoch = 0; epoch < 2; ++epoch) {
        p.startEpoch(epoch);
        q.startEpoch(epoch);
        EXPECT_EQ(drainField(p), drainField(q));
        EXPECT_FALSE(p.next()); // stays at the end
      }
    }
}

TEST(Prefetch, RunsAheadOnAnotherThread) {
  auto mainThread = std::this_thread::get_id();
  auto sawOtherThread = std::make_shared<std::atomic<bool>>(false);
  auto computed = std::make_shared<std::atomic<int>>(0);
  Pipeline p(range(100));
  p.map([=](Record r) {
     if (std::this_thread::get_id() != mainThread) *sawOtherThread = true;
     ++*computed;
     return r;
   }).prefetch(5);
  ASSERT_TRUE(p.next());
  for (int i = 0; i < 200 && computed->load() < 6; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(computed->load(), 6); // one delivered, five queued: bounded
  EXPECT_TRUE(sawOtherThread->load());
}

TEST(Prefetch, ExceptionsReachTheConsumerInOrder) {
  Pipeline p(range(10));
  p.map([](Record r) -> Record {
     if (*r.get("i").data<int64_t>() == 4) throw DataError("f.idx", "record 4", "bad record");
     return r;
   }).prefetch(3);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(p.next());
  EXPECT_EQ(dataErrorOf([&] { p.next(); }), "f.idx: record 4: bad record");
  EXPECT_EQ(dataErrorOf([&] { p.next(); }), "f.idx: record 4: bad record"); // and stays failed
  p.startEpoch(1); // a new epoch starts over
  EXPECT_TRUE(p.next());
}

TEST(Prefetch, ShutsDownWhileTheQueueIsFullOrTheThreadIsBusy) {
  for (int round = 0; round < 20; ++round) {
    Pipeline p(range(1000));
    p.map([](Record r) {
       std::this_thread::sleep_for(std::chrono::microseconds(100));
       return r;
     }).prefetch(2);
    p.next();
    if (round % 2) p.startEpoch(1); // restart while running
    p.next();
  } // destroyed mid-epoch: joins without hanging, ASan sees no leak
  SUCCEED();
}

TEST(Prefetch, NeverStartedPipelineDestroysCleanly) {
  Pipeline p(range(3));
  p.prefetch(4);
}

TEST(Prefetch, StatsCountConsumerWaits) {
  Pipeline none(range(3));
  EXPECT_FALSE(none.prefetchStats());
  Pipeline p(range(4));
  p.map([](Record r) {
     std::this_thread::sleep_for(std::chrono::milliseconds(5));
     return r;
   }).prefetch(2);
  EXPECT_EQ(drainField(p).size(), 4u);
  auto stats = p.prefetchStats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->delivered, 4);
  // The thread starts on the first next() and needs >= 5 ms per record, so at
  // least the first record was waited for.
  EXPECT_GE(stats->waited, 1);
  EXPECT_LE(stats->waited, 4);
  EXPECT_GE(stats->waitSeconds, 0.004);
  p.startEpoch(1);
  EXPECT_EQ(p.prefetchStats()->delivered, 0);
}
