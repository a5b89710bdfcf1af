// The one error type of the distributed layer. It names the peer involved
// (rank and address) when there is one, so the trainer can report which
// worker failed without parsing the message.
#pragma once

#include <stdexcept>
#include <string>

namespace bdl::dist {

class DistError : public std::runtime_error {
public:
  explicit DistError(const std::string& message, int peerRank = -1, std::string peerAddress = {})
      : std::runtime_error(message), peerRank_(peerRank), peerAddress_(std::move(peerAddress)) {}
  int peerRank() const { return peerRank_; }               // -1 when no single peer is at fault
  const std::string& peerAddress() const { return peerAddress_; } // "host:port" or empty

private:
  int peerRank_;
  std::string peerAddress_;
};

} // namespace bdl::dist
