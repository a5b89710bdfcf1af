// Handshake messages: exact round trips, rejection of truncated, padded and
// oversized input, and MACs that depend on the token and on every field.
#include "runtime/dist/Handshake.h"

#include <gtest/gtest.h>

using namespace bdl::dist;

namespace {
HelloMsg sampleHello() {
  HelloMsg h;
  h.rank = 3;
  h.worldSize = 8;
  h.clientNonce.fill(0x11);
  h.programHash.fill(0x22);
  h.dataPort = 40000;
  h.bdlcVersion = "0.1.0";
  h.mac.fill(0x33);
  return h;
}
ChallengeMsg sampleChallenge() {
  ChallengeMsg c;
  c.acceptorRank = 0;
  c.worldSize = 8;
  c.nonce.fill(0x44);
  return c;
}
} // namespace

TEST(Handshake, RoundTrips) {
  auto c = parseChallenge(encodeChallenge(sampleChallenge()));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->nonce, sampleChallenge().nonce);
  auto h = parseHello(encodeHello(sampleHello()));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rank, 3u);
  EXPECT_EQ(h->dataPort, 40000);
  EXPECT_EQ(h->bdlcVersion, "0.1.0");
  EXPECT_EQ(h->mac, sampleHello().mac);
  WelcomeMsg w;
  w.proof.fill(9);
  w.peers = {{1, "127.0.0.1", 5000}, {2, "10.0.0.2", 5001}};
  auto w2 = parseWelcome(encodeWelcome(w));
  ASSERT_TRUE(w2);
  ASSERT_EQ(w2->peers.size(), 2u);
  EXPECT_EQ(w2->peers[1].host, "10.0.0.2");
  EXPECT_EQ(w2->peers[1].port, 5001);
  auto r = parseReject(encodeReject({"program mismatch", 2}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "program mismatch");
  EXPECT_EQ(r->faultRank, 2);
  auto a = parseAbort(encodeAbort({5, "rank 5 silent"}));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->failedRank, 5);
  a = parseAbort(encodeAbort({-1, "x"}));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->failedRank, -1);
}

TEST(Handshake, RejectsTruncatedAndPaddedMessages) {
  auto hello = encodeHello(sampleHello());
  for (size_t n = 0; n < hello.size(); ++n)
    EXPECT_FALSE(parseHello(std::span<const uint8_t>(hello.data(), n))) << n;
  hello.push_back(0);
  EXPECT_FALSE(parseHello(hello));
  auto c = encodeChallenge(sampleChallenge());
  c.pop_back();
  EXPECT_FALSE(parseChallenge(c));
  EXPECT_FALSE(parseReject(std::vector<uint8_t>{0, 0, 0, 0, 5, 0, 'a'}));
  EXPECT_FALSE(parseAbort(std::vector<uint8_t>{0xFE, 0xFF, 0xFF, 0xFF, 0, 0})); // rank -2
}

TEST(Handshake, WelcomeCountIsBoundedByPayload) {
  WelcomeMsg w;
  auto bytes = encodeWelcome(w);
  bytes[32] = bytes[33] = bytes[34] = bytes[35] = 0xFF; // 4 billion peers, no bytes
  EXPECT_FALSE(parseWelcome(bytes));
}

TEST(Handshake, MacDependsOnTokenAndEveryField) {
  auto c = sampleChallenge();
  auto h = sampleHello();
  Digest base = helloMac("secret", c, h);
  EXPECT_TRUE(digestEqual(base, helloMac("secret", c, h)));
  EXPECT_FALSE(digestEqual(base, helloMac("secreT", c, h)));
  auto c2 = c;
  c2.nonce[31] ^= 1;
  EXPECT_FALSE(digestEqual(base, helloMac("secret", c2, h)));
  auto h2 = h;
  h2.rank = 4;
  EXPECT_FALSE(digestEqual(base, helloMac("secret", c, h2)));
  h2 = h;
  h2.programHash[0] ^= 1;
  EXPECT_FALSE(digestEqual(base, helloMac("secret", c, h2)));
  h2 = h;
  h2.bdlcVersion = "0.1.1";
  EXPECT_FALSE(digestEqual(base, helloMac("secret", c, h2)));
  h2 = h;
  h2.dataPort = 1;
  EXPECT_FALSE(digestEqual(base, helloMac("secret", c, h2)));
  h2 = h;
  h2.mac.fill(0); // the MAC field itself is not covered
  EXPECT_TRUE(digestEqual(base, helloMac("secret", c, h2)));
  EXPECT_FALSE(digestEqual(base, welcomeProof("secret", c, h)));
}

TEST(Handshake, NoncesDifferAndShaIsStandard) {
  EXPECT_NE(randomNonce(), randomNonce());
  std::string abc = "abc";
  auto d = sha256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(abc.data()), abc.size()));
  EXPECT_EQ(hexPrefix(d, 64), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
