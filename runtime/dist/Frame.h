// The wire frame of the distributed layer: a 12-byte header (magic "BDLF",
// version, type, reserved, payload length) followed by the payload. The
// decoder validates every header field, and the length against a configured
// bound, before a single payload byte is buffered or allocated.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace bdl::dist {

inline constexpr std::array<uint8_t, 4> kFrameMagic = {'B', 'D', 'L', 'F'};
inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 12;
inline constexpr size_t kDefaultMaxFrameBytes = size_t{16} << 20;

enum class FrameType : uint8_t {
  Challenge = 1, // acceptor -> connector: nonce
  Hello = 2,     // connector -> acceptor: identity + HMAC proof
  Welcome = 3,   // acceptor -> connector: acceptor's proof (+ peer table)
  Reject = 4,    // acceptor -> connector: why the job cannot start
  Heartbeat = 5, // liveness, sent periodically on every data-plane link
  GradChunk = 6, // a chunk of a gradient block, to the block's owner
  WeightChunk = 7, // a chunk of an updated weight block, from its owner
  Abort = 8,     // the sender failed the job; names the rank at fault
  Goodbye = 9,   // orderly shutdown of a link
  LocalLink = 10, // acceptor -> connector, same host: continue on this Unix socket
};
const char* frameTypeName(FrameType t);

struct FrameHeader {
  FrameType type = FrameType::Heartbeat;
  uint32_t length = 0; // payload bytes
};

std::array<uint8_t, kFrameHeaderBytes> encodeFrameHeader(FrameType type, uint32_t payloadBytes);

// Validates a 12-byte header. Returns an error text on a bad magic, an
// unsupported version, an unknown type, a nonzero reserved field, or a
// length above maxFrameBytes or above what that type can ever carry.
std::variant<FrameHeader, std::string> parseFrameHeader(std::span<const uint8_t, kFrameHeaderBytes> bytes,
                                                         size_t maxFrameBytes);

// A whole frame as bytes (header + payload), for small control frames.
std::vector<uint8_t> encodeFrame(FrameType type, std::span<const uint8_t> payload);

struct Frame {
  FrameType type;
  std::vector<uint8_t> payload;
};

// Incremental decoder for a byte stream: feed() any split of the stream and
// pop complete frames. Once it sees a bad header it stays failed (the
// connection must be closed: resynchronising on a stream is guesswork).
class FrameDecoder {
public:
  explicit FrameDecoder(size_t maxFrameBytes) : maxFrameBytes_(maxFrameBytes) {}
  void feed(std::span<const uint8_t> bytes);
  std::optional<Frame> next();
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

private:
  size_t maxFrameBytes_;
  std::vector<uint8_t> buffer_;
  size_t consumed_ = 0;
  std::string error_;
};

// Data frames (GradChunk, WeightChunk) start with this 16-byte header; the
// elements follow, and their count is (payload length - 16) / element size.
enum class WireDType : uint8_t { F32 = 0, BF16 = 1 };
inline constexpr size_t kChunkHeaderBytes = 16;
inline size_t wireDTypeSize(WireDType t) { return t == WireDType::F32 ? 4 : 2; }

struct ChunkHeader {
  uint64_t iteration = 0;
  uint32_t chunkIndex = 0;
  WireDType dtype = WireDType::F32;
};
std::array<uint8_t, kChunkHeaderBytes> encodeChunkHeader(const ChunkHeader& h);
std::variant<ChunkHeader, std::string> parseChunkHeader(std::span<const uint8_t, kChunkHeaderBytes> bytes);

} // namespace bdl::dist
