// Helpers shared by the data tests: temp directories, byte files, gzip, IDX
// builders, a counting range source and pipeline drains.
#pragma once

#include "runtime/data/DataError.h"
#include "runtime/data/IndexedSource.h"
#include "runtime/data/Pipeline.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace bdl::test {

inline std::string testdataDir() {
  const char* root = std::getenv("BDL_SOURCE_DIR");
  return std::string(root ? root : BDL_SOURCE_DIR_FALLBACK) + "/tests/data/testdata";
}

// A fresh directory removed at the end of the test.
class TempDir {
public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bdl_data_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

inline void writeBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
inline void writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}
inline std::vector<uint8_t> readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<uint8_t> gzip(const std::vector<uint8_t>& raw) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::vector<uint8_t> out(deflateBound(&zs, raw.size()) + 64);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline void putBigEndian(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

// IDX images: pixel (i, y, x) = (i * 7 + y * cols + x) % 256.
inline std::vector<uint8_t> idxImages(uint32_t count, uint32_t rows, uint32_t cols) {
  std::vector<uint8_t> v = {0, 0, 8, 3};
  putBigEndian(v, count);
  putBigEndian(v, rows);
  putBigEndian(v, cols);
  for (uint32_t i = 0; i < count; ++i)
    for (uint32_t p = 0; p < rows * cols; ++p) v.push_back(static_cast<uint8_t>((i * 7 + p) % 256));
  return v;
}
// IDX labels: label i = i % classes.
inline std::vector<uint8_t> idxLabels(uint32_t count, uint32_t classes = 10) {
  std::vector<uint8_t> v = {0, 0, 8, 1};
  putBigEndian(v, count);
  for (uint32_t i = 0; i < count; ++i) v.push_back(static_cast<uint8_t>(i % classes));
  return v;
}

// Records {"i": i64 scalar = index} for 0..n-1, counting how many it computes.
class RangeSource final : public data::IndexedSource {
public:
  explicit RangeSource(int64_t n, std::shared_ptr<std::atomic<int64_t>> reads = nullptr)
      : n_(n), reads_(reads ? reads : std::make_shared<std::atomic<int64_t>>(0)) {}
  std::string_view kind() const override { return "range"; }
  int64_t size() const override { return n_; }
  std::function<Record()> reader(int64_t i) const override {
    return [i, reads = reads_]() {
      ++*reads;
      Tensor t(DType::I64, {});
      *t.data<int64_t>() = i;
      Record r;
      r.set("i", t);
      return r;
    };
  }

private:
  int64_t n_;
  std::shared_ptr<std::atomic<int64_t>> reads_;
};

inline std::unique_ptr<data::Stage> range(int64_t n, std::shared_ptr<std::atomic<int64_t>> reads = nullptr) {
  return std::make_unique<RangeSource>(n, std::move(reads));
}

// All values of an i64 field, flattened over the records (or batches) of one epoch.
inline std::vector<int64_t> drainField(data::Pipeline& p, const std::string& field = "i") {
  std::vector<int64_t> out;
  while (std::optional<Record> r = p.next())
    for (int64_t v : r->get(field).span<const int64_t>()) out.push_back(v);
  return out;
}

inline std::vector<int64_t> iota(int64_t begin, int64_t end) {
  std::vector<int64_t> v;
  for (int64_t i = begin; i < end; ++i) v.push_back(i);
  return v;
}

// Runs `body` and returns the DataError it throws (fails the test if none).
template <typename F> std::string dataErrorOf(F&& body) {
  try {
    body();
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a DataError";
  return "";
}

} // namespace bdl::test
