// Crash-safe file replacement for checkpoints (params.npz, optimizer.npz,
// state.json): write a temp file in the same directory, fsync it, rename it
// over the target, fsync the directory. Readers see the old file or the new
// one, never a half-written one.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace bdl {

// Writes `bytes` to `path` atomically. Throws DataError (naming the path and
// the OS reason) on failure; the temp file is removed.
void atomicWriteFile(const std::string& path, std::string_view bytes);

// For writers that need a path (libzip): `writeTemp` creates the file it is
// given; the helper then fsyncs and renames it over `path`.
void atomicWriteFileWith(const std::string& path,
                         const std::function<void(const std::string& tempPath)>& writeTemp);

} // namespace bdl
