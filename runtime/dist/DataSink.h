// Internal to runtime/dist: how the transport hands data frames to the
// collective that owns their destination memory (ParamSync). The transport
// calls these on its I/O thread; they must be quick and never block.
#pragma once

#include "runtime/dist/Frame.h"

#include <cstdint>
#include <span>
#include <string>

namespace bdl::dist {

class DataSink {
public:
  enum class Verdict { Deliver, Wait, Reject };
  struct Placement {
    Verdict verdict = Verdict::Wait;
    std::span<uint8_t> destination; // Deliver: exactly the payload's element bytes
    std::string error;              // Reject: what is wrong with the frame
  };
  virtual ~DataSink() = default;
  // Where the elements of this frame go. Wait: the frame belongs to an
  // iteration not begun yet; the transport stops reading that link (TCP
  // pushes back on the sender) until wakeWaitingReaders() is called.
  virtual Placement place(int sourceRank, FrameType type, const ChunkHeader& header, size_t elementBytes) = 0;
  // The destination returned by place() is now filled. A non-empty result
  // says what is wrong with what arrived: the link is closed and the job
  // fails naming the sender, as for Reject.
  virtual std::string arrived(int sourceRank, FrameType type, const ChunkHeader& header) = 0;
  // The job failed (Communicator::failure() says why); wake any waiter.
  virtual void failed() = 0;
  // `rank` closed its links in order (Goodbye). It is a failure only if
  // this rank still needs data from it; the sink decides.
  virtual void peerDeparted(int rank) = 0;
};

} // namespace bdl::dist
