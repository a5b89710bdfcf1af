// LLVM behind two calls: compile a module (text) to an object file for the
// host CPU at O3, and load object files into an ORC LLJIT session whose
// functions can then be called. No LLVM type leaves this header, and there
// is no global JIT: every executable owns its session.
#pragma once

#include "compiler/ir/Error.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bdl::codegen {

// What compiled code depends on besides the source: part of every cache key.
struct HostTarget {
  std::string triple, cpu, features, llvmVersion;
};
HostTarget hostTarget();

// Parses, verifies and optimises `irText` (O3 for the host CPU), then emits
// an object file. `optimizedIr`, when given, receives the optimised module.
ir::Expected<std::string> compileToObject(const std::string& irText, std::string* optimizedIr = nullptr);

using KernelFn = void (*)(void** args, int64_t begin, int64_t end);

class JitSession {
public:
  static ir::Expected<std::unique_ptr<JitSession>> create();
  ~JitSession();
  // Links an object file into the session.
  std::optional<ir::Error> addObject(const std::string& object);
  ir::Expected<KernelFn> lookup(const std::string& name);

private:
  JitSession() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace bdl::codegen
