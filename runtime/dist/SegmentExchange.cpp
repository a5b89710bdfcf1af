// Same-host links also share memory: right after a link moves to its Unix
// socket (LocalLink.cpp), and before any frame, each end sends one byte,
// 1 with its segment's descriptor attached or 0 if it does not share
// (DistConfig::sharedMemory off, BDL_SHARED_MEMORY=0, or no memfd). The acceptor
// sends first. The link shares memory only if both sent 1, so both ends
// reach the same answer even when their settings differ.
#include "runtime/dist/CommunicatorImpl.h"

#include <cstring>

namespace bdl::dist {

int Communicator::Impl::ownSegmentFd() {
  if (!config.sharedMemory)
    return -1;
  if (!ownSegmentTried) {
    ownSegmentTried = true;
    std::string error;
    ownSegment = createSegment(error);
    if (!error.empty())
      log("same-host links keep to sockets: " + error);
  }
  return ownSegment.get();
}

asio::awaitable<void> Communicator::Impl::exchangeSegments(SocketPtr link, int peerRank, bool sendFirst,
                                                           Clock::time_point deadline) {
  const int mine = ownSegmentFd();
  std::string problem;
  auto send = [&]() -> asio::awaitable<void> {
    for (;;) {
      int err = sendByteWithFd(link->native_handle(), mine >= 0 ? 1 : 0, mine);
      if (err == 0)
        co_return;
      if (err != EAGAIN && err != EINTR) {
        problem = std::string("cannot send the shared segment: ") + std::strerror(err);
        co_return;
      }
      if (ErrorCode ec = co_await waitWithin(link, tcp::socket::wait_write, deadline)) {
        problem = "cannot send the shared segment: " + describeError(ec);
        co_return;
      }
    }
  };
  uint8_t offered = 0;
  UniqueFd theirs;
  auto receive = [&]() -> asio::awaitable<void> {
    for (;;) {
      int err = receiveByteWithFd(link->native_handle(), offered, theirs);
      if (err == 0)
        co_return;
      if (err != EAGAIN && err != EINTR) {
        problem = std::string("cannot receive its shared segment: ") +
                  (err == ECONNRESET ? "connection closed by the peer" : std::strerror(err));
        co_return;
      }
      if (ErrorCode ec = co_await waitWithin(link, tcp::socket::wait_read, deadline)) {
        problem = "cannot receive its shared segment: " + describeError(ec);
        co_return;
      }
    }
  };
  if (sendFirst) {
    co_await send();
    if (problem.empty())
      co_await receive();
  } else {
    co_await receive();
    if (problem.empty())
      co_await send();
  }
  if (problem.empty() && offered == 1 && theirs.get() < 0)
    problem = "it offered a shared segment without a descriptor";
  if (!problem.empty())
    throw DistError(describe(peerRank) + ": " + problem, peerRank);
  if (mine >= 0 && offered == 1)
    peerSegments[static_cast<size_t>(peerRank)] = std::move(theirs);
}

} // namespace bdl::dist
