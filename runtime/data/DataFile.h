// Random access to the bytes of a data file. Gzip files (detected by their
// magic bytes, not the name) are inflated into memory once; plain files stay
// on disk and are read with pread, so a worker reads only its shard's bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace bdl::data {

class DataFile {
public:
  // Throws DataError: missing file (with the path and the OS reason), gzip
  // corruption or truncation (with the compressed byte offset).
  static std::shared_ptr<const DataFile> open(const std::string& path);
  ~DataFile();
  DataFile(const DataFile&) = delete;
  DataFile& operator=(const DataFile&) = delete;

  const std::string& path() const { return path_; }
  bool gzipped() const { return gzipped_; }
  uint64_t size() const { return size_; } // of the (decompressed) content
  // Copies bytes [offset, offset + n) into dst; thread-safe. Throws DataError
  // when the range passes the end of the file.
  void read(uint64_t offset, void* dst, size_t n) const;
  // "byte 16" or "byte 16 of the decompressed data": positions in messages.
  std::string bytePosition(uint64_t offset) const;

private:
  DataFile() = default;
  std::string path_;
  bool gzipped_ = false;
  uint64_t size_ = 0;
  int fd_ = -1;                  // plain files
  std::vector<uint8_t> content_; // gzip files, inflated
};

// Reads a whole file; DataError when it cannot be opened or read.
std::vector<uint8_t> readWholeFile(const std::string& path);

// Inflates a gzip stream (several members allowed). `path` names the file in
// errors: "truncated gzip data", "gzip data corrupt at compressed byte N: ...".
std::vector<uint8_t> gunzip(std::span<const uint8_t> compressed, const std::string& path);

} // namespace bdl::data
