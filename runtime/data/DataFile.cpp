#include "runtime/data/DataFile.h"

#include "runtime/data/DataError.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bdl::data {

static std::string osReason() { return std::strerror(errno); }

static int openForReading(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw DataError(path, "", "cannot open: " + osReason());
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw DataError(path, "", "is a directory, expected a data file");
  }
  return fd;
}

std::vector<uint8_t> readWholeFile(const std::string& path) {
  int fd = openForReading(path);
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  for (;;) {
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      std::string reason = osReason();
      ::close(fd);
      throw DataError(path, "", "read failed: " + reason);
    }
    if (got == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  ::close(fd);
  return bytes;
}

std::vector<uint8_t> gunzip(std::span<const uint8_t> compressed, const std::string& path) {
  std::vector<uint8_t> out;
  // The last member's trailer holds its size mod 2^32: a good first guess.
  if (compressed.size() >= 18) {
    const uint8_t* t = compressed.data() + compressed.size() - 4;
    out.reserve(uint32_t(t[0]) | uint32_t(t[1]) << 8 | uint32_t(t[2]) << 16 | uint32_t(t[3]) << 24);
  }
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK)
    throw DataError(path, "", "zlib could not start inflating");
  zs.next_in = const_cast<Bytef*>(compressed.data());
  zs.avail_in = static_cast<uInt>(compressed.size());
  uint8_t chunk[1 << 16];
  for (;;) {
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.insert(out.end(), chunk, chunk + (sizeof chunk - zs.avail_out));
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs); // another gzip member follows
      continue;
    }
    if (rc == Z_OK) continue;
    const uint64_t at = compressed.size() - zs.avail_in;
    std::string reason = zs.msg ? zs.msg : "error " + std::to_string(rc);
    inflateEnd(&zs);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0)
      throw DataError(path, "compressed byte " + std::to_string(at),
                      "truncated gzip data: the stream ends before its end marker "
                      "(incomplete download or copy?)");
    throw DataError(path, "compressed byte " + std::to_string(at),
                    "gzip data is corrupt: " + reason);
  }
  inflateEnd(&zs);
  return out;
}

std::shared_ptr<const DataFile> DataFile::open(const std::string& path) {
  std::shared_ptr<DataFile> file(new DataFile());
  file->path_ = path;
  int fd = openForReading(path);
  uint8_t magic[2] = {0, 0};
  ssize_t got = ::pread(fd, magic, 2, 0);
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    ::close(fd);
    file->gzipped_ = true;
    file->content_ = gunzip(readWholeFile(path), path);
    file->size_ = file->content_.size();
    return file;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string reason = osReason();
    ::close(fd);
    throw DataError(path, "", "cannot stat: " + reason);
  }
  file->fd_ = fd;
  file->size_ = static_cast<uint64_t>(st.st_size);
  return file;
}

DataFile::~DataFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string DataFile::bytePosition(uint64_t offset) const {
  return "byte " + std::to_string(offset) + (gzipped_ ? " of the decompressed data" : "");
}

void DataFile::read(uint64_t offset, void* dst, size_t n) const {
  if (offset > size_ || n > size_ - offset)
    throw DataError(path_, bytePosition(offset),
                    "read of " + std::to_string(n) + " bytes passes the end of the file (" +
                        std::to_string(size_) + " bytes)");
  if (fd_ < 0) {
    if (n) std::memcpy(dst, content_.data() + offset, n);
    return;
  }
  auto* p = static_cast<char*>(dst);
  while (n > 0) {
    ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      throw DataError(path_, bytePosition(offset),
                      got < 0 ? "read failed: " + osReason()
                              : std::string("file shrank while reading"));
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

} // namespace bdl::data
