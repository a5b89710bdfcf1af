#include "runtime/dist/Frame.h"

#include "runtime/dist/Wire.h"

#include <algorithm>
#include <cstring>

namespace bdl::dist {

const char* frameTypeName(FrameType t) {
  switch (t) {
  case FrameType::Challenge: return "Challenge";
  case FrameType::Hello: return "Hello";
  case FrameType::Welcome: return "Welcome";
  case FrameType::Reject: return "Reject";
  case FrameType::Heartbeat: return "Heartbeat";
  case FrameType::GradChunk: return "GradChunk";
  case FrameType::WeightChunk: return "WeightChunk";
  case FrameType::Abort: return "Abort";
  case FrameType::Goodbye: return "Goodbye";
  case FrameType::LocalLink: return "LocalLink";
  }
  return "?";
}

namespace {

// The most a frame of each type can carry regardless of the configured bound,
// so a control frame can never ask for megabytes.
std::optional<size_t> maxPayloadForType(uint8_t type) {
  switch (static_cast<FrameType>(type)) {
  case FrameType::Challenge: return 64;
  case FrameType::Hello: return 512;
  case FrameType::Welcome: return 64 * 1024;
  case FrameType::Reject: return 64 * 1024;
  case FrameType::Heartbeat: return 0;
  case FrameType::GradChunk:
  case FrameType::WeightChunk: return SIZE_MAX;
  case FrameType::Abort: return 64 * 1024;
  case FrameType::Goodbye: return 0;
  case FrameType::LocalLink: return 64;
  }
  return std::nullopt;
}

} // namespace

std::array<uint8_t, kFrameHeaderBytes> encodeFrameHeader(FrameType type, uint32_t payloadBytes) {
  std::array<uint8_t, kFrameHeaderBytes> h{};
  std::copy(kFrameMagic.begin(), kFrameMagic.end(), h.begin());
  h[4] = kProtocolVersion;
  h[5] = static_cast<uint8_t>(type);
  h[6] = h[7] = 0;
  for (int i = 0; i < 4; ++i)
    h[8 + i] = static_cast<uint8_t>(payloadBytes >> (8 * i));
  return h;
}

std::variant<FrameHeader, std::string> parseFrameHeader(std::span<const uint8_t, kFrameHeaderBytes> bytes,
                                                         size_t maxFrameBytes) {
  if (!std::equal(kFrameMagic.begin(), kFrameMagic.end(), bytes.begin()))
    return std::string("bad frame magic (not a bdl peer, or the stream is out of step)");
  if (bytes[4] != kProtocolVersion)
    return "unsupported protocol version " + std::to_string(bytes[4]) + " (this build speaks version " +
           std::to_string(kProtocolVersion) + "; use the same bdlc on every rank)";
  auto typeMax = maxPayloadForType(bytes[5]);
  if (!typeMax)
    return "unknown frame type " + std::to_string(bytes[5]);
  if (bytes[6] != 0 || bytes[7] != 0)
    return std::string("nonzero reserved header field");
  ByteReader r(bytes.subspan(8, 4));
  uint32_t length = r.u32();
  auto type = static_cast<FrameType>(bytes[5]);
  size_t bound = std::min(*typeMax, maxFrameBytes);
  if (length > bound)
    return std::string(frameTypeName(type)) + " frame of " + std::to_string(length) +
           " bytes exceeds the limit of " + std::to_string(bound) + " bytes";
  return FrameHeader{type, length};
}

std::vector<uint8_t> encodeFrame(FrameType type, std::span<const uint8_t> payload) {
  auto h = encodeFrameHeader(type, static_cast<uint32_t>(payload.size()));
  std::vector<uint8_t> out(kFrameHeaderBytes + payload.size());
  std::memcpy(out.data(), h.data(), kFrameHeaderBytes);
  if (!payload.empty())
    std::memcpy(out.data() + kFrameHeaderBytes, payload.data(), payload.size());
  return out;
}

void FrameDecoder::feed(std::span<const uint8_t> bytes) {
  if (failed())
    return;
  // Compact before growing so a long stream does not keep its whole history.
  if (consumed_ > 0 && consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  if (bytes.empty())
    return;
  size_t at = buffer_.size();
  buffer_.resize(at + bytes.size());
  std::memcpy(buffer_.data() + at, bytes.data(), bytes.size());
}

std::optional<Frame> FrameDecoder::next() {
  if (failed())
    return std::nullopt;
  size_t available = buffer_.size() - consumed_;
  if (available < kFrameHeaderBytes)
    return std::nullopt;
  std::span<const uint8_t, kFrameHeaderBytes> hb(buffer_.data() + consumed_, kFrameHeaderBytes);
  auto parsed = parseFrameHeader(hb, maxFrameBytes_);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    error_ = *err;
    return std::nullopt;
  }
  auto header = std::get<FrameHeader>(parsed);
  if (available - kFrameHeaderBytes < header.length)
    return std::nullopt;
  const uint8_t* p = buffer_.data() + consumed_ + kFrameHeaderBytes;
  Frame f{header.type, std::vector<uint8_t>(p, p + header.length)};
  consumed_ += kFrameHeaderBytes + header.length;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  return f;
}

std::array<uint8_t, kChunkHeaderBytes> encodeChunkHeader(const ChunkHeader& h) {
  ByteWriter w;
  w.u64(h.iteration);
  w.u32(h.chunkIndex);
  w.u8(static_cast<uint8_t>(h.dtype));
  w.u8(0);
  w.u16(0);
  std::array<uint8_t, kChunkHeaderBytes> out{};
  std::memcpy(out.data(), w.bytes().data(), kChunkHeaderBytes);
  return out;
}

std::variant<ChunkHeader, std::string> parseChunkHeader(std::span<const uint8_t, kChunkHeaderBytes> bytes) {
  ByteReader r(bytes);
  ChunkHeader h;
  h.iteration = r.u64();
  h.chunkIndex = r.u32();
  uint8_t dtype = r.u8();
  uint8_t pad0 = r.u8();
  uint16_t pad1 = r.u16();
  if (dtype > 1)
    return "unknown element type " + std::to_string(dtype) + " in data frame";
  if (pad0 != 0 || pad1 != 0)
    return std::string("nonzero reserved field in data frame");
  h.dtype = static_cast<WireDType>(dtype);
  return h;
}

} // namespace bdl::dist
