// Shared memory between ranks on one host. Each rank owns one segment, an
// anonymous memfd: it has no name in /dev/shm, so a crashed job leaves
// nothing behind; the kernel frees it when the last descriptor and mapping
// go. The descriptor reaches same-host peers over the Unix socket of their
// link (SCM_RIGHTS), which the job token already authenticated, so no other
// process can open it. The owner writes its segment; peers only read it,
// and the control frames on the link say when (ParamSync.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bdl::dist {

// A descriptor closed on destruction.
class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o)
      reset(o.release());
    return *this;
  }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

private:
  int fd_ = -1;
};

// A new empty segment; an invalid UniqueFd with `error` set if the kernel
// refuses (no memfd_create, seccomp), in which case links keep sockets.
UniqueFd createSegment(std::string& error);
// Where each of a segment's two slots begins. Data of iteration k lives in
// slot k mod 2, so a rank rewrites memory only two iterations after it was
// written, when every peer has provably finished reading it (to begin
// iteration k+1 a peer must have finished k). The stride is fixed (files
// are sparse, untouched pages cost nothing), so collectives of different
// sizes one after another never overlap the slot still being read.
inline constexpr size_t kSegmentSlotStride = size_t{1} << 40;

// Grows the segment to at least `bytes` (never shrinks it: peers may have it
// mapped, and reading past the end of a shrunk file is SIGBUS). Returns an
// empty string or what failed.
std::string growSegment(int fd, size_t bytes);

// A shared mapping of the first `bytes` of a segment, unmapped on
// destruction.
class SegmentMapping {
public:
  SegmentMapping() = default;
  ~SegmentMapping();
  SegmentMapping(SegmentMapping&& o) noexcept;
  SegmentMapping& operator=(SegmentMapping&& o) noexcept;
  // Maps `bytes` of `fd` from `offset`; checks first that the file is that
  // long, so no access through the mapping can fault. Returns an empty
  // string or what failed.
  std::string map(int fd, size_t offset, size_t bytes, bool writable);
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool mapped() const { return data_ != nullptr; }

private:
  void unmap();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// One byte on a Unix socket, with a descriptor attached when fd >= 0.
// Never blocks: returns 0, or the errno (EAGAIN: wait until writable).
int sendByteWithFd(int socket, uint8_t byte, int fd);
// Receives one byte and the descriptor attached to it (invalid if none).
// Never blocks: returns 0, or the errno (EAGAIN: wait until readable; ECONNRESET
// for end of stream).
int receiveByteWithFd(int socket, uint8_t& byte, UniqueFd& fd);

} // namespace bdl::dist
