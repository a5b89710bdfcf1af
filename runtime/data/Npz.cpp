#include "runtime/data/Npz.h"

#include "runtime/data/AtomicWrite.h"
#include "runtime/data/DataError.h"
#include "runtime/data/Npy.h"

#include <zip.h>

#include <fstream>
#include <memory>
#include <set>
#include <cstdio>
#include <sys/stat.h>

namespace bdl {

namespace {

std::string zipErrorText(int code) {
  zip_error_t err;
  zip_error_init_with_code(&err, code);
  std::string text = zip_error_strerror(&err);
  zip_error_fini(&err);
  return text;
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

} // namespace

NamedTensors readNpz(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw DataError(path, "", "cannot open: No such file or directory");
  int code = 0;
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open(path.c_str(), ZIP_RDONLY, &code));
  if (!archive) {
    // A zip archive ends with its directory: one cut short has lost it.
    std::string hint;
    if (code == ZIP_ER_NOZIP) {
      char magic[4] = {};
      FILE* f = std::fopen(path.c_str(), "rb");
      bool zipStart = f && std::fread(magic, 1, 4, f) == 4 && magic[0] == 'P' && magic[1] == 'K';
      if (f) std::fclose(f);
      hint = zipStart ? " (it starts like a zip archive but its end is missing: the file is truncated)"
                      : " (an .npz file is a zip archive; is this a .npy?)";
    }
    throw DataError(path, "", "cannot read as .npz: " + zipErrorText(code) + hint);
  }
  NamedTensors out;
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t zs;
    if (zip_stat_index(archive.get(), i, 0, &zs) != 0)
      throw DataError(path, "member " + std::to_string(i), zip_strerror(archive.get()));
    std::string member = zs.name;
    if (!member.empty() && member.back() == '/') continue; // a directory entry
    if (member.size() < 4 || member.substr(member.size() - 4) != ".npy")
      throw DataError(path, "member '" + member + "'", "is not a .npy array");
    zip_file_t* f = zip_fopen_index(archive.get(), i, 0);
    if (!f) throw DataError(path, "member '" + member + "'", zip_strerror(archive.get()));
    std::vector<uint8_t> bytes(zs.size);
    zip_int64_t got = bytes.empty() ? 0 : zip_fread(f, bytes.data(), bytes.size());
    std::string readError = got < 0 ? zip_error_strerror(zip_file_get_error(f)) : "";
    zip_fclose(f);
    if (got < 0 || static_cast<zip_uint64_t>(got) != zs.size)
      throw DataError(path, "member '" + member + "'",
                      "cannot read: " + (readError.empty() ? "short read" : readError));
    out.emplace_back(member.substr(0, member.size() - 4), parseNpy(bytes, path + ":" + member));
  }
  return out;
}

void writeNpz(const std::string& path, const NamedTensors& arrays, bool compress) {
  std::set<std::string> seen;
  for (const auto& [name, tensor] : arrays) {
    if (name.empty() || !seen.insert(name).second)
      throw DataError(path, "", "array names in an .npz must be unique and non-empty ('" + name + "')");
    if (!tensor.defined())
      throw DataError(path, "", "array '" + name + "' is an undefined tensor");
  }
  if (arrays.empty()) {
    // libzip removes archives without entries; numpy writes a bare end record.
    atomicWriteFile(path, std::string("PK\x05\x06", 4) + std::string(18, '\0'));
    return;
  }
  atomicWriteFileWith(path, [&](const std::string& temp) {
    int code = 0;
    std::unique_ptr<zip_t, ZipCloser> archive(
        zip_open(temp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code));
    if (!archive) throw DataError(path, "", "cannot create " + temp + ": " + zipErrorText(code));
    // libzip reads the buffers at zip_close, so they must live until then.
    std::vector<std::string> encoded;
    encoded.reserve(arrays.size());
    for (const auto& [name, tensor] : arrays) {
      encoded.push_back(encodeNpy(tensor));
      zip_source_t* src = zip_source_buffer(archive.get(), encoded.back().data(),
                                            encoded.back().size(), 0);
      if (!src) throw DataError(path, "", zip_strerror(archive.get()));
      zip_int64_t index = zip_file_add(archive.get(), (name + ".npy").c_str(), src,
                                       ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
      if (index < 0) {
        zip_source_free(src);
        throw DataError(path, "", "cannot add '" + name + "': " + zip_strerror(archive.get()));
      }
      zip_set_file_compression(archive.get(), static_cast<zip_uint64_t>(index),
                               compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
    zip_t* raw = archive.release();
    if (zip_close(raw) != 0) {
      std::string reason = zip_strerror(raw);
      zip_discard(raw);
      throw DataError(path, "", "cannot write archive: " + reason);
    }
  });
}

} // namespace bdl
