// The persistent kernel cache: compiled object files on disk, keyed by
// everything the machine code depends on: the module's text (the fused
// groups' canonical text, shapes and dtypes are all in it), the CPU name and
// features, the LLVM version and this engine's version.
// Entries are written atomically (temporary file, then rename); an entry
// that does not read back whole, or whose stored key differs, is a miss, and
// the caller's rebuild overwrites it.
#pragma once

#include "compiler/codegen/OrcCompiler.h"

#include <filesystem>
#include <optional>
#include <string>

namespace bdl::codegen {

// The directory used when EngineOptions::cacheDir is empty:
// $BDL_CACHE_DIR, else $XDG_CACHE_HOME/bdl/kernels, else ~/.cache/bdl/kernels.
std::filesystem::path defaultCacheDir();

// The full key text and its file name (a hash of it).
std::string cacheKey(const std::string& moduleText, const HostTarget& target);
std::string cacheFileName(const std::string& key);

std::optional<std::string> cacheLoad(const std::filesystem::path& dir, const std::string& key);
// Best effort: a cache that cannot be written only costs the next compile.
bool cacheStore(const std::filesystem::path& dir, const std::string& key, const std::string& object);

} // namespace bdl::codegen
