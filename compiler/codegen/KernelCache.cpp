#include "compiler/codegen/KernelCache.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace bdl::codegen {

namespace {

constexpr const char* kMagic = "BDLKERNELS1\n";
constexpr const char* kEngineVersion = "bdl-jit 1";

uint64_t fnv1a(const std::string& s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

void putU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool getU64(const std::string& in, size_t& pos, uint64_t& v) {
  if (pos + 8 > in.size()) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[pos + i])) << (8 * i);
  pos += 8;
  return true;
}

} // namespace

std::filesystem::path defaultCacheDir() {
  if (const char* d = std::getenv("BDL_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "bdl" / "kernels";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".cache" / "bdl" / "kernels";
  return std::filesystem::temp_directory_path() / "bdl-kernels";
}

std::string cacheKey(const std::string& moduleText, const HostTarget& target) {
  std::ostringstream os;
  os << kEngineVersion << "\nllvm " << target.llvmVersion << "\ntriple " << target.triple << "\ncpu "
     << target.cpu << "\nfeatures " << target.features << "\n" << moduleText;
  return os.str();
}

std::string cacheFileName(const std::string& key) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%016llx%016llx.o", static_cast<unsigned long long>(fnv1a(key)),
                static_cast<unsigned long long>(fnv1a(key, 0x84222325cbf29ce4ull)));
  return buf;
}

std::optional<std::string> cacheLoad(const std::filesystem::path& dir, const std::string& key) {
  std::ifstream in(dir / cacheFileName(key), std::ios::binary);
  if (!in) return std::nullopt;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string magic = kMagic;
  if (data.compare(0, magic.size(), magic) != 0) return std::nullopt;
  size_t pos = magic.size();
  uint64_t keyLen = 0, objLen = 0, sum = 0;
  if (!getU64(data, pos, keyLen) || keyLen > data.size() - pos) return std::nullopt;
  if (data.compare(pos, keyLen, key) != 0 || keyLen != key.size()) return std::nullopt;
  pos += keyLen;
  if (!getU64(data, pos, objLen) || objLen > data.size() - pos) return std::nullopt;
  std::string object = data.substr(pos, objLen);
  pos += objLen;
  if (!getU64(data, pos, sum) || pos != data.size() || sum != fnv1a(object)) return std::nullopt;
  return object;
}

bool cacheStore(const std::filesystem::path& dir, const std::string& key, const std::string& object) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return false;
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path final = dir / cacheFileName(key);
  std::filesystem::path tmp = dir / (final.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                                     std::to_string(counter++));
  std::string data = kMagic;
  putU64(data, key.size());
  data += key;
  putU64(data, object.size());
  data += object;
  putU64(data, fnv1a(object));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out.write(data.data(), static_cast<std::streamsize>(data.size()))) {
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  // rename() replaces the entry in one step: readers see the old or the new file.
  std::filesystem::rename(tmp, final, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}

} // namespace bdl::codegen
