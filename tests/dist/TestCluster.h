// Runs W ranks as threads in one process over loopback TCP: rank 0 binds an
// ephemeral port first, then every rank connects and runs the test body.
// Each rank's DistError (or success) is returned for checking.
#pragma once

#include "runtime/dist/Communicator.h"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace bdl::dist::test {

struct RankResult {
  std::optional<DistError> error;
  std::string address; // as the others know this rank, once connected
};

struct Cluster {
  int world = 2;
  std::chrono::milliseconds timeout{2000};
  std::chrono::milliseconds joinTimeout{5000};
  std::function<void(DistConfig&)> tweak; // per-rank config changes
  std::mutex logMutex;
  std::vector<std::string> logLines;

  DistConfig configFor(int rank, uint16_t port) {
    DistConfig c;
    c.rank = rank;
    c.worldSize = world;
    c.coordinatorPort = port;
    c.jobToken = "test-token-0123456789";
    c.programHash.fill(0xAB);
    c.bdlcVersion = "0.1.0-test";
    c.timeout = timeout;
    c.joinTimeout = joinTimeout;
    c.log = [this](const std::string& line) {
      std::lock_guard lock(logMutex);
      logLines.push_back(line);
    };
    if (tweak)
      tweak(c);
    return c;
  }

  bool logContains(const std::string& needle) {
    std::lock_guard lock(logMutex);
    for (auto& l : logLines)
      if (l.find(needle) != std::string::npos)
        return true;
    return false;
  }

  // body(rank, comm) runs after connect() on every rank's thread.
  std::vector<RankResult> run(const std::function<void(int, Communicator&)>& body,
                              std::function<void(uint16_t)> afterBind = {}) {
    auto rank0 = std::make_unique<Communicator>(configFor(0, 0));
    uint16_t port = rank0->coordinatorPort();
    if (afterBind)
      afterBind(port);
    std::vector<RankResult> results(static_cast<size_t>(world));
    std::vector<std::thread> threads;
    for (int r = 0; r < world; ++r)
      threads.emplace_back([&, r] {
        std::unique_ptr<Communicator> comm;
        try {
          comm = r == 0 ? std::move(rank0) : std::make_unique<Communicator>(configFor(r, port));
          comm->connect();
          results[static_cast<size_t>(r)].address = comm->describePeer(r);
          body(r, *comm);
        } catch (const DistError& e) {
          results[static_cast<size_t>(r)].error = e;
        }
      });
    for (auto& t : threads)
      t.join();
    return results;
  }
};

} // namespace bdl::dist::test
