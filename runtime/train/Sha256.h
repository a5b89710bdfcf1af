// SHA-256 of a file's bytes as lowercase hex, for checkpoint manifests.
#pragma once

#include <string>
#include <string_view>

namespace bdl::train {

// Throws TrainError naming the file when it cannot be read.
std::string sha256File(const std::string& path);
std::string sha256Bytes(std::string_view bytes);

} // namespace bdl::train
