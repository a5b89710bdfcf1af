// libFuzzer target for everything a peer's bytes reach before trust: the
// frame decoder (fed in splits chosen by the input) and the handshake and
// data-frame parsers. Invariants checked beyond "no crash": a parsed
// message re-encodes to exactly the input, and the decoder never yields a
// frame above its bound.
#include "runtime/dist/Frame.h"
#include "runtime/dist/Handshake.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>

using namespace bdl::dist;

namespace {

void require(bool ok) {
  if (!ok)
    __builtin_trap();
}

template <class Parse, class Encode>
void roundTrip(std::span<const uint8_t> bytes, Parse parse, Encode encode) {
  if (auto m = parse(bytes)) {
    auto again = encode(*m);
    require(again.size() == bytes.size() && std::equal(again.begin(), again.end(), bytes.begin()));
  }
}

void parsePayload(FrameType type, std::span<const uint8_t> p) {
  switch (type) {
  case FrameType::Challenge: roundTrip(p, parseChallenge, encodeChallenge); break;
  case FrameType::Hello: roundTrip(p, parseHello, encodeHello); break;
  case FrameType::Welcome: roundTrip(p, parseWelcome, encodeWelcome); break;
  case FrameType::Reject: roundTrip(p, parseReject, encodeReject); break;
  case FrameType::Abort: roundTrip(p, parseAbort, encodeAbort); break;
  case FrameType::LocalLink: roundTrip(p, parseLocalLink, encodeLocalLink); break;
  case FrameType::GradChunk:
  case FrameType::WeightChunk:
    if (p.size() >= kChunkHeaderBytes) {
      auto h = parseChunkHeader(p.first<kChunkHeaderBytes>());
      if (auto* ok = std::get_if<ChunkHeader>(&h))
        require(encodeChunkHeader(*ok) == [&] {
          std::array<uint8_t, kChunkHeaderBytes> a{};
          std::copy_n(p.begin(), kChunkHeaderBytes, a.begin());
          return a;
        }());
    }
    break;
  case FrameType::Heartbeat:
  case FrameType::Goodbye: require(p.empty()); break;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  const size_t step = 1 + data[0] % 32;
  const size_t maxFrame = 4096;
  std::span<const uint8_t> stream(data + 1, size - 1);
  FrameDecoder decoder(maxFrame);
  for (size_t pos = 0; pos < stream.size(); pos += step) {
    decoder.feed(stream.subspan(pos, std::min(step, stream.size() - pos)));
    while (auto f = decoder.next()) {
      require(f->payload.size() <= maxFrame);
      parsePayload(f->type, f->payload);
    }
  }
  // The raw input as every message type, too (handshake parsers see
  // payloads whose frame header was valid, but nothing else).
  for (auto t : {FrameType::Challenge, FrameType::Hello, FrameType::Welcome, FrameType::Reject, FrameType::Abort,
                 FrameType::GradChunk})
    parsePayload(t, stream);
  return 0;
}
