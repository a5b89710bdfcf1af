// The challenge-response every link runs, from both ends, and connecting
// with retries: see Handshake.h for the protocol. Rendezvous.cpp decides
// what to do with the identities these establish.
#include "runtime/dist/CommunicatorImpl.h"

namespace bdl::dist {

asio::awaitable<void> sleepFor(asio::io_context& io, Clock::duration d) {
  asio::steady_timer t(io, d);
  ErrorCode ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

namespace {


// GCC 12 destroys class-type temporaries of a ?: twice inside coroutines
// (double free), so coroutine bodies in this folder use these helpers or
// if/else instead of conditional expressions on strings and optionals.
std::string hintFor(int targetRank) {
  if (targetRank == 0)
    return " (is rank 0 running and listening there?)";
  return {};
}

DistError rejectError(const Frame& f, const std::string& who, int acceptorRank, const std::string& address) {
  auto r = parseReject(f.payload);
  if (!r)
    return DistError(who + " rejected this rank", acceptorRank, address);
  if (r->faultRank == acceptorRank)
    return DistError(r->reason, acceptorRank, address);
  return DistError(r->reason, r->faultRank);
}

} // namespace

asio::awaitable<HelloMsg> Communicator::Impl::acceptorHandshake(SocketPtr socket, const std::string& remote,
                                                                Clock::time_point deadline, ChallengeMsg& challenge) {
  challenge = {static_cast<uint32_t>(config.rank), static_cast<uint32_t>(config.worldSize), randomNonce()};
  std::vector<uint8_t> challengeBytes = encodeChallenge(challenge);
  co_await writeFrameWithin(socket, FrameType::Challenge, std::move(challengeBytes), deadline);
  Frame f = co_await readFrameWithin(socket, deadline, config.maxFrameBytes);
  if (f.type != FrameType::Hello)
    throw LinkError(std::string("expected a Hello frame, got ") + frameTypeName(f.type));
  auto hello = parseHello(f.payload);
  if (!hello)
    throw LinkError("malformed Hello frame");
  if (!digestEqual(hello->mac, helloMac(token, challenge, *hello)))
    throw AuthFailure("it did not prove it holds the job token (HMAC mismatch: wrong or missing BDL_JOB_TOKEN)");
  co_return *hello;
}

std::string Communicator::Impl::checkIdentity(const HelloMsg& hello, const std::string& who) const {
  if (!digestEqual(hello.programHash, config.programHash))
    return "program mismatch: " + who + " compiled a program with hash " + hexPrefix(hello.programHash) +
           ", rank " + std::to_string(config.rank) + " has " + hexPrefix(config.programHash) +
           "; every rank must compile the same .bdl source with the same options";
  if (hello.bdlcVersion != config.bdlcVersion.substr(0, kMaxVersionBytes))
    return "bdlc version mismatch: " + who + " runs bdlc " + hello.bdlcVersion + ", rank " +
           std::to_string(config.rank) + " runs bdlc " + config.bdlcVersion +
           "; install the same bdlc on every host";
  return {};
}

asio::awaitable<SocketPtr> Communicator::Impl::connectWithRetry(const std::string& host, uint16_t port, int targetRank,
                                                                 Clock::time_point deadline) {
  std::string address = formatAddress(host, port);
  tcp::endpoint endpoint;
  try {
    endpoint = resolveEndpoint(io, host, port);
  } catch (const LinkError& e) {
    throw DistError("cannot reach rank " + std::to_string(targetRank) + " at " + address + ": " + e.what(),
                    targetRank, address);
  }
  ErrorCode last = asio::error::timed_out;
  while (Clock::now() < deadline && !isFailed()) {
    auto s = newSocket();
    ErrorCode ec = co_await connectWithin(s, endpoint, std::min(deadline, Clock::now() + timeout()));
    if (!ec)
      co_return s;
    last = ec;
    // Refused: the listener may not be up yet (workers often start first).
    co_await sleepFor(io, std::chrono::milliseconds(20));
  }
  throw DistError("cannot connect to rank " + std::to_string(targetRank) + " at " + address + ": " +
                      describeError(last) + hintFor(targetRank),
                  targetRank, address);
}

asio::awaitable<WelcomeMsg> Communicator::Impl::connectorHandshake(SocketPtr socket, int acceptorRank,
                                                                   const std::string& address, uint16_t myDataPort,
                                                                   Clock::time_point deadline) {
  std::string who = "rank " + std::to_string(acceptorRank) + " (" + address + ")";
  auto fail = [&](const std::string& what) { return DistError(who + ": " + what, acceptorRank, address); };
  Frame f{};
  try {
    f = co_await readFrameWithin(socket, std::min(deadline, Clock::now() + timeout()), config.maxFrameBytes);
  } catch (const LinkError& e) {
    throw fail(std::string("handshake failed: ") + e.what());
  }
  if (f.type == FrameType::Reject)
    throw rejectError(f, who, acceptorRank, address);
  std::optional<ChallengeMsg> challenge;
  if (f.type == FrameType::Challenge)
    challenge = parseChallenge(f.payload);
  if (!challenge)
    throw fail("handshake failed: expected a Challenge frame");
  if (challenge->acceptorRank != static_cast<uint32_t>(acceptorRank) ||
      challenge->worldSize != static_cast<uint32_t>(config.worldSize))
    throw fail("belongs to another job: it is rank " + std::to_string(challenge->acceptorRank) + " of " +
               std::to_string(challenge->worldSize));
  HelloMsg hello;
  hello.rank = static_cast<uint32_t>(config.rank);
  hello.worldSize = static_cast<uint32_t>(config.worldSize);
  hello.clientNonce = randomNonce();
  hello.programHash = config.programHash;
  hello.dataPort = myDataPort;
  hello.bdlcVersion = config.bdlcVersion.substr(0, kMaxVersionBytes);
  hello.mac = helloMac(token, *challenge, hello);
  try {
    std::vector<uint8_t> helloBytes = encodeHello(hello);
    co_await writeFrameWithin(socket, FrameType::Hello, std::move(helloBytes), deadline);
    // Rank 0 answers only once every worker has joined, or at its own join
    // deadline with the reason: wait for that verdict a little longer than
    // our deadline, since rank 0's clock may have started later.
    f = co_await readFrameWithin(socket, deadline + timeout(), config.maxFrameBytes);
  } catch (const LinkError& e) {
    throw fail(std::string("handshake failed: ") + e.what() +
               " (if that rank logged a refused connection, this process's BDL_JOB_TOKEN differs from the job's)");
  }
  if (f.type == FrameType::Reject)
    throw rejectError(f, who, acceptorRank, address);
  std::optional<WelcomeMsg> welcome;
  if (f.type == FrameType::Welcome)
    welcome = parseWelcome(f.payload);
  if (!welcome)
    throw fail("handshake failed: expected a Welcome frame");
  if (!digestEqual(welcome->proof, welcomeProof(token, *challenge, hello)))
    throw fail("could not prove it holds the job token; refusing to join (is another job using that address?)");
  co_return *welcome;
}

} // namespace bdl::dist
