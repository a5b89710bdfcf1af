// NumPy .npy format, both ways: little-endian, C-order arrays of f32, f64,
// i32, i64 and bool (format versions 1.0, 2.0 and 3.0 read; 1.0 written, or
// 2.0 when the header needs it). Fortran order, big-endian and other dtypes
// are rejected with a DataError that says what the file has and what to do.
#pragma once

#include "runtime/tensor/Tensor.h"

#include <cstdint>
#include <span>
#include <string>

namespace bdl {

// Parses .npy bytes; `name` is the file (or "archive.npz:member") in errors.
Tensor parseNpy(std::span<const uint8_t> bytes, const std::string& name);
// Reads a .npy file.
Tensor readNpy(const std::string& path);

// The .npy bytes of a tensor.
std::string encodeNpy(const Tensor& tensor);
// Writes a .npy file atomically (temp file, fsync, rename).
void writeNpy(const std::string& path, const Tensor& tensor);

} // namespace bdl
