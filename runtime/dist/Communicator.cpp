// The mesh after rendezvous: per-link reader and writer coroutines, the
// heartbeat ticker, failure propagation and orderly shutdown. Rendezvous
// itself lives in Rendezvous.cpp.
#include "runtime/dist/CommunicatorImpl.h"

#include <cstdio>
#include <cstdlib>
#include <future>

namespace bdl::dist {

std::string jobTokenFromEnvironment() {
  const char* token = std::getenv("BDL_JOB_TOKEN");
  if (!token || !*token)
    throw DistError("BDL_JOB_TOKEN is not set: every rank of a distributed job needs the same secret job token "
                    "(the launcher sets it; for a manual start, export BDL_JOB_TOKEN=$(openssl rand -hex 32) on "
                    "every host)");
  return token;
}

namespace {
std::string seconds(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}
} // namespace

Communicator::Impl::Impl(DistConfig c) : config(std::move(c)) {
  if (config.worldSize < 1 || config.rank < 0 || config.rank >= config.worldSize)
    throw DistError("invalid rank " + std::to_string(config.rank) + " for a job of " +
                    std::to_string(config.worldSize) + " ranks (ranks are 0.." +
                    std::to_string(config.worldSize - 1) + ")");
  if (config.timeout.count() <= 0 || config.joinTimeout.count() <= 0)
    throw DistError("distributed timeouts must be positive");
  if (config.maxFrameBytes < 4096)
    throw DistError("maxFrameBytes must be at least 4096");
  if (config.worldSize > 1)
    token = config.jobToken.empty() ? jobTokenFromEnvironment() : config.jobToken;
  progressSignal.expires_at(Clock::time_point::max());
  peers.resize(static_cast<size_t>(config.worldSize));
  peerSegments.resize(static_cast<size_t>(config.worldSize));
  departed.assign(static_cast<size_t>(config.worldSize), 0);
  addresses.resize(static_cast<size_t>(config.worldSize));
  addresses[0] = formatAddress(config.coordinatorHost, config.coordinatorPort);
}

bool Communicator::Impl::isFailed() const {
  std::lock_guard lock(failureMutex);
  return failure.has_value();
}

std::string Communicator::Impl::describe(int rank) const {
  if (rank < 0 || rank >= config.worldSize)
    return "rank " + std::to_string(rank);
  const std::string& a = addresses[static_cast<size_t>(rank)];
  return "rank " + std::to_string(rank) + (a.empty() ? std::string() : " (" + a + ")");
}

void Communicator::Impl::log(const std::string& line) const {
  std::string full = "bdl dist [rank " + std::to_string(config.rank) + "]: " + line;
  if (config.log)
    config.log(full);
  else
    std::fprintf(stderr, "%s\n", full.c_str());
}

Clock::duration Communicator::Impl::heartbeatInterval() const {
  auto interval = std::chrono::duration_cast<Clock::duration>(config.timeout) / 4;
  return std::max<Clock::duration>(interval, std::chrono::milliseconds(1));
}

void Communicator::Impl::addPeer(int rank, std::string address, SocketPtr socket) {
  ErrorCode ignored;
  socket->set_option(tcp::no_delay(true), ignored);
  auto peer = std::make_unique<Peer>();
  peer->rank = rank;
  peer->address = address;
  peer->socket = std::move(socket);
  addresses[static_cast<size_t>(rank)] = std::move(address);
  Peer& p = *peer;
  peers[static_cast<size_t>(rank)] = std::move(peer);
  asio::co_spawn(io, readLoop(p), asio::detached);
}

void Communicator::Impl::enqueue(Peer& peer, OutFrame frame) {
  if (peer.closed || peer.departed) {
    if (frame.done)
      frame.done(false);
    return;
  }
  peer.outbox.push_back(std::move(frame));
  if (!peer.writing) {
    peer.writing = true;
    asio::co_spawn(io, writeLoop(peer), asio::detached);
  }
}

asio::awaitable<void> Communicator::Impl::writeLoop(Peer& peer) {
  // Small frames queued together (shared-memory doorbells, control frames)
  // go out in one write, so the peer's reader wakes once for all of them.
  constexpr size_t kCoalesceBytes = 64 * 1024, kCoalesceFrames = 32;
  while (!peer.outbox.empty()) {
    std::vector<OutFrame> batch;
    std::vector<asio::const_buffer> buffers;
    size_t bytes = 0;
    do {
      OutFrame& f = peer.outbox.front();
      const size_t size = f.header.size() + (f.hasChunkHeader ? f.chunkHeader.size() : 0) + f.owned.size() +
                          f.borrowed.size();
      if (!batch.empty() && (bytes + size > kCoalesceBytes || batch.size() == kCoalesceFrames))
        break;
      bytes += size;
      batch.push_back(std::move(f));
      peer.outbox.pop_front();
    } while (!peer.outbox.empty());
    // Buffers point into the batch's frames, which stay put from here on.
    for (OutFrame& f : batch) {
      buffers.push_back(asio::buffer(f.header));
      if (f.hasChunkHeader)
        buffers.push_back(asio::buffer(f.chunkHeader));
      if (!f.owned.empty())
        buffers.push_back(asio::buffer(f.owned));
      if (!f.borrowed.empty())
        buffers.push_back(asio::buffer(f.borrowed.data(), f.borrowed.size()));
    }
    ErrorCode ec = co_await writeWithin(peer.socket, std::move(buffers), Clock::now() + timeout(), [this, &peer] {
      failPeer(peer, "accepted no data for " + seconds(timeout()) + "; the process is stalled or the network is down");
    });
    for (OutFrame& f : batch)
      if (f.done)
        f.done(!ec);
    if (ec) {
      linkError(peer, ec, "sending to");
      break;
    }
  }
  for (auto& f : peer.outbox)
    if (f.done)
      f.done(false);
  peer.outbox.clear();
  peer.writing = false;
}

asio::awaitable<void> Communicator::Impl::readLoop(Peer& peer) {
  std::array<uint8_t, kFrameHeaderBytes> headerBytes{};
  auto silent = [this, &peer] {
    failPeer(peer, "sent nothing (no data, no heartbeat) for " + seconds(timeout()) +
                       "; the process is stalled or the network is down");
  };
  while (!peer.closed && !isFailed()) {
    ErrorCode ec = co_await readWithin(peer.socket, asio::buffer(headerBytes), Clock::now() + timeout(), silent);
    if (ec) {
      linkError(peer, ec, "reading from");
      co_return;
    }
    auto parsed = parseFrameHeader(headerBytes, config.maxFrameBytes);
    if (auto* err = std::get_if<std::string>(&parsed)) {
      log("closing the link to " + describe(peer.rank) + ": malformed frame: " + *err);
      failPeer(peer, "sent a malformed frame (" + *err + "); link closed");
      co_return;
    }
    FrameHeader h = std::get<FrameHeader>(parsed);
    switch (h.type) {
    case FrameType::Heartbeat: break;
    case FrameType::Goodbye: {
      // Not a failure by itself: at the end of a job every rank leaves. The
      // sink fails the job if it still needs data from this rank.
      peer.departed = true;
      {
        std::lock_guard lock(failureMutex);
        departed[static_cast<size_t>(peer.rank)] = 1;
      }
      {
        std::lock_guard lock(sinkMutex);
        if (sink)
          sink->peerDeparted(peer.rank);
      }
      co_return;
    }
    case FrameType::Abort: {
      std::vector<uint8_t> payload(h.length);
      ec = co_await readWithin(peer.socket, asio::buffer(payload), Clock::now() + timeout(), silent);
      if (ec) {
        linkError(peer, ec, "reading from");
        co_return;
      }
      auto abort = parseAbort(payload);
      if (!abort) {
        failPeer(peer, "sent a malformed Abort frame; link closed");
        co_return;
      }
      failOnIo(abort->failedRank, abort->reason + " [reported by rank " + std::to_string(peer.rank) + "]", false);
      co_return;
    }
    case FrameType::GradChunk:
    case FrameType::WeightChunk:
      if (!co_await readChunk(peer, h.type, h.length))
        co_return;
      break;
    default:
      failPeer(peer, std::string("sent an unexpected ") + frameTypeName(h.type) + " frame after the handshake");
      co_return;
    }
  }
}

// Reads one data frame into the sink's memory. Returns false when the link
// or the job is finished.
asio::awaitable<bool> Communicator::Impl::readChunk(Peer& peer, FrameType type, uint32_t length) {
  if (length < kChunkHeaderBytes) {
    failPeer(peer, std::string("sent a truncated ") + frameTypeName(type) + " frame; link closed");
    co_return false;
  }
  std::array<uint8_t, kChunkHeaderBytes> chunkBytes{};
  auto silent = [this, &peer] {
    failPeer(peer, "stopped in the middle of a frame for " + seconds(timeout()) +
                       "; the process is stalled or the network is down");
  };
  ErrorCode ec = co_await readWithin(peer.socket, asio::buffer(chunkBytes), Clock::now() + timeout(), silent);
  if (ec) {
    linkError(peer, ec, "reading from");
    co_return false;
  }
  auto parsed = parseChunkHeader(chunkBytes);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    failPeer(peer, "sent a malformed data frame (" + *err + "); link closed");
    co_return false;
  }
  ChunkHeader ch = std::get<ChunkHeader>(parsed);
  size_t elementBytes = length - kChunkHeaderBytes;
  std::span<uint8_t> destination;
  for (;;) {
    if (isFailed() || peer.closed)
      co_return false;
    DataSink::Placement placement;
    {
      std::lock_guard lock(sinkMutex);
      if (sink) {
        placement = sink->place(peer.rank, type, ch, elementBytes);
        if (placement.verdict == DataSink::Verdict::Deliver)
          ++deliveriesInFlight;
      }
    }
    if (placement.verdict == DataSink::Verdict::Reject) {
      failPeer(peer, "sent an invalid data frame (" + placement.error + "); link closed");
      co_return false;
    }
    if (placement.verdict == DataSink::Verdict::Deliver) {
      destination = placement.destination;
      break;
    }
    // Wait: the frame belongs to an iteration this rank has not begun; leave
    // it in the socket (TCP pushes back on the sender) until woken.
    ErrorCode ignored;
    co_await progressSignal.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  ec = co_await readWithin(peer.socket, asio::buffer(destination.data(), destination.size()),
                           Clock::now() + timeout(), silent);
  std::string invalid;
  {
    std::lock_guard lock(sinkMutex);
    if (!ec && sink)
      invalid = sink->arrived(peer.rank, type, ch);
    --deliveriesInFlight;
  }
  sinkIdle.notify_all();
  if (ec) {
    linkError(peer, ec, "reading from");
    co_return false;
  }
  if (!invalid.empty()) {
    failPeer(peer, "sent an invalid data frame (" + invalid + "); link closed");
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Communicator::Impl::heartbeatLoop() {
  auto& timer = heartbeatTimer;
  while (!shuttingDown && !isFailed()) {
    timer.expires_after(heartbeatInterval());
    ErrorCode ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (shuttingDown || isFailed())
      break;
    // A link that is busy writing is visibly alive; only idle ones need a
    // heartbeat.
    for (auto& p : peers)
      if (p && !p->writing && p->outbox.empty()) {
        OutFrame f;
        f.header = encodeFrameHeader(FrameType::Heartbeat, 0);
        enqueue(*p, std::move(f));
      }
  }
}

void Communicator::Impl::linkError(Peer& peer, const ErrorCode& ec, const char* doing) {
  if (isFailed() || peer.departed || shuttingDown || peer.closed)
    return;
  if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
    failPeer(peer, "closed the connection (the process exited, crashed or was killed)");
  else
    failPeer(peer, std::string("link error while ") + doing + " it: " + describeError(ec));
}

void Communicator::Impl::failOnIo(int rank, const std::string& message, bool tellPeers) {
  {
    std::lock_guard lock(failureMutex);
    if (failure)
      return;
    std::string address = rank >= 0 && rank < config.worldSize ? addresses[static_cast<size_t>(rank)] : "";
    failure.emplace(message, rank, address);
  }
  log("job failed: " + message);
  for (auto& p : peers) {
    if (!p || p->closed || p->departed)
      continue;
    // Frames not yet started are dropped; the Abort goes out right after the
    // one in flight, if the link still moves.
    for (auto& f : p->outbox)
      if (f.done)
        f.done(false);
    p->outbox.clear();
    // The blamed rank is told too: if it is alive (a protocol error, a
    // stuck compute), it must fail with the reason rather than time out.
    if (tellPeers) {
      OutFrame f;
      f.owned = encodeAbort({rank, message});
      f.header = encodeFrameHeader(FrameType::Abort, static_cast<uint32_t>(f.owned.size()));
      enqueue(*p, std::move(f));
    }
  }
  {
    std::lock_guard lock(sinkMutex);
    if (sink)
      sink->failed();
  }
  progressSignal.cancel();
  // Give the Abort frames a moment to leave, then close every link so
  // pending reads and writes end and no rank waits on a dead job.
  auto grace = std::make_shared<asio::steady_timer>(io);
  grace->expires_after(std::min<Clock::duration>(timeout() / 4, std::chrono::milliseconds(200)));
  grace->async_wait([this, grace](const ErrorCode&) { closeAll(); });
}

void Communicator::Impl::closeAll() {
  ErrorCode ignored;
  for (auto& p : peers)
    if (p && !p->closed) {
      p->closed = true;
      p->socket->shutdown(tcp::socket::shutdown_both, ignored);
      p->socket->close(ignored);
    }
  if (coordinatorAcceptor)
    coordinatorAcceptor->close(ignored);
  for (auto& a : rendezvousAcceptors)
    a->close(ignored);
  for (auto& w : handshakeSockets)
    if (auto s = w.lock())
      s->close(ignored);
  handshakeSockets.clear();
  progressSignal.cancel();
  heartbeatTimer.cancel();
}

asio::awaitable<void> Communicator::Impl::shutdownLinks() {
  shuttingDown = true;
  for (auto& p : peers)
    if (p && !p->closed && !p->departed) {
      OutFrame f;
      f.header = encodeFrameHeader(FrameType::Goodbye, 0);
      enqueue(*p, std::move(f));
    }
  // Let queued frames (and the Goodbye) drain, bounded by the timeout.
  auto deadline = Clock::now() + std::min<Clock::duration>(timeout(), std::chrono::seconds(5));
  asio::steady_timer poll(io);
  for (;;) {
    bool busy = false;
    for (auto& p : peers)
      busy = busy || (p && !p->closed && (p->writing || !p->outbox.empty()));
    if (!busy || Clock::now() >= deadline)
      break;
    poll.expires_after(std::chrono::milliseconds(2));
    ErrorCode ec;
    co_await poll.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  closeAll();
  work.reset();
}

} // namespace bdl::dist
