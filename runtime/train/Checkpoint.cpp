#include "runtime/train/Checkpoint.h"

#include "runtime/data/AtomicWrite.h"
#include "runtime/data/DataError.h"
#include "runtime/data/Npz.h"
#include "runtime/train/Sha256.h"
#include "runtime/train/TrainError.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace bdl::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "bdl-checkpoint/1";
constexpr const char* kPrefix = "step-";
const std::vector<std::string> kFiles = {"params.npz", "optimizer.npz", "state.json"};

void fsyncPath(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw TrainError(fmt::format("{}: cannot open to sync: {}", p.string(), std::strerror(errno)));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw TrainError(fmt::format("{}: fsync failed: {}", p.string(), std::strerror(errno)));
}

std::string readText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw TrainError(fmt::format("{}: cannot open: {}", p.string(), std::strerror(errno)));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// step-00000469 -> 469; other names -> nullopt.
std::optional<int64_t> stepOf(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0 || name.size() == std::string_view(kPrefix).size()) return std::nullopt;
  int64_t v = 0;
  for (char c : name.substr(std::string_view(kPrefix).size())) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Renames first, so a half-removed directory never looks like a checkpoint.
void removeDirectory(const fs::path& dir, const fs::path& root) {
  fs::path trash = root / fmt::format(".trash-{}-{}", dir.filename().string(), ::getpid());
  std::error_code ec;
  fs::rename(dir, trash, ec);
  fs::remove_all(ec ? dir : trash, ec);
}

void removeLeftovers(const fs::path& root) {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0 || name.rfind(".trash-", 0) == 0) fs::remove_all(e.path(), ec);
  }
}

} // namespace

std::vector<std::string> listCheckpoints(const std::string& root) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    if (!e.is_directory()) continue;
    if (auto step = stepOf(e.path().filename().string())) found.emplace_back(*step, e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [_, path] : found) out.push_back(std::move(path));
  return out;
}

void prepareCheckpointRoot(const std::string& rootPath) {
  std::error_code ec;
  fs::create_directories(rootPath, ec);
  if (ec) throw TrainError(fmt::format("{}: cannot create the checkpoint directory: {}", rootPath, ec.message()));
  removeLeftovers(rootPath);
}

std::string writeCheckpoint(const std::string& rootPath, int64_t iteration, const CheckpointContents& contents,
                            int64_t keep) {
  fs::path root(rootPath);
  std::error_code ec;
  prepareCheckpointRoot(rootPath);
  std::string name = fmt::format("{}{:08}", kPrefix, iteration);
  fs::path tmp = root / fmt::format(".tmp-{}-{}", name, ::getpid());
  fs::remove_all(tmp, ec);
  fs::create_directory(tmp, ec);
  if (ec) throw TrainError(fmt::format("{}: cannot create: {}", tmp.string(), ec.message()));

  writeNpz((tmp / "params.npz").string(), contents.params);
  writeNpz((tmp / "optimizer.npz").string(), contents.optimizer);
  atomicWriteFile((tmp / "state.json").string(), contents.state.dump(2) + "\n");
  nlohmann::json manifest = {{"format", kFormat}, {"files", nlohmann::json::object()}};
  for (const std::string& f : kFiles) {
    fs::path p = tmp / f;
    manifest["files"][f] = {{"sha256", sha256File(p.string())}, {"bytes", fs::file_size(p)}};
  }
  atomicWriteFile((tmp / "manifest.json").string(), manifest.dump(2) + "\n");
  fsyncPath(tmp);

  fs::path final = root / name;
  if (fs::exists(final)) removeDirectory(final, root); // a resumed run passing the same step again
  fs::rename(tmp, final, ec);
  if (ec) throw TrainError(fmt::format("{}: cannot move the new checkpoint into place: {}", final.string(), ec.message()));
  fsyncPath(root);

  pruneCheckpoints(rootPath, keep);
  return final.string();
}

void pruneCheckpoints(const std::string& rootPath, int64_t keep) {
  if (keep <= 0) return;
  fs::path root(rootPath);
  std::vector<std::string> all = listCheckpoints(rootPath);
  if (all.size() <= static_cast<size_t>(keep)) return;
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) removeDirectory(all[i], root);
  fsyncPath(root);
}

std::optional<std::string> verifyCheckpoint(const std::string& dirPath) {
  fs::path dir(dirPath);
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(readText(dir / "manifest.json"));
  } catch (const TrainError&) {
    return "manifest.json is missing";
  } catch (const nlohmann::json::exception& e) {
    return fmt::format("manifest.json is not valid JSON ({})", e.what());
  }
  if (!manifest.is_object() || manifest.value("format", "") != kFormat || !manifest["files"].is_object())
    return fmt::format("manifest.json is not a {} manifest", kFormat);
  for (const std::string& f : kFiles) {
    if (!manifest["files"].contains(f)) return fmt::format("manifest.json does not list {}", f);
    const nlohmann::json& entry = manifest["files"][f];
    fs::path p = dir / f;
    std::error_code ec;
    uintmax_t size = fs::file_size(p, ec);
    if (ec) return fmt::format("{} is missing", f);
    if (!entry.contains("bytes") || entry["bytes"] != size)
      return fmt::format("{} has {} bytes but the manifest says {}", f, size, entry.value("bytes", 0));
    try {
      if (entry.value("sha256", "") != sha256File(p.string()))
        return fmt::format("{} does not match its SHA-256 in the manifest", f);
    } catch (const TrainError& e) {
      return e.what();
    }
  }
  return std::nullopt;
}

CheckpointContents readCheckpoint(const std::string& dir) {
  if (auto problem = verifyCheckpoint(dir))
    throw TrainError(fmt::format("checkpoint {} is not sound: {}", dir, *problem),
                     "resume from an older checkpoint of the same directory");
  CheckpointContents c;
  try {
    c.params = readNpz((fs::path(dir) / "params.npz").string());
    c.optimizer = readNpz((fs::path(dir) / "optimizer.npz").string());
    c.state = nlohmann::json::parse(readText(fs::path(dir) / "state.json"));
  } catch (const DataError& e) {
    throw TrainError(fmt::format("checkpoint {}: {}", dir, e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw TrainError(fmt::format("checkpoint {}: state.json: {}", dir, e.what()));
  }
  return c;
}

std::string resolveCheckpoint(const std::string& path, std::vector<std::string>* skipped) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw TrainError(fmt::format("{}: no such checkpoint or directory", path));
  if (fs::exists(fs::path(path) / "manifest.json", ec)) return path;
  std::vector<std::string> all = listCheckpoints(path);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    std::optional<std::string> problem = verifyCheckpoint(*it);
    if (!problem) return *it;
    if (skipped) skipped->push_back(fmt::format("{}: {}", *it, *problem));
  }
  throw TrainError(fmt::format("{} holds no sound checkpoint", path),
                   all.empty() ? "a checkpoint directory holds step-NNNNNNNN directories written by bdlc train"
                               : "every checkpoint there failed its manifest check");
}

} // namespace bdl::train
