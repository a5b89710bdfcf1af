#include "TestUtil.h"

using namespace bdl;
using namespace bdl::data;
using namespace bdl::test;

namespace {

// One worker's batches as lists of record indices.
std::vector<std::vector<int64_t>> workerBatches(int64_t n, int64_t batch, bool dropLast, Shard shard,
                                                int64_t epoch, std::shared_ptr<std::atomic<int64_t>> reads = nullptr) {
  Pipeline p(range(n, reads), {.shard = shard, .seed = 3});
  p.shuffle(64, 11).batch(batch, dropLast);
  p.startEpoch(epoch);
  std::vector<std::vector<int64_t>> out;
  while (auto b = p.next()) {
    auto s = b->get("i").span<const int64_t>();
    out.emplace_back(s.begin(), s.end());
    EXPECT_EQ(b->get("i").shape()[0], static_cast<int64_t>(s.size()));
  }
  return out;
}

} // namespace

TEST(Sharding, WorkerSharesConcatenateToTheGlobalBatch) {
  for (int64_t n : {0, 1, 100, 131})
    for (int64_t world : {1, 2, 3, 4, 6})
      for (bool dropLast : {false, true}) {
        const int64_t batch = 12;
        auto global = workerBatches(n, batch, dropLast, {0, 1}, 2);
        std::vector<std::vector<std::vector<int64_t>>> shards;
        for (int64_t r = 0; r < world; ++r) shards.push_back(workerBatches(n, batch, dropLast, {r, world}, 2));
        for (int64_t r = 0; r < world; ++r)
          ASSERT_EQ(shards[r].size(), global.size()) << "every worker runs the same number of steps";
        for (size_t k = 0; k < global.size(); ++k) {
          std::vector<int64_t> joined;
          for (int64_t r = 0; r < world; ++r) {
            if (global[k].size() == static_cast<size_t>(batch)) {
              EXPECT_EQ(shards[r][k].size(), static_cast<size_t>(batch / world));
            }
            joined.insert(joined.end(), shards[r][k].begin(), shards[r][k].end());
          }
          EXPECT_EQ(joined, global[k]) << "n=" << n << " world=" << world << " batch " << k;
        }
      }
}

TEST(Sharding, ShareMetadataTellsTheGlobalBatch) {
  Pipeline p(range(10), {.shard = {2, 4}});
  p.batch(8);
  auto full = p.next();
  ASSERT_TRUE(full);
  EXPECT_EQ(full->globalBatchSize, 8);
  EXPECT_EQ(full->shardOffset, 4);
  auto partial = p.next(); // 2 records over 4 workers: rank 2 gets [1, 1) -> empty
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->globalBatchSize, 2);
  EXPECT_EQ(partial->get("i").shape(), (Shape{0}));
  EXPECT_FALSE(p.next());
}

TEST(Sharding, WorkerComputesOnlyItsShare) {
  auto reads = std::make_shared<std::atomic<int64_t>>(0);
  auto batches = workerBatches(120, 12, false, {1, 3}, 0, reads);
  EXPECT_EQ(batches.size(), 10u);
  EXPECT_EQ(reads->load(), 40);
}

TEST(Sharding, WorldMustDivideTheBatch) {
  std::string e = dataErrorOf([] { Pipeline(range(10), {.shard = {0, 3}}).batch(128); });
  EXPECT_NE(e.find("batch(128): the global batch of 128 records cannot be split evenly over 3 workers"),
            std::string::npos) << e;
  EXPECT_THROW(Pipeline(range(10), {.shard = {3, 3}}).batch(3), DataError);
  Pipeline noBatch(range(10), {.shard = {0, 2}});
  std::string nb = dataErrorOf([&] { noBatch.next(); });
  EXPECT_NE(nb.find("needs a batch stage"), std::string::npos) << nb;
}

TEST(Sharding, PositionSavedOnOneWorkerRestoresOnAnyWorkerCount) {
  auto build = [](Shard shard) {
    Pipeline p(range(70), {.shard = shard, .seed = 0});
    p.shuffle(32, 5).batch(10);
    return p;
  };
  Pipeline single = build({0, 1});
  single.startEpoch(3);
  single.next();
  single.next();
  const nlohmann::json pos = single.position();
  std::vector<std::vector<int64_t>> rest;
  while (auto b = single.next()) {
    auto s = b->get("i").span<const int64_t>();
    rest.emplace_back(s.begin(), s.end());
  }
  for (int64_t rank = 0; rank < 2; ++rank) {
    Pipeline worker = build({rank, 2});
    worker.restore(pos);
    for (const auto& global : rest) {
      auto b = worker.next();
      ASSERT_TRUE(b);
      auto s = b->get("i").span<const int64_t>();
      EXPECT_EQ(std::vector<int64_t>(s.begin(), s.end()),
                std::vector<int64_t>(global.begin() + rank * 5, global.begin() + rank * 5 + 5));
    }
    EXPECT_FALSE(worker.next());
  }
}
