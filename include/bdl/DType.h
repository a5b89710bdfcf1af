// Element types of tensors, shared by the compiler and the runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bdl {

enum class DType : uint8_t { F32, F64, I32, I64, Bool };

constexpr size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F32: return 4;
  case DType::F64: return 8;
  case DType::I32: return 4;
  case DType::I64: return 8;
  case DType::Bool: return 1;
  }
  return 0;
}

constexpr std::string_view dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::F64: return "f64";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::Bool: return "bool";
  }
  return "?";
}

constexpr bool isFloating(DType t) { return t == DType::F32 || t == DType::F64; }

std::optional<DType> dtypeFromName(std::string_view name);

} // namespace bdl
