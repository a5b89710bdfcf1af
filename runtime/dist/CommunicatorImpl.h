// Internal to runtime/dist: the state behind Communicator. One I/O thread
// runs every coroutine (rendezvous, one reader and one writer per link, the
// heartbeat ticker), so link state needs no locks; the only state shared
// with caller threads is the failure record and the sink pointer.
#pragma once

#include "runtime/dist/Communicator.h"
#include "runtime/dist/Handshake.h"
#include "runtime/dist/SharedSegment.h"
#include "runtime/dist/Transport.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace bdl::dist {

struct OutFrame {
  std::array<uint8_t, kFrameHeaderBytes> header{};
  std::array<uint8_t, kChunkHeaderBytes> chunkHeader{};
  bool hasChunkHeader = false;
  std::vector<uint8_t> owned;        // control payloads
  std::span<const uint8_t> borrowed; // data payloads, kept alive by the sender
  std::function<void(bool)> done;
};

struct Peer {
  int rank = -1;
  std::string address; // host:port, for messages
  SocketPtr socket;
  std::deque<OutFrame> outbox;
  bool writing = false;
  bool departed = false; // said Goodbye
  bool closed = false;
};

class Communicator::Impl {
public:
  explicit Impl(DistConfig config);

  // Rendezvous.cpp
  asio::awaitable<void> rendezvous();
  asio::awaitable<void> runCoordinator();
  asio::awaitable<void> runWorker();
  asio::awaitable<HelloMsg> acceptorHandshake(SocketPtr socket, const std::string& remote, Clock::time_point deadline,
                                              ChallengeMsg& challenge);
  asio::awaitable<WelcomeMsg> connectorHandshake(SocketPtr socket, int acceptorRank, const std::string& address,
                                                 uint16_t myDataPort, Clock::time_point deadline);
  asio::awaitable<SocketPtr> connectWithRetry(const std::string& host, uint16_t port, int targetRank,
                                              Clock::time_point deadline);
  std::string checkIdentity(const HelloMsg& hello, const std::string& who) const;

  // LocalLink.cpp: a same-host link continues on a Unix-domain socket. Both
  // return the socket to use from now on (the TCP one if the link is not
  // same-host) and throw DistError naming the peer.
  bool wantsLocalLink(const SocketPtr& s) const;
  SocketPtr adoptLocalSocket(asio::local::stream_protocol::socket& s);
  asio::awaitable<SocketPtr> offerLocalLink(SocketPtr link, int peerRank, Clock::time_point deadline);
  asio::awaitable<SocketPtr> takeLocalLink(SocketPtr link, int peerRank, Clock::time_point deadline);

  // SegmentExchange.cpp: a same-host link also passes each end's shared
  // segment; throws DistError naming the peer.
  int ownSegmentFd(); // created on first use; -1: not sharing
  asio::awaitable<void> exchangeSegments(SocketPtr link, int peerRank, bool sendFirst, Clock::time_point deadline);

  // Communicator.cpp: the mesh once links exist.
  void addPeer(int rank, std::string address, SocketPtr socket); // starts its reader
  asio::awaitable<void> readLoop(Peer& peer);
  asio::awaitable<bool> readChunk(Peer& peer, FrameType type, uint32_t length);
  asio::awaitable<void> writeLoop(Peer& peer);
  asio::awaitable<void> heartbeatLoop();
  asio::awaitable<void> shutdownLinks();
  void enqueue(Peer& peer, OutFrame frame);
  // Records the first failure, sends Abort to every peer (tellPeers), wakes
  // the sink and closes every link after a short grace.
  void failOnIo(int rank, const std::string& message, bool tellPeers = true);
  void failPeer(Peer& peer, const std::string& what) { failOnIo(peer.rank, describe(peer.rank) + ": " + what); }
  void linkError(Peer& peer, const ErrorCode& ec, const char* doing);
  void closeAll();
  bool isFailed() const;
  std::string describe(int rank) const;
  void log(const std::string& line) const;
  Clock::duration timeout() const { return config.timeout; }
  Clock::duration heartbeatInterval() const;

  DistConfig config;
  std::string token;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread ioThread;
  std::unique_ptr<tcp::acceptor> coordinatorAcceptor; // rank 0
  std::vector<std::unique_ptr<Peer>> peers;            // by rank; null for self
  std::vector<std::string> addresses;                  // by rank
  asio::steady_timer progressSignal{io};               // cancel() wakes paused readers
  asio::steady_timer heartbeatTimer{io};
  std::vector<std::shared_ptr<tcp::acceptor>> rendezvousAcceptors; // closed on failure/shutdown
  // Sockets still in their handshake: closed with everything else so no
  // half-open handshake keeps the I/O thread alive until its deadline.
  std::vector<std::weak_ptr<tcp::socket>> handshakeSockets;
  SocketPtr newSocket() {
    auto s = std::make_shared<tcp::socket>(io);
    std::erase_if(handshakeSockets, [](const auto& w) { return w.expired(); });
    handshakeSockets.push_back(s);
    return s;
  }
  UniqueFd ownSegment;                 // this rank's, shared with same-host peers
  bool ownSegmentTried = false;
  int segmentSlot = 1;                 // the last claimed (caller's thread only)
  std::vector<UniqueFd> peerSegments;  // by rank; set before connect() returns
  bool shuttingDown = false;
  bool connected = false;
  std::atomic<uint64_t> iterationCounter{0};

  mutable std::mutex failureMutex;
  std::optional<DistError> failure;
  std::vector<uint8_t> departed; // by rank, guarded by failureMutex

  std::mutex sinkMutex;
  std::condition_variable sinkIdle;
  DataSink* sink = nullptr;
  int deliveriesInFlight = 0; // reads into sink memory in progress
};

} // namespace bdl::dist
