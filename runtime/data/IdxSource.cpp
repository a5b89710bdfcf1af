// MNIST IDX source: validates both files' headers, sizes, counts and labels
// up front, then decodes images one record at a time on demand.
#include "runtime/data/DataError.h"
#include "runtime/data/DataFile.h"
#include "runtime/data/IndexedSource.h"
#include "runtime/data/Sources.h"

#include <cstdio>

namespace bdl::data {

namespace {

struct IdxHeader {
  std::vector<uint32_t> dims;
  uint64_t dataOffset = 0;
};

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

uint32_t bigEndian32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// `what` is "image" or "label" for messages; `rank` the dimensions expected.
IdxHeader readHeader(const DataFile& file, const char* what, uint32_t rank) {
  const uint32_t expectedMagic = 0x00000800u | rank;
  if (file.size() < 4)
    throw DataError(file.path(), "byte 0",
                    "truncated IDX header: the file has " + std::to_string(file.size()) +
                        " bytes, an IDX " + what + " file starts with a 4-byte magic number");
  uint8_t magic[4];
  file.read(0, magic, 4);
  const uint32_t m = bigEndian32(magic);
  if (magic[0] != 0 || magic[1] != 0)
    throw DataError(file.path(), "byte 0",
                    "bad magic number " + hex32(m) + ": not an IDX file (an IDX " + what +
                        " file starts with " + hex32(expectedMagic) + ")");
  if (magic[2] != 0x08)
    throw DataError(file.path(), "byte 2",
                    "unsupported IDX element type 0x" + hex32(magic[2]).substr(8) +
                        " (magic " + hex32(m) + "); only unsigned bytes (0x08) are supported");
  if (magic[3] != rank)
    throw DataError(file.path(), "byte 3",
                    "bad magic number " + hex32(m) + ": an IDX " + what + " file has " +
                        std::to_string(rank) + " dimension(s) (magic " + hex32(expectedMagic) +
                        "), this one has " + std::to_string(magic[3]) +
                        " (are the image and label files swapped?)");
  const uint64_t headerBytes = 4 + 4ull * rank;
  if (file.size() < headerBytes)
    throw DataError(file.path(), "byte " + std::to_string(file.size()),
                    "truncated IDX header: needs " + std::to_string(headerBytes) +
                        " bytes, the file has " + std::to_string(file.size()));
  IdxHeader h;
  h.dataOffset = headerBytes;
  for (uint32_t d = 0; d < rank; ++d) {
    uint8_t b[4];
    file.read(4 + 4ull * d, b, 4);
    h.dims.push_back(bigEndian32(b));
  }
  uint64_t recordBytes = 1; // at most (2^32)^2: no overflow for rank <= 3
  for (uint32_t d = 1; d < rank; ++d) recordBytes *= h.dims[d];
  const uint64_t count = h.dims[0];
  const unsigned __int128 total = headerBytes + static_cast<unsigned __int128>(count) * recordBytes;
  const uint64_t expected = total >> 64 ? UINT64_MAX : static_cast<uint64_t>(total);
  if (file.size() < expected) {
    const uint64_t whole = recordBytes ? (file.size() - headerBytes) / recordBytes : 0;
    throw DataError(file.path(), file.bytePosition(headerBytes + whole * recordBytes),
                    "truncated record " + std::to_string(whole) + ": the header promises " +
                        std::to_string(count) + " " + what + "s of " + std::to_string(recordBytes) +
                        " byte(s) (" + std::to_string(expected) + " bytes in all) but the file has " +
                        std::to_string(file.size()) + " bytes");
  }
  if (file.size() > expected)
    throw DataError(file.path(), file.bytePosition(expected),
                    std::to_string(file.size() - expected) + " unexpected byte(s) after the last of " +
                        std::to_string(count) + " " + what + "s (the header and the size disagree)");
  return h;
}

class IdxSource final : public IndexedSource {
public:
  explicit IdxSource(const IdxOptions& o) {
    images_ = DataFile::open(o.images);
    std::shared_ptr<const DataFile> labelFile = DataFile::open(o.labels);
    IdxHeader ih = readHeader(*images_, "image", 3);
    IdxHeader lh = readHeader(*labelFile, "label", 1);
    if (ih.dims[0] != lh.dims[0])
      throw DataError(o.images, "",
                      "has " + std::to_string(ih.dims[0]) + " images but " + o.labels + " has " +
                          std::to_string(lh.dims[0]) + " labels");
    count_ = ih.dims[0];
    rows_ = ih.dims[1];
    cols_ = ih.dims[2];
    imageOffset_ = ih.dataOffset;
    // Labels are small: read and check them all now.
    std::vector<uint8_t> raw(count_);
    labelFile->read(lh.dataOffset, raw.data(), raw.size());
    labels_ = std::make_shared<std::vector<int64_t>>(raw.begin(), raw.end());
    if (o.numClasses > 0)
      for (int64_t i = 0; i < count_; ++i)
        if (raw[i] >= o.numClasses)
          throw DataError(o.labels, labelFile->bytePosition(lh.dataOffset + i),
                          "label " + std::to_string(raw[i]) + " of record " + std::to_string(i) +
                              " out of range [0, " + std::to_string(o.numClasses) + ")");
  }

  std::string_view kind() const override { return "idx"; }
  int64_t size() const override { return count_; }

  std::function<Record()> reader(int64_t i) const override {
    return [file = images_, labels = labels_, i, rows = rows_, cols = cols_,
            offset = imageOffset_]() {
      const size_t pixels = static_cast<size_t>(rows * cols);
      Tensor image(DType::F32, {1, rows, cols});
      float* dst = image.data<float>();
      // Read the bytes into the tail of the float buffer, then widen in place
      // front to back (float i is written after byte i has been read).
      auto* bytes = reinterpret_cast<uint8_t*>(dst) + 3 * pixels;
      file->read(offset + static_cast<uint64_t>(i) * pixels, bytes, pixels);
      for (size_t p = 0; p < pixels; ++p) dst[p] = static_cast<float>(bytes[p]);
      Tensor label(DType::I64, {});
      *label.data<int64_t>() = (*labels)[i];
      Record r;
      r.set("image", std::move(image));
      r.set("label", std::move(label));
      return r;
    };
  }

private:
  std::shared_ptr<const DataFile> images_;
  std::shared_ptr<std::vector<int64_t>> labels_;
  int64_t count_ = 0, rows_ = 0, cols_ = 0;
  uint64_t imageOffset_ = 0;
};

} // namespace

std::unique_ptr<Stage> idxSource(const IdxOptions& options) {
  return std::make_unique<IdxSource>(options);
}

} // namespace bdl::data
