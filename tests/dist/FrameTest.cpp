// Frame header validation and the incremental decoder: every bad field is
// rejected, the length is checked against the bound before any payload is
// awaited, and any split of a valid stream decodes to the same frames.
#include "runtime/dist/Frame.h"

#include <gtest/gtest.h>

#include <random>

using namespace bdl::dist;

namespace {
std::array<uint8_t, kFrameHeaderBytes> header(FrameType t, uint32_t len) { return encodeFrameHeader(t, len); }
std::string errorOf(const std::array<uint8_t, kFrameHeaderBytes>& h, size_t max = 1 << 20) {
  auto r = parseFrameHeader(h, max);
  auto* e = std::get_if<std::string>(&r);
  return e ? *e : std::string();
}
} // namespace

TEST(Frame, HeaderRoundTrip) {
  auto r = parseFrameHeader(header(FrameType::GradChunk, 1000), 1 << 20);
  ASSERT_TRUE(std::holds_alternative<FrameHeader>(r));
  EXPECT_EQ(std::get<FrameHeader>(r).type, FrameType::GradChunk);
  EXPECT_EQ(std::get<FrameHeader>(r).length, 1000u);
}

TEST(Frame, RejectsEveryBadField) {
  auto h = header(FrameType::Hello, 10);
  h[0] = 'X';
  EXPECT_NE(errorOf(h).find("magic"), std::string::npos);
  h = header(FrameType::Hello, 10);
  h[4] = 2;
  EXPECT_NE(errorOf(h).find("version 2"), std::string::npos);
  h = header(FrameType::Hello, 10);
  h[5] = 0;
  EXPECT_NE(errorOf(h).find("unknown frame type"), std::string::npos);
  h[5] = 200;
  EXPECT_NE(errorOf(h).find("unknown frame type"), std::string::npos);
  h = header(FrameType::Hello, 10);
  h[7] = 1;
  EXPECT_NE(errorOf(h).find("reserved"), std::string::npos);
}

TEST(Frame, RejectsLengthAboveConfiguredAndPerTypeBounds) {
  EXPECT_NE(errorOf(header(FrameType::GradChunk, (1 << 20) + 1)).find("exceeds the limit"), std::string::npos);
  EXPECT_EQ(errorOf(header(FrameType::GradChunk, 1 << 20)), "");
  EXPECT_NE(errorOf(header(FrameType::GradChunk, 0xFFFFFFFFu)).find("exceeds"), std::string::npos);
  EXPECT_NE(errorOf(header(FrameType::Heartbeat, 1)).find("exceeds"), std::string::npos);
  EXPECT_NE(errorOf(header(FrameType::Hello, 100000)).find("exceeds"), std::string::npos);
}

TEST(Frame, DecoderFailsOnOversizedHeaderWithoutWaitingForPayload) {
  FrameDecoder d(4096);
  auto h = header(FrameType::WeightChunk, 0x7FFFFFFF);
  d.feed(h);
  EXPECT_FALSE(d.next().has_value());
  EXPECT_TRUE(d.failed());
  // Stays failed: a stream cannot be resynchronised.
  auto ok = encodeFrame(FrameType::Heartbeat, {});
  d.feed(ok);
  EXPECT_FALSE(d.next().has_value());
}

TEST(Frame, DecoderHandlesAnySplit) {
  std::vector<uint8_t> stream;
  std::vector<std::vector<uint8_t>> payloads = {{}, {1}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}};
  for (auto& p : payloads) {
    auto f = encodeFrame(FrameType::GradChunk, p);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  auto hb = encodeFrame(FrameType::Heartbeat, {});
  stream.insert(stream.end(), hb.begin(), hb.end());
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    FrameDecoder d(1 << 16);
    std::vector<Frame> got;
    size_t pos = 0;
    while (pos < stream.size()) {
      size_t n = std::min<size_t>(stream.size() - pos, rng() % 9);
      d.feed(std::span<const uint8_t>(stream.data() + pos, n));
      pos += n;
      while (auto f = d.next())
        got.push_back(std::move(*f));
    }
    ASSERT_FALSE(d.failed());
    ASSERT_EQ(got.size(), 4u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(got[i].type, FrameType::GradChunk);
      EXPECT_EQ(got[i].payload, payloads[i]);
    }
    EXPECT_EQ(got[3].type, FrameType::Heartbeat);
  }
}

TEST(Frame, TruncatedFrameWaitsAndGarbageFails) {
  FrameDecoder d(1 << 16);
  auto f = encodeFrame(FrameType::Reject, std::vector<uint8_t>(10, 'x'));
  d.feed(std::span<const uint8_t>(f.data(), f.size() - 1));
  EXPECT_FALSE(d.next().has_value());
  EXPECT_FALSE(d.failed());
  FrameDecoder g(1 << 16);
  std::vector<uint8_t> garbage = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1'};
  g.feed(garbage);
  EXPECT_FALSE(g.next().has_value());
  EXPECT_TRUE(g.failed());
}

TEST(Frame, ChunkHeaderRoundTripAndValidation) {
  ChunkHeader h{123456789012ull, 77, WireDType::BF16};
  auto bytes = encodeChunkHeader(h);
  auto r = parseChunkHeader(bytes);
  ASSERT_TRUE(std::holds_alternative<ChunkHeader>(r));
  EXPECT_EQ(std::get<ChunkHeader>(r).iteration, h.iteration);
  EXPECT_EQ(std::get<ChunkHeader>(r).chunkIndex, 77u);
  EXPECT_EQ(std::get<ChunkHeader>(r).dtype, WireDType::BF16);
  bytes[12] = 9;
  EXPECT_TRUE(std::holds_alternative<std::string>(parseChunkHeader(bytes)));
  bytes = encodeChunkHeader(h);
  bytes[15] = 1;
  EXPECT_TRUE(std::holds_alternative<std::string>(parseChunkHeader(bytes)));
}
