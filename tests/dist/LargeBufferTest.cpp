// LargeBuffer: zero-filled, sized as asked, on a 2 MiB boundary whenever
// huge pages were requested, movable without double unmapping.
#include "runtime/dist/LargeBuffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

using namespace bdl::dist;

TEST(LargeBuffer, EmptyAndSmallBuffers) {
  LargeBuffer<float> empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(LargeBuffer<float>(0).size(), 0u);
  LargeBuffer<uint16_t> small(3);
  ASSERT_EQ(small.size(), 3u);
  EXPECT_FALSE(small.hugePagesRequested()); // under one huge page: nothing to gain
  for (uint16_t v : small)
    EXPECT_EQ(v, 0);
}

TEST(LargeBuffer, LargeBuffersAreZeroAlignedAndWritable) {
  const size_t n = 3'000'001; // 12 MB, not a multiple of 2 MiB
  LargeBuffer<float> b(n);
  ASSERT_EQ(b.size(), n);
  if (b.hugePagesRequested()) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (size_t{2} << 20), 0u);
  }
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 4096, 0u);
  for (size_t i = 0; i < n; i += 4093)
    EXPECT_EQ(b[i], 0.0f);
  EXPECT_EQ(b[n - 1], 0.0f);
  b[0] = 1.0f;
  b[n - 1] = 2.0f;
  LargeBuffer<float> moved(std::move(b));
  EXPECT_EQ(moved[0], 1.0f);
  EXPECT_EQ(moved[n - 1], 2.0f);
  EXPECT_EQ(b.size(), 0u); // NOLINT(bugprone-use-after-move): the moved-from state is specified
  LargeBuffer<float> assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned[n - 1], 2.0f);
}
