// Checkpoints: a directory other tools can read.
//
//   <root>/step-00000469/params.npz     parameters and state by full name
//                        optimizer.npz  optimizer state: each buffer ("momentum_buffer",
//                                       "exp_avg", ...) over the flat parameter vector, and "step"
//                        state.json     where training is (epoch, iteration, pipeline
//                                       position, learning rate, program hash, ...)
//                        manifest.json  the SHA-256 and size of each file above
//
// A checkpoint is built in a temp directory beside it, every file fsynced,
// then renamed into place, so a crash at any moment leaves either a complete
// checkpoint that passes its manifest check or none. Leftover temp
// directories from a crash are removed by the next write.
#pragma once

#include "runtime/tensor/Tensor.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bdl::train {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct CheckpointContents {
  NamedTensors params;
  NamedTensors optimizer;
  nlohmann::json state;
};

// Writes `contents` as <root>/step-<iteration> and then removes the oldest
// checkpoints beyond `keep` (0: keep all). Returns the new directory.
// Throws TrainError or DataError (disk full, permissions) naming the path.
std::string writeCheckpoint(const std::string& root, int64_t iteration, const CheckpointContents& contents,
                            int64_t keep);

// Removes the oldest checkpoints under `root` beyond the newest `keep`
// (0: keep all).
void pruneCheckpoints(const std::string& root, int64_t keep);

// Creates `root` if needed and removes what a crash left there (half-built
// or half-removed checkpoints); done when a run opens its checkpoint
// directory and before every write. Throws TrainError naming the path.
void prepareCheckpointRoot(const std::string& root);

// Checks every file of the checkpoint in `dir` against its manifest and
// reads it. Throws TrainError saying which file is missing or corrupt.
CheckpointContents readCheckpoint(const std::string& dir);

// Checks `dir`'s manifest; returns the problem, or nullopt when it is sound.
std::optional<std::string> verifyCheckpoint(const std::string& dir);

// `path` itself when it is a checkpoint, else the newest sound checkpoint
// under it (skipped unsound ones are reported through `skipped`). Throws
// TrainError when there is none.
std::string resolveCheckpoint(const std::string& path, std::vector<std::string>* skipped = nullptr);

// The checkpoints directly under `root`, oldest first (sound or not).
std::vector<std::string> listCheckpoints(const std::string& root);

} // namespace bdl::train
