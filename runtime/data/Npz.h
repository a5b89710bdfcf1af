// NumPy .npz archives (a zip of .npy members, stored or deflated), both ways,
// through libzip. Checkpoints write params.npz / optimizer.npz with
// writeNpz, which is atomic (temp file, fsync, rename).
#pragma once

#include "runtime/tensor/Tensor.h"

#include <string>
#include <utility>
#include <vector>

namespace bdl {

// Arrays by name, in archive order. Names carry no ".npy" suffix.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Reads every array of an archive. DataError on a missing file, a file that is
// not a zip archive, a member that is not .npy, or a bad member.
NamedTensors readNpz(const std::string& path);

// Writes `arrays` as `path` atomically; `compress` deflates members (like
// np.savez_compressed), otherwise they are stored (like np.savez). Names must
// be unique and non-empty.
void writeNpz(const std::string& path, const NamedTensors& arrays, bool compress = false);

} // namespace bdl
