// libFuzzer entry point for the front end: every input goes through
// checkFrontend; a broken property is a crash (__builtin_trap) so that
// libFuzzer saves and minimises the input. Built only with BDL_FUZZ=ON.
#include "tests/fuzz/FrontendCheck.h"

#include <cstdint>
#include <cstdio>
#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bdl::fuzz::CheckResult result;
  try {
    result = bdl::fuzz::checkFrontend({reinterpret_cast<const char*>(data), size});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_frontend: exception escaped the front end: %s\n", e.what());
    __builtin_trap();
  }
  if (result.failure) {
    std::fprintf(stderr, "fuzz_frontend: %s\n", result.failure->c_str());
    __builtin_trap();
  }
  return 0;
}
