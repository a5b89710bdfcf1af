// What one rank needs to join a job: who it is, where the coordinator
// listens, the job token, the identity of the compiled program, and the
// timeouts. Launchers (bdlc train --workers, mpirun, srun, Kubernetes) fill
// rank, worldSize and the coordinator address; see issue 6.
#pragma once

#include "runtime/dist/Frame.h"
#include "runtime/dist/Handshake.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace bdl::dist {

struct DistConfig {
  int rank = 0;
  int worldSize = 1;
  // Rank 0 listens here; the others connect to it. Port 0 on rank 0 picks an
  // ephemeral port (read it back with Communicator::coordinatorPort()).
  std::string coordinatorHost = "127.0.0.1";
  uint16_t coordinatorPort = 0;
  // Where rank 0 binds its listener; empty: coordinatorHost. "0.0.0.0" when
  // coordinatorHost is a host name that may resolve to a loopback alias on
  // rank 0's own host (Debian maps its host name to 127.0.1.1).
  std::string coordinatorBindHost;
  // Where workers accept data-plane links (ephemeral port). Loopback by
  // default; multi-host jobs set the interface address or "0.0.0.0".
  std::string bindHost = "127.0.0.1";
  // Links whose two ends share an IP address (same host and network
  // namespace) continue on a Unix-domain socket after the handshake, which
  // costs about 2.5x less CPU per byte than loopback TCP. Every rank must use
  // the same value.
  bool localLinks = true;
  // Same-host links (localLinks) also share memory: parameter sync data goes
  // through a memfd segment each rank maps, the socket only carries small
  // control frames. Off (launchers: BDL_SHARED_MEMORY=0): data on the
  // socket. A link shares memory only if both ends want to.
  bool sharedMemory = true;
  // Shared secret of the job; empty means "read BDL_JOB_TOKEN".
  std::string jobToken;
  // SHA-256 of the compiled program and the bdlc version: every rank must
  // agree or the job does not start.
  Digest programHash{};
  std::string bdlcVersion = "unknown";
  // A peer that sends nothing (not even a heartbeat) for this long, or an
  // iteration that makes no progress for this long, fails the job.
  std::chrono::milliseconds timeout{30000};
  // How long rank 0 waits for every worker to join, and workers retry
  // connecting to rank 0.
  std::chrono::milliseconds joinTimeout{60000};
  size_t maxFrameBytes = kDefaultMaxFrameBytes;
  // Receives log lines (refused connections, failures). Null: stderr.
  std::function<void(const std::string&)> log;
};

// Reads BDL_JOB_TOKEN; throws DistError with a hint when it is unset or empty.
std::string jobTokenFromEnvironment();

} // namespace bdl::dist
