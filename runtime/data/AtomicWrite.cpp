#include "runtime/data/AtomicWrite.h"

#include "runtime/data/DataError.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace bdl {

namespace {

std::string osReason() { return std::strerror(errno); }

std::string tempPathFor(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

std::string directoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void fsyncPath(const std::string& path, bool directory, const std::string& target) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) throw DataError(target, "", "cannot open " + path + " to sync it: " + osReason());
  const int rc = ::fsync(fd);
  const int err = rc ? errno : 0;
  ::close(fd);
  // Some file systems refuse fsync on directories (EINVAL); the rename is still durable enough.
  if (rc != 0 && !(directory && (err == EINVAL || err == EBADF)))
    throw DataError(target, "", std::string("fsync failed: ") + std::strerror(err));
}

} // namespace

void atomicWriteFileWith(const std::string& path,
                         const std::function<void(const std::string& tempPath)>& writeTemp) {
  const std::string temp = tempPathFor(path);
  try {
    writeTemp(temp);
    fsyncPath(temp, false, path);
    if (std::rename(temp.c_str(), path.c_str()) != 0)
      throw DataError(path, "", "cannot rename " + temp + " over it: " + osReason());
  } catch (...) {
    std::remove(temp.c_str()); // clean up, then let the error continue
    throw;
  }
  fsyncPath(directoryOf(path), true, path);
}

void atomicWriteFile(const std::string& path, std::string_view bytes) {
  atomicWriteFileWith(path, [&](const std::string& temp) {
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw DataError(path, "", "cannot create " + temp + ": " + osReason());
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        std::string reason = osReason();
        ::close(fd);
        throw DataError(path, "", "write failed: " + reason);
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) throw DataError(path, "", "close failed: " + osReason());
  });
}

} // namespace bdl
