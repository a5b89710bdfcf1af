#include "runtime/dist/SharedSegment.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bdl::dist {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = fd;
}

UniqueFd createSegment(std::string& error) {
  // MFD_CLOEXEC: a worker that execs (the launcher's children) must not
  // carry the job's memory along.
  int fd = ::memfd_create("bdl-dist", MFD_CLOEXEC);
  if (fd < 0)
    error = std::string("memfd_create: ") + std::strerror(errno);
  return UniqueFd(fd);
}

std::string growSegment(int fd, size_t bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return std::string("fstat: ") + std::strerror(errno);
  if (static_cast<size_t>(st.st_size) >= bytes)
    return {};
  // Past the file size limit ftruncate raises SIGXFSZ, which kills.
  rlimit limit{};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && bytes > limit.rlim_cur)
    return "the shared segment needs a file size limit (ulimit -f) of at least " + std::to_string(bytes) +
           " bytes; raise it or set BDL_SHARED_MEMORY=0";
  if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0)
    return "cannot grow the shared segment to " + std::to_string(bytes) + " bytes: " + std::strerror(errno);
  return {};
}

SegmentMapping::~SegmentMapping() { unmap(); }

SegmentMapping::SegmentMapping(SegmentMapping&& o) noexcept : data_(o.data_), size_(o.size_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

SegmentMapping& SegmentMapping::operator=(SegmentMapping&& o) noexcept {
  if (this != &o) {
    unmap();
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

void SegmentMapping::unmap() {
  if (data_)
    ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

std::string SegmentMapping::map(int fd, size_t offset, size_t bytes, bool writable) {
  unmap();
  if (bytes == 0)
    return {};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return std::string("fstat: ") + std::strerror(errno);
  if (static_cast<size_t>(st.st_size) < offset + bytes)
    return "the shared segment holds " + std::to_string(st.st_size) + " bytes, " + std::to_string(offset + bytes) +
           " expected (do all ranks use the same parameter count and wire type?)";
  void* p = ::mmap(nullptr, bytes, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd,
                   static_cast<off_t>(offset));
  if (p == MAP_FAILED)
    return std::string("mmap: ") + std::strerror(errno);
  data_ = static_cast<uint8_t*>(p);
  size_ = bytes;
  return {};
}

int sendByteWithFd(int socket, uint8_t byte, int fd) {
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n = ::sendmsg(socket, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  return n == 1 ? 0 : (n < 0 ? errno : EAGAIN);
}

int receiveByteWithFd(int socket, uint8_t& byte, UniqueFd& fd) {
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0)
    return errno;
  // Take every descriptor that came, even unexpected ones, so none leaks.
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
        int received = -1;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
        fd.reset(received);
      }
  if (n == 0)
    return ECONNRESET;
  if (msg.msg_flags & MSG_CTRUNC)
    return EPROTO;
  return 0;
}

} // namespace bdl::dist
