#include "runtime/dist/Handshake.h"

#include "runtime/dist/Wire.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace bdl::dist {

std::vector<uint8_t> encodeChallenge(const ChallengeMsg& m) {
  ByteWriter w;
  w.u32(m.acceptorRank);
  w.u32(m.worldSize);
  w.raw(m.nonce);
  return std::move(w.bytes());
}

std::optional<ChallengeMsg> parseChallenge(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  ChallengeMsg m;
  m.acceptorRank = r.u32();
  m.worldSize = r.u32();
  r.raw(m.nonce);
  if (!r.atEnd())
    return std::nullopt;
  return m;
}

namespace {
// The Hello fields the MAC covers, in wire order.
void writeHelloBody(ByteWriter& w, const HelloMsg& m) {
  w.u32(m.rank);
  w.u32(m.worldSize);
  w.raw(m.clientNonce);
  w.raw(m.programHash);
  w.u16(m.dataPort);
  w.shortString(m.bdlcVersion.substr(0, kMaxVersionBytes));
}
} // namespace

std::vector<uint8_t> encodeHello(const HelloMsg& m) {
  ByteWriter w;
  writeHelloBody(w, m);
  w.raw(m.mac);
  return std::move(w.bytes());
}

std::optional<HelloMsg> parseHello(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  HelloMsg m;
  m.rank = r.u32();
  m.worldSize = r.u32();
  r.raw(m.clientNonce);
  r.raw(m.programHash);
  m.dataPort = r.u16();
  m.bdlcVersion = r.shortString();
  r.raw(m.mac);
  if (!r.atEnd() || m.bdlcVersion.size() > kMaxVersionBytes)
    return std::nullopt;
  return m;
}

std::vector<uint8_t> encodeWelcome(const WelcomeMsg& m) {
  ByteWriter w;
  w.raw(m.proof);
  w.u32(static_cast<uint32_t>(m.peers.size()));
  for (const auto& p : m.peers) {
    w.u32(p.rank);
    w.u16(p.port);
    w.shortString(p.host.substr(0, kMaxHostBytes));
  }
  return std::move(w.bytes());
}

std::optional<WelcomeMsg> parseWelcome(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  WelcomeMsg m;
  r.raw(m.proof);
  uint32_t count = r.u32();
  // Each entry takes at least 7 bytes: bound the count by what is present
  // before reserving anything.
  if (!r.ok() || count > r.remaining() / 7)
    return std::nullopt;
  m.peers.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    PeerEndpoint p;
    p.rank = r.u32();
    p.port = r.u16();
    p.host = r.shortString();
    m.peers.push_back(std::move(p));
  }
  if (!r.atEnd())
    return std::nullopt;
  return m;
}

std::vector<uint8_t> encodeReject(const RejectMsg& m) {
  ByteWriter w;
  w.u32(static_cast<uint32_t>(m.faultRank));
  w.longString(m.reason.substr(0, 65535));
  return std::move(w.bytes());
}

std::optional<RejectMsg> parseReject(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  RejectMsg m;
  m.faultRank = static_cast<int32_t>(r.u32());
  m.reason = r.longString();
  if (!r.atEnd() || m.faultRank < -1)
    return std::nullopt;
  return m;
}

std::vector<uint8_t> encodeAbort(const AbortMsg& m) {
  ByteWriter w;
  w.u32(static_cast<uint32_t>(m.failedRank));
  w.longString(m.reason.substr(0, 65535));
  return std::move(w.bytes());
}

std::optional<AbortMsg> parseAbort(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  AbortMsg m;
  m.failedRank = static_cast<int32_t>(r.u32());
  m.reason = r.longString();
  if (!r.atEnd() || m.failedRank < -1)
    return std::nullopt;
  return m;
}

std::vector<uint8_t> encodeLocalLink(const LocalLinkMsg& m) {
  ByteWriter w;
  w.raw(m.name);
  w.raw(m.secret);
  return std::move(w.bytes());
}

std::optional<LocalLinkMsg> parseLocalLink(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  LocalLinkMsg m;
  if (!r.raw(m.name) || !r.raw(m.secret) || !r.atEnd())
    return std::nullopt;
  return m;
}

namespace {
Digest hmacSha256(std::string_view key, std::span<const uint8_t> data) {
  Digest out{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len) ||
      len != out.size())
    throw std::runtime_error("bdl dist: HMAC-SHA256 failed in OpenSSL");
  return out;
}
} // namespace

Digest helloMac(std::string_view token, const ChallengeMsg& challenge, const HelloMsg& hello) {
  ByteWriter w;
  w.shortString("bdl-hello-v1");
  w.raw(encodeChallenge(challenge));
  writeHelloBody(w, hello);
  return hmacSha256(token, w.bytes());
}

Digest welcomeProof(std::string_view token, const ChallengeMsg& challenge, const HelloMsg& hello) {
  ByteWriter w;
  w.shortString("bdl-welcome-v1");
  w.raw(encodeChallenge(challenge));
  w.raw(hello.clientNonce);
  w.u32(hello.rank);
  return hmacSha256(token, w.bytes());
}

bool digestEqual(const Digest& a, const Digest& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

Nonce randomNonce() {
  Nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1)
    throw std::runtime_error("bdl dist: the system random number generator failed (OpenSSL RAND_bytes)");
  return n;
}

Digest sha256(std::span<const uint8_t> data) {
  Digest out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}

std::string hexPrefix(const Digest& d, size_t chars) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < d.size() && s.size() < chars; ++i) {
    s.push_back(digits[d[i] >> 4]);
    s.push_back(digits[d[i] & 15]);
  }
  s.resize(std::min(chars, s.size()));
  return s;
}

} // namespace bdl::dist
