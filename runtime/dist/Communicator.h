// One rank's membership in a distributed job: rendezvous with the others
// (token-authenticated, program hash checked), then a full mesh of TCP links
// driven by a private I/O thread, with heartbeats and deadlines so a lost or
// silent peer fails the job on every rank within DistConfig::timeout.
//
//   DistConfig cfg{.rank = r, .worldSize = w, .coordinatorPort = port, ...};
//   Communicator comm(cfg);   // rank 0 binds its listener here
//   comm.connect();           // blocks until every rank is linked
//   ParamSync sync(comm, paramCount);
#pragma once

#include "runtime/dist/DataSink.h"
#include "runtime/dist/DistConfig.h"
#include "runtime/dist/DistError.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bdl::dist {

class Communicator {
public:
  // Validates the config; rank 0 binds the coordinator listener now so its
  // port is known before any worker starts. Throws DistError.
  explicit Communicator(DistConfig config);
  // Orderly leave: says Goodbye on every link, flushes, closes, joins the
  // I/O thread. Never throws.
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  // Rank 0: the port the coordinator listens on.
  uint16_t coordinatorPort() const;
  // Rendezvous and mesh set-up; returns when every rank is linked. Throws
  // DistError (wrong token, mismatched program or version, timeout, ...),
  // with the same message on every rank where the coordinator can tell it.
  void connect();

  int rank() const;
  int worldSize() const;
  const DistConfig& config() const;
  // "rank 3 (127.0.0.1:40211)"
  std::string describePeer(int rank) const;
  // Set once the job has failed; every later operation throws it.
  std::optional<DistError> failure() const;

  // --- for collectives inside runtime/dist ---------------------------------
  void attachSink(DataSink* sink);
  void detachSink(DataSink* sink);
  // Queues a data frame; `payload` must stay valid until `done` runs (on the
  // I/O thread, with false if the frame was dropped because the job failed).
  void sendChunk(int peerRank, FrameType type, const ChunkHeader& header, std::span<const uint8_t> payload,
                 std::function<void(bool)> done);
  // The same for several frames, handed to the I/O thread at once: every
  // hand-over wakes that thread, which on a machine with few cores takes
  // the core from a rank that is computing.
  struct ChunkSend {
    int peerRank = -1;
    FrameType type = FrameType::GradChunk;
    ChunkHeader header;
    std::span<const uint8_t> payload;
    std::function<void(bool)> done;
  };
  void sendChunks(std::vector<ChunkSend> sends);
  // A rank that left the job in order (-1: none); the lowest such rank.
  int departedPeer() const;
  bool hasDeparted(int rank) const;
  // Numbers iterations of every collective on this communicator (1, 2, ...)
  // so frames of a later ParamSync are never taken for an earlier one's;
  // every rank calls it in the same order.
  uint64_t nextIterationNumber();
  // After connect(): this rank's shared segment and the one of `rank` when
  // their link shares memory (DistConfig::sharedMemory), else -1. The
  // Communicator keeps the descriptors; SharedSegment.h says how to use them.
  int ownSegmentFd() const;
  int peerSegmentFd(int rank) const;
  // The slot of the own segment (SharedSegment.h) for the next collective
  // that uses it: 0, 1, 0, ... Every rank claims in the same order, so a
  // peer's slot is the same number, and a collective never writes where
  // the one before it may still be read.
  int claimSegmentSlot();
  // A sink's state changed: links paused on Wait re-ask place().
  void wakeWaitingReaders();
  // Fails the job naming `rank` (-1: none) and tells every peer. First
  // failure wins; later ones are ignored.
  void reportFailure(int rank, const std::string& reason);

  // --- tests only ------------------------------------------------------------
  // Blocks the I/O thread for `d`, as SIGSTOP would: no heartbeats, no reads.
  void freezeIoForTesting(std::chrono::milliseconds d);
  // After connect(): whether the link to `rank` runs on a Unix-domain socket
  // (DistConfig::localLinks) rather than TCP.
  bool usesLocalLinkForTesting(int rank) const;

  class Impl;

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace bdl::dist
