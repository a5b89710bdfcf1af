// Rendezvous: rank 0 admits every worker (token proof, program hash and
// bdlc version), then either welcomes all of them with the peer table or
// rejects all of them with one message, so a mismatch is the same clear
// error on every rank. Workers then link to each other: rank j connects to
// ranks 1..j-1 and accepts from ranks above it; rank 0's links double as its
// data-plane links. Every link runs the same challenge-response.
#include "runtime/dist/CommunicatorImpl.h"

namespace bdl::dist {

namespace {

// A link admitted by rank 0, waiting for the decision.
struct Joiner {
  SocketPtr socket;
  HelloMsg hello;
  ChallengeMsg challenge;
  std::string remoteHost;
};

// Shared by the coroutines of one rendezvous phase. `signal` expires at the
// phase deadline; cancel() means "decided early" (all in, or fatal error).
struct JoinState {
  explicit JoinState(asio::io_context& io) : signal(io) {}
  std::vector<std::optional<Joiner>> joined;
  std::vector<SocketPtr> toReject; // admitted links that made the job fail
  int pending = 0;
  std::string fatal;
  int fatalRank = -1;
  bool closed = false;
  asio::steady_timer signal;
  void decide(const std::string& error, int rank) {
    if (fatal.empty() && !error.empty()) {
      fatal = error;
      fatalRank = rank;
    }
    signal.cancel();
  }
};

std::string remoteAddress(const SocketPtr& s) {
  ErrorCode ec;
  auto ep = s->remote_endpoint(ec);
  return ec ? std::string("unknown address") : formatAddress(ep.address().to_string(), ep.port());
}

std::string remoteHost(const SocketPtr& s) {
  ErrorCode ec;
  auto ep = s->remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string();
}

void closeQuietly(const SocketPtr& s) {
  ErrorCode ignored;
  s->shutdown(tcp::socket::shutdown_both, ignored);
  s->close(ignored);
}

asio::awaitable<void> sendRejectQuietly(SocketPtr s, std::string reason, int faultRank = -1) {
  try {
    RejectMsg message;
    message.reason = std::move(reason);
    message.faultRank = faultRank;
    std::vector<uint8_t> payload = encodeReject(message);
    co_await writeFrameWithin(s, FrameType::Reject, std::move(payload), Clock::now() + std::chrono::seconds(1));
  } catch (const LinkError&) {
    // The peer is already gone; nothing more to tell it.
  }
  closeQuietly(s);
}

std::string rankList(const std::vector<int>& ranks) {
  std::string s;
  for (int r : ranks)
    s += (s.empty() ? "" : ", ") + std::to_string(r);
  return s;
}

} // namespace

asio::awaitable<void> Communicator::Impl::rendezvous() {
  if (config.worldSize == 1)
    co_return;
  if (config.rank == 0)
    co_await runCoordinator();
  else
    co_await runWorker();
}

namespace {

asio::awaitable<void> admitWorker(Communicator::Impl* self, std::shared_ptr<JoinState> st, SocketPtr s,
                                  Clock::time_point deadline) {
  std::string remote = remoteAddress(s);
  ChallengeMsg challenge;
  HelloMsg hello;
  bool authFailed = false;
  try {
    hello = co_await self->acceptorHandshake(s, remote, std::min(deadline, Clock::now() + self->timeout()), challenge);
  } catch (const AuthFailure& e) {
    self->log("refused connection from " + remote + ": " + e.what());
    authFailed = true;
  } catch (const LinkError& e) {
    self->log("refused connection from " + remote + ": handshake failed: " + e.what());
    closeQuietly(s);
    co_return;
  }
  if (authFailed) { // (no co_await inside a handler)
    std::string reason = "rank 0 (" + self->addresses[0] +
                         ") refused this connection: authentication failed; this process's "
                         "BDL_JOB_TOKEN differs from the job's";
    co_await sendRejectQuietly(s, std::move(reason));
    co_return;
  }
  if (st->closed) {
    co_await sendRejectQuietly(s, "rank 0 is no longer admitting workers (the job already started or failed)");
    co_return;
  }
  const int W = self->config.worldSize;
  std::string who = "the worker at " + remote;
  std::string problem;
  if (hello.worldSize != static_cast<uint32_t>(W))
    problem = who + " claims rank " + std::to_string(hello.rank) + " of a job of " + std::to_string(hello.worldSize) +
              " ranks, but rank 0 runs a job of " + std::to_string(W) + " ranks";
  else if (hello.rank == 0 || hello.rank >= static_cast<uint32_t>(W))
    problem = who + " claims rank " + std::to_string(hello.rank) + ", outside 1.." + std::to_string(W - 1);
  else if (st->joined[hello.rank])
    problem = "two processes claim rank " + std::to_string(hello.rank) + " (" + st->joined[hello.rank]->remoteHost +
              " and " + remote + ")";
  if (!problem.empty()) {
    st->toReject.push_back(s);
    st->decide(problem, static_cast<int>(hello.rank) < W ? static_cast<int>(hello.rank) : -1);
    co_return;
  }
  st->joined[hello.rank] = Joiner{s, hello, challenge, remoteHost(s)};
  if (--st->pending == 0)
    st->decide({}, -1);
}

asio::awaitable<void> coordinatorAcceptLoop(Communicator::Impl* self, std::shared_ptr<JoinState> st,
                                            Clock::time_point deadline) {
  for (;;) {
    auto s = self->newSocket();
    ErrorCode ec;
    co_await self->coordinatorAcceptor->async_accept(*s, asio::redirect_error(asio::use_awaitable, ec));
    if (st->closed || ec == asio::error::operation_aborted)
      co_return;
    if (ec) {
      self->log("accept failed: " + ec.message());
      co_await sleepFor(self->io, std::chrono::milliseconds(10));
      continue;
    }
    asio::co_spawn(self->io, admitWorker(self, st, s, deadline), asio::detached);
  }
}

} // namespace

asio::awaitable<void> Communicator::Impl::runCoordinator() {
  const int W = config.worldSize;
  auto deadline = Clock::now() + config.joinTimeout;
  auto st = std::make_shared<JoinState>(io);
  st->joined.resize(static_cast<size_t>(W));
  st->pending = W - 1;
  st->signal.expires_at(deadline);
  asio::co_spawn(io, coordinatorAcceptLoop(this, st, deadline), asio::detached);
  ErrorCode ec;
  co_await st->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  st->closed = true;
  ErrorCode ignored;
  coordinatorAcceptor->close(ignored);

  std::string reject = st->fatal;
  int faultRank = st->fatalRank;
  if (reject.empty() && st->pending > 0) {
    std::vector<int> missing;
    for (int r = 1; r < W; ++r)
      if (!st->joined[static_cast<size_t>(r)])
        missing.push_back(r);
    reject = "rendezvous timed out after " + std::to_string(config.joinTimeout.count()) + " ms: rank(s) " +
             rankList(missing) + " did not join rank 0 at " + addresses[0] +
             " (are they running, with this coordinator address and the same BDL_JOB_TOKEN?)";
    faultRank = missing.front();
  }
  for (int r = 1; r < W && reject.empty(); ++r) {
    const Joiner& j = *st->joined[static_cast<size_t>(r)];
    std::string who = "rank " + std::to_string(r) + " (" + formatAddress(j.remoteHost, j.hello.dataPort) + ")";
    reject = checkIdentity(j.hello, who);
    if (!reject.empty())
      faultRank = r;
  }
  if (!reject.empty()) {
    for (auto& j : st->joined)
      if (j)
        co_await sendRejectQuietly(j->socket, reject, faultRank);
    for (auto& s : st->toReject)
      co_await sendRejectQuietly(s, reject, faultRank);
    std::string address;
    if (faultRank > 0 && st->joined[static_cast<size_t>(faultRank)])
      address = formatAddress(st->joined[static_cast<size_t>(faultRank)]->remoteHost,
                              st->joined[static_cast<size_t>(faultRank)]->hello.dataPort);
    throw DistError(reject, faultRank, address);
  }

  WelcomeMsg welcome;
  for (int r = 1; r < W; ++r) {
    const Joiner& j = *st->joined[static_cast<size_t>(r)];
    welcome.peers.push_back({static_cast<uint32_t>(r), j.remoteHost, j.hello.dataPort});
  }
  for (int r = 1; r < W; ++r) {
    Joiner& j = *st->joined[static_cast<size_t>(r)];
    welcome.proof = welcomeProof(token, j.challenge, j.hello);
    std::string address = formatAddress(j.remoteHost, j.hello.dataPort);
    try {
      std::vector<uint8_t> welcomeBytes = encodeWelcome(welcome);
      co_await writeFrameWithin(j.socket, FrameType::Welcome, std::move(welcomeBytes), Clock::now() + timeout());
    } catch (const LinkError& e) {
      throw DistError("rank " + std::to_string(r) + " (" + address + ") dropped out of the rendezvous: " + e.what(), r,
                      address);
    }
    addresses[static_cast<size_t>(r)] = address; // named in errors from here on
    SocketPtr link = co_await offerLocalLink(j.socket, r, Clock::now() + timeout());
    addPeer(r, address, link);
  }
}

namespace {

asio::awaitable<void> admitPeer(Communicator::Impl* self, std::shared_ptr<JoinState> st, SocketPtr s,
                                Clock::time_point deadline) {
  std::string remote = remoteAddress(s);
  ChallengeMsg challenge;
  HelloMsg hello;
  try {
    hello = co_await self->acceptorHandshake(s, remote, std::min(deadline, Clock::now() + self->timeout()), challenge);
  } catch (const LinkError& e) {
    self->log("refused data-plane connection from " + remote + ": " + e.what());
    closeQuietly(s);
    co_return;
  }
  const int me = self->config.rank;
  const int W = self->config.worldSize;
  int r = static_cast<int>(hello.rank);
  std::string problem;
  if (hello.worldSize != static_cast<uint32_t>(W) || hello.rank <= static_cast<uint32_t>(me) ||
      hello.rank >= static_cast<uint32_t>(W) || self->peers[hello.rank])
    problem = "unexpected data-plane connection from " + remote + " claiming rank " + std::to_string(hello.rank) +
              " of " + std::to_string(hello.worldSize);
  else
    problem = self->checkIdentity(hello, self->describe(r));
  if (st->closed || !problem.empty()) {
    std::string reason = problem;
    if (reason.empty())
      reason = "rank " + std::to_string(me) + " is no longer accepting links";
    co_await sendRejectQuietly(s, reason);
    if (!problem.empty())
      st->decide(problem, r < W ? r : -1);
    co_return;
  }
  WelcomeMsg welcome;
  welcome.proof = welcomeProof(self->token, challenge, hello);
  try {
    std::vector<uint8_t> welcomeBytes = encodeWelcome(welcome);
    co_await writeFrameWithin(s, FrameType::Welcome, std::move(welcomeBytes), deadline);
  } catch (const LinkError& e) {
    st->decide(self->describe(r) + ": data-plane handshake failed: " + e.what(), r);
    co_return;
  }
  SocketPtr link;
  try {
    link = co_await self->offerLocalLink(s, r, std::min(deadline, Clock::now() + self->timeout()));
  } catch (const DistError& e) {
    st->decide(e.what(), r);
    co_return;
  }
  self->addPeer(r, self->addresses[static_cast<size_t>(r)], link);
  if (--st->pending == 0)
    st->decide({}, -1);
}

asio::awaitable<void> dataAcceptLoop(Communicator::Impl* self, std::shared_ptr<tcp::acceptor> acceptor,
                                     std::shared_ptr<JoinState> st, Clock::time_point deadline) {
  for (;;) {
    auto s = self->newSocket();
    ErrorCode ec;
    co_await acceptor->async_accept(*s, asio::redirect_error(asio::use_awaitable, ec));
    if (st->closed || ec == asio::error::operation_aborted)
      co_return;
    if (ec) {
      co_await sleepFor(self->io, std::chrono::milliseconds(10));
      continue;
    }
    asio::co_spawn(self->io, admitPeer(self, st, s, deadline), asio::detached);
  }
}

asio::awaitable<void> connectPeer(Communicator::Impl* self, int target, std::string host, uint16_t port,
                                  std::shared_ptr<JoinState> st, Clock::time_point deadline) {
  SocketPtr s;
  try {
    s = co_await self->connectWithRetry(host, port, target, deadline);
    co_await self->connectorHandshake(s, target, formatAddress(host, port), 0, deadline);
    s = co_await self->takeLocalLink(s, target, std::min(deadline, Clock::now() + self->timeout()));
  } catch (const DistError& e) {
    st->decide(e.what(), target);
    co_return;
  }
  if (st->closed) {
    closeQuietly(s);
    co_return;
  }
  self->addPeer(target, formatAddress(host, port), s);
  if (--st->pending == 0)
    st->decide({}, -1);
}

} // namespace

asio::awaitable<void> Communicator::Impl::runWorker() {
  const int me = config.rank;
  const int W = config.worldSize;
  auto deadline = Clock::now() + config.joinTimeout;

  // Bind the data-plane listener first so its port can go in the Hello.
  auto dataAcceptor = std::make_shared<tcp::acceptor>(io);
  rendezvousAcceptors.push_back(dataAcceptor);
  try {
    auto endpoint = resolveEndpoint(io, config.bindHost, 0);
    dataAcceptor->open(endpoint.protocol());
    dataAcceptor->bind(endpoint);
    dataAcceptor->listen();
  } catch (const std::exception& e) {
    throw DistError("rank " + std::to_string(me) + " cannot listen on " + config.bindHost + ": " + e.what());
  }
  uint16_t dataPort = dataAcceptor->local_endpoint().port();

  SocketPtr coordinator = co_await connectWithRetry(config.coordinatorHost, config.coordinatorPort, 0, deadline);
  WelcomeMsg welcome = co_await connectorHandshake(coordinator, 0, addresses[0], dataPort, deadline);
  std::vector<std::optional<PeerEndpoint>> table(static_cast<size_t>(W));
  for (auto& p : welcome.peers)
    if (p.rank >= 1 && p.rank < static_cast<uint32_t>(W) && !table[p.rank])
      table[p.rank] = p;
  for (int r = 1; r < W; ++r) {
    if (!table[static_cast<size_t>(r)])
      throw DistError("rank 0 (" + addresses[0] + ") sent a peer table without rank " + std::to_string(r), 0,
                      addresses[0]);
    addresses[static_cast<size_t>(r)] = formatAddress(table[static_cast<size_t>(r)]->host, table[static_cast<size_t>(r)]->port);
  }
  coordinator = co_await takeLocalLink(coordinator, 0, Clock::now() + timeout());
  addPeer(0, addresses[0], coordinator);

  auto st = std::make_shared<JoinState>(io);
  st->pending = W - 2; // every rank except 0 and me
  st->signal.expires_at(deadline);
  if (st->pending > 0) {
    if (me < W - 1)
      asio::co_spawn(io, dataAcceptLoop(this, dataAcceptor, st, deadline), asio::detached);
    for (int r = 1; r < me; ++r)
      asio::co_spawn(io, connectPeer(this, r, table[static_cast<size_t>(r)]->host, table[static_cast<size_t>(r)]->port, st, deadline),
                     asio::detached);
    ErrorCode ec;
    co_await st->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  st->closed = true;
  ErrorCode ignored;
  dataAcceptor->close(ignored);
  if (!st->fatal.empty()) {
    int r = st->fatalRank;
    std::string address;
    if (r >= 0)
      address = addresses[static_cast<size_t>(r)];
    throw DistError(st->fatal, r, address);
  }
  if (st->pending > 0) {
    std::vector<int> missing;
    for (int r = 1; r < W; ++r)
      if (r != me && !peers[static_cast<size_t>(r)])
        missing.push_back(r);
    int first = -1;
    std::string address;
    if (!missing.empty()) {
      first = missing.front();
      address = addresses[static_cast<size_t>(first)];
    }
    throw DistError("data-plane set-up timed out: no link from rank(s) " + rankList(missing) + " within the join timeout",
                    first, address);
  }
}

} // namespace bdl::dist
