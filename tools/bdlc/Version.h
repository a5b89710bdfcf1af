#pragma once
namespace bdl {
inline constexpr const char* kVersion = BDL_VERSION_STRING;
}
