// Same-host links over Unix-domain sockets. Loopback TCP costs about 2.5x
// the CPU per byte of a Unix socket (every byte goes through the TCP/IP
// stack on both ends), and on one host that is most of a parameter sync.
//
// After the handshake of a link whose two ends have the same IP address
// (hence the same host and network namespace, which is where abstract Unix
// sockets are shared), the acceptor listens on an abstract socket with a
// random name, sends LocalLink(name, secret) on the authenticated TCP link,
// and keeps the first connection that presents the secret; the connector
// connects and presents it. Both then close the TCP socket. Anyone in the
// namespace can see the name (/proc/net/unix) but not the secret, which only
// travelled on the link the token authenticated.
//
// The rest of the layer is unchanged: the Unix socket is driven through the
// same tcp::socket type (Asio's stream operations only use the descriptor;
// TCP-only options such as TCP_NODELAY fail harmlessly), deadlines and
// heartbeats work as before, and a dead process closes it like a TCP link.
#include "runtime/dist/CommunicatorImpl.h"

namespace bdl::dist {

namespace {

using local = asio::local::stream_protocol;

local::endpoint abstractEndpoint(const Nonce& name) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string path(1, '\0'); // a leading NUL: Linux's abstract namespace, no file
  path += "bdl-";
  for (size_t i = 0; i < 16; ++i) {
    path += hex[name[i] >> 4];
    path += hex[name[i] & 15];
  }
  return local::endpoint(path);
}

void closeQuietly(const SocketPtr& s) {
  ErrorCode ignored;
  s->shutdown(tcp::socket::shutdown_both, ignored);
  s->close(ignored);
}

} // namespace

bool Communicator::Impl::wantsLocalLink(const SocketPtr& s) const {
  if (!config.localLinks)
    return false;
  ErrorCode a, b;
  auto mine = s->local_endpoint(a);
  auto theirs = s->remote_endpoint(b);
  return !a && !b && mine.address() == theirs.address();
}

SocketPtr Communicator::Impl::adoptLocalSocket(asio::local::stream_protocol::socket& s) {
  SocketPtr adopted = newSocket();
  ErrorCode ec;
  adopted->assign(tcp::v4(), s.release(), ec);
  if (ec)
    throw LinkError("cannot adopt the local socket: " + describeError(ec));
  return adopted;
}

asio::awaitable<SocketPtr> Communicator::Impl::offerLocalLink(SocketPtr link, int peerRank, Clock::time_point deadline) {
  if (!wantsLocalLink(link))
    co_return link;
  std::string who = describe(peerRank);
  LocalLinkMsg offer{randomNonce(), randomNonce()};
  auto acceptor = std::make_shared<local::acceptor>(io);
  std::string problem;
  try {
    auto endpoint = abstractEndpoint(offer.name);
    acceptor->open(endpoint.protocol());
    acceptor->bind(endpoint);
    acceptor->listen();
  } catch (const std::exception& e) {
    problem = e.what();
  }
  if (!problem.empty())
    throw DistError(who + ": cannot open a local socket for this same-host link: " + problem, peerRank);
  // The deadline closes the listener, which ends a pending accept.
  auto timer = std::make_shared<asio::steady_timer>(io, deadline);
  timer->async_wait([acceptor](const ErrorCode& ec) {
    ErrorCode ignored;
    if (!ec)
      acceptor->close(ignored);
  });
  try {
    std::vector<uint8_t> payload = encodeLocalLink(offer);
    co_await writeFrameWithin(link, FrameType::LocalLink, std::move(payload), deadline);
  } catch (const LinkError& e) {
    problem = e.what();
  }
  while (problem.empty()) {
    local::socket incoming(io);
    ErrorCode ec;
    co_await acceptor->async_accept(incoming, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      problem = "it did not connect to the local socket: " + describeError(ec);
      break;
    }
    SocketPtr candidate = adoptLocalSocket(incoming);
    Nonce secret{};
    ec = co_await readWithin(candidate, asio::buffer(secret), deadline);
    if (!ec && digestEqual(secret, offer.secret)) {
      timer->cancel();
      ErrorCode ignored;
      acceptor->close(ignored);
      closeQuietly(link);
      co_await exchangeSegments(candidate, peerRank, true, deadline);
      co_return candidate;
    }
    log("refused a connection to the local socket of the link to " + who + ": it did not present the link's secret");
    closeQuietly(candidate);
  }
  timer->cancel();
  ErrorCode ignored;
  acceptor->close(ignored);
  throw DistError(who + ": moving the same-host link to a Unix socket failed: " + problem, peerRank);
}

asio::awaitable<SocketPtr> Communicator::Impl::takeLocalLink(SocketPtr link, int peerRank, Clock::time_point deadline) {
  if (!wantsLocalLink(link))
    co_return link;
  std::string who = describe(peerRank);
  std::string problem;
  Frame f{};
  try {
    f = co_await readFrameWithin(link, deadline, config.maxFrameBytes);
  } catch (const LinkError& e) {
    problem = e.what();
  }
  std::optional<LocalLinkMsg> offer;
  if (problem.empty() && f.type == FrameType::LocalLink)
    offer = parseLocalLink(f.payload);
  if (problem.empty() && !offer)
    problem = std::string("expected a LocalLink frame, got a malformed one or ") + frameTypeName(f.type) +
              " (do all ranks use the same localLinks setting?)";
  if (!problem.empty())
    throw DistError(who + ": moving the same-host link to a Unix socket failed: " + problem, peerRank);
  local::socket s(io);
  local::endpoint target = abstractEndpoint(offer->name);
  ErrorCode ec;
  co_await s.async_connect(target, asio::redirect_error(asio::use_awaitable, ec));
  if (ec)
    throw DistError(who + ": cannot connect to its local socket: " + describeError(ec), peerRank);
  SocketPtr adopted = adoptLocalSocket(s);
  // (A braced list inside co_await: GCC 12 cannot copy its backing array.)
  std::vector<asio::const_buffer> secret;
  secret.push_back(asio::buffer(offer->secret));
  ec = co_await writeWithin(adopted, std::move(secret), deadline);
  if (ec)
    throw DistError(who + ": cannot present the secret on its local socket: " + describeError(ec), peerRank);
  closeQuietly(link);
  co_await exchangeSegments(adopted, peerRank, false, deadline);
  co_return adopted;
}

} // namespace bdl::dist
