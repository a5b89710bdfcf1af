// The public face of Communicator: construction (rank 0 binds), connect(),
// orderly shutdown, and the thread-safe entry points collectives use. The
// mesh itself (readers, writers, heartbeats, failure) is in Communicator.cpp.
#include "runtime/dist/CommunicatorImpl.h"

#include <future>
#include <sys/socket.h>

namespace bdl::dist {


Communicator::Communicator(DistConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {
  Impl& m = *impl_;
  if (m.config.rank == 0 && m.config.worldSize > 1) {
    const std::string& bindHost =
        m.config.coordinatorBindHost.empty() ? m.config.coordinatorHost : m.config.coordinatorBindHost;
    try {
      auto endpoint = resolveEndpoint(m.io, bindHost, m.config.coordinatorPort);
      m.coordinatorAcceptor = std::make_unique<tcp::acceptor>(m.io);
      m.coordinatorAcceptor->open(endpoint.protocol());
      m.coordinatorAcceptor->set_option(tcp::acceptor::reuse_address(true));
      m.coordinatorAcceptor->bind(endpoint);
      m.coordinatorAcceptor->listen();
      m.addresses[0] = formatAddress(m.config.coordinatorHost, m.coordinatorAcceptor->local_endpoint().port());
    } catch (const std::exception& e) {
      throw DistError("rank 0 cannot listen on " + formatAddress(bindHost, m.config.coordinatorPort) +
                          ": " + e.what() + " (is the port in use? pick another with the coordinator port option)",
                      0, formatAddress(m.config.coordinatorHost, m.config.coordinatorPort));
    }
  }
}

Communicator::~Communicator() {
  Impl& m = *impl_;
  if (m.ioThread.joinable()) {
    asio::co_spawn(m.io, m.shutdownLinks(), asio::detached);
    m.ioThread.join();
  }
}

uint16_t Communicator::coordinatorPort() const {
  if (impl_->coordinatorAcceptor)
    return impl_->coordinatorAcceptor->local_endpoint().port();
  return impl_->config.coordinatorPort;
}

void Communicator::connect() {
  Impl& m = *impl_;
  if (m.connected || m.ioThread.joinable())
    throw DistError("Communicator::connect() called twice");
  m.work.emplace(m.io.get_executor());
  std::promise<void> result;
  asio::co_spawn(m.io, m.rendezvous(), [&m, &result](std::exception_ptr e) {
    if (!e) {
      m.connected = true;
      asio::co_spawn(m.io, m.heartbeatLoop(), asio::detached);
      result.set_value();
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const DistError& err) {
      {
        std::lock_guard lock(m.failureMutex);
        if (!m.failure)
          m.failure = err;
      }
    } catch (const std::exception& err) {
      std::lock_guard lock(m.failureMutex);
      if (!m.failure)
        m.failure.emplace(std::string("rendezvous failed: ") + err.what());
    }
    m.closeAll();
    result.set_exception(e);
  });
  m.ioThread = std::thread([&m] { m.io.run(); });
  try {
    result.get_future().get();
  } catch (const DistError&) {
    throw;
  } catch (const std::exception& e) {
    throw DistError(std::string("rendezvous failed: ") + e.what());
  }
}

int Communicator::rank() const { return impl_->config.rank; }
int Communicator::worldSize() const { return impl_->config.worldSize; }
const DistConfig& Communicator::config() const { return impl_->config; }

std::string Communicator::describePeer(int rank) const {
  // addresses are written only during connect(), before any caller can ask.
  return impl_->describe(rank);
}

std::optional<DistError> Communicator::failure() const {
  std::lock_guard lock(impl_->failureMutex);
  return impl_->failure;
}

void Communicator::attachSink(DataSink* sink) {
  std::lock_guard lock(impl_->sinkMutex);
  if (impl_->sink && impl_->sink != sink)
    throw DistError("a collective is already attached to this Communicator (one ParamSync per Communicator)");
  impl_->sink = sink;
}

void Communicator::detachSink(DataSink* sink) {
  std::unique_lock lock(impl_->sinkMutex);
  if (impl_->sink != sink)
    return;
  // A read into the sink's memory may be in flight; wait for it to finish
  // (its deadline bounds the wait) before the memory can go away.
  impl_->sinkIdle.wait(lock, [this] { return impl_->deliveriesInFlight == 0; });
  impl_->sink = nullptr;
}

namespace {
OutFrame dataFrame(FrameType type, const ChunkHeader& header, std::span<const uint8_t> payload,
                   std::function<void(bool)> done) {
  OutFrame f;
  f.header = encodeFrameHeader(type, static_cast<uint32_t>(kChunkHeaderBytes + payload.size()));
  f.chunkHeader = encodeChunkHeader(header);
  f.hasChunkHeader = true;
  f.borrowed = payload;
  f.done = std::move(done);
  return f;
}

// On the I/O thread.
void enqueueData(Communicator::Impl& m, int peerRank, OutFrame f) {
  Peer* p = m.peers[static_cast<size_t>(peerRank)].get();
  if (!p || m.isFailed()) {
    if (f.done)
      f.done(false);
    return;
  }
  m.enqueue(*p, std::move(f));
}
} // namespace

void Communicator::sendChunk(int peerRank, FrameType type, const ChunkHeader& header,
                             std::span<const uint8_t> payload, std::function<void(bool)> done) {
  Impl& m = *impl_;
  asio::post(m.io, [&m, peerRank, f = dataFrame(type, header, payload, std::move(done))]() mutable {
    enqueueData(m, peerRank, std::move(f));
  });
}

void Communicator::sendChunks(std::vector<ChunkSend> sends) {
  if (sends.empty())
    return;
  std::vector<std::pair<int, OutFrame>> frames;
  frames.reserve(sends.size());
  for (ChunkSend& s : sends)
    frames.emplace_back(s.peerRank, dataFrame(s.type, s.header, s.payload, std::move(s.done)));
  Impl& m = *impl_;
  asio::post(m.io, [&m, frames = std::move(frames)]() mutable {
    for (auto& [rank, f] : frames)
      enqueueData(m, rank, std::move(f));
  });
}

int Communicator::departedPeer() const {
  std::lock_guard lock(impl_->failureMutex);
  for (size_t r = 0; r < impl_->departed.size(); ++r)
    if (impl_->departed[r])
      return static_cast<int>(r);
  return -1;
}

bool Communicator::hasDeparted(int rank) const {
  std::lock_guard lock(impl_->failureMutex);
  return rank >= 0 && static_cast<size_t>(rank) < impl_->departed.size() && impl_->departed[static_cast<size_t>(rank)];
}

int Communicator::ownSegmentFd() const {
  // Segments are set during connect() and never replaced.
  return impl_->ownSegment.get();
}

int Communicator::peerSegmentFd(int rank) const {
  if (rank < 0 || static_cast<size_t>(rank) >= impl_->peerSegments.size())
    return -1;
  return impl_->peerSegments[static_cast<size_t>(rank)].get();
}

int Communicator::claimSegmentSlot() {
  impl_->segmentSlot = 1 - impl_->segmentSlot;
  return impl_->segmentSlot;
}

uint64_t Communicator::nextIterationNumber() { return ++impl_->iterationCounter; }

void Communicator::wakeWaitingReaders() {
  Impl& m = *impl_;
  asio::post(m.io, [&m] { m.progressSignal.cancel(); });
}

void Communicator::reportFailure(int rank, const std::string& reason) {
  Impl& m = *impl_;
  if (!m.ioThread.joinable()) {
    std::lock_guard lock(m.failureMutex);
    if (!m.failure)
      m.failure.emplace(reason, rank);
    return;
  }
  // Record synchronously so the caller's next failure() sees it, then tell
  // the peers from the I/O thread.
  std::promise<void> recorded;
  asio::post(m.io, [&m, rank, reason, &recorded] {
    m.failOnIo(rank, reason);
    recorded.set_value();
  });
  recorded.get_future().wait();
}

bool Communicator::usesLocalLinkForTesting(int rank) const {
  // Links are set before connect() returns and never replaced.
  if (rank < 0 || static_cast<size_t>(rank) >= impl_->peers.size() || !impl_->peers[static_cast<size_t>(rank)])
    return false;
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  int fd = impl_->peers[static_cast<size_t>(rank)]->socket->native_handle();
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 && address.ss_family == AF_UNIX;
}

void Communicator::freezeIoForTesting(std::chrono::milliseconds d) {
  asio::post(impl_->io, [d] { std::this_thread::sleep_for(d); });
}

} // namespace bdl::dist
