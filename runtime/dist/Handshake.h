// Messages of the connection handshake and their HMAC-SHA256 proofs.
// Protocol (on every link, coordinator or data plane): the acceptor sends a
// Challenge with a fresh nonce; the connector answers with Hello, whose MAC
// covers both nonces and every identity field under the job token; the
// acceptor answers Welcome (carrying its own MAC over both nonces, so the
// connector knows it is not talking to an impostor) or Reject. The token
// itself never travels. Parsers here are pure and fuzzed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bdl::dist {

using Digest = std::array<uint8_t, 32>;
using Nonce = std::array<uint8_t, 32>;
inline constexpr size_t kMaxVersionBytes = 64;
inline constexpr size_t kMaxHostBytes = 255;

struct ChallengeMsg {
  uint32_t acceptorRank = 0;
  uint32_t worldSize = 0;
  Nonce nonce{};
};

struct HelloMsg {
  uint32_t rank = 0;
  uint32_t worldSize = 0;
  Nonce clientNonce{};
  Digest programHash{};
  uint16_t dataPort = 0; // where this rank accepts data-plane links
  std::string bdlcVersion;
  Digest mac{};
};

struct PeerEndpoint {
  uint32_t rank = 0;
  std::string host;
  uint16_t port = 0;
};

struct WelcomeMsg {
  Digest proof{};
  std::vector<PeerEndpoint> peers; // filled by the coordinator only
};

struct RejectMsg {
  std::string reason;
  int32_t faultRank = -1; // the rank whose identity made the job fail, if one
};

struct AbortMsg {
  int32_t failedRank = -1; // -1: no single rank is at fault
  std::string reason;
};

// A link whose two ends share an IP address (same host, same network
// namespace) moves to a Unix-domain socket after the handshake: the acceptor
// listens on the abstract socket named after `name` and sends this over the
// authenticated TCP link; the connector must present `secret` there first.
struct LocalLinkMsg {
  Nonce name{};
  Nonce secret{};
};

std::vector<uint8_t> encodeChallenge(const ChallengeMsg& m);
std::vector<uint8_t> encodeHello(const HelloMsg& m);
std::vector<uint8_t> encodeWelcome(const WelcomeMsg& m);
std::vector<uint8_t> encodeReject(const RejectMsg& m);
std::vector<uint8_t> encodeAbort(const AbortMsg& m);
std::vector<uint8_t> encodeLocalLink(const LocalLinkMsg& m);

// Each returns nullopt unless the payload is exactly one well-formed message.
std::optional<ChallengeMsg> parseChallenge(std::span<const uint8_t> payload);
std::optional<HelloMsg> parseHello(std::span<const uint8_t> payload);
std::optional<WelcomeMsg> parseWelcome(std::span<const uint8_t> payload);
std::optional<RejectMsg> parseReject(std::span<const uint8_t> payload);
std::optional<AbortMsg> parseAbort(std::span<const uint8_t> payload);
std::optional<LocalLinkMsg> parseLocalLink(std::span<const uint8_t> payload);

// MAC the connector puts in Hello (all Hello fields except mac itself).
Digest helloMac(std::string_view token, const ChallengeMsg& challenge, const HelloMsg& hello);
// MAC the acceptor puts in Welcome.
Digest welcomeProof(std::string_view token, const ChallengeMsg& challenge, const HelloMsg& hello);
// Constant-time comparison.
bool digestEqual(const Digest& a, const Digest& b);
// Cryptographically random nonce; throws std::runtime_error if the RNG fails.
Nonce randomNonce();
// SHA-256 of arbitrary bytes (e.g. a compiled program's canonical text).
Digest sha256(std::span<const uint8_t> data);
// First `chars` hex digits, for messages.
std::string hexPrefix(const Digest& d, size_t chars = 12);

} // namespace bdl::dist
