// The compiled form of a graph that the Jit engine runs: a flat list of
// steps (each one kernel call), where every value lives, and the arena size.
// Lowering builds it, MemoryPlan fills in the homes, JitExecutable runs it.
#pragma once

#include "compiler/ir/Graph.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bdl::codegen {

// Where a value lives while a run is in progress.
enum class Home : uint8_t {
  None,     // never materialised (inside a fused group, or a folded transpose)
  Arena,    // [offset, offset + bytes) of the executable's one arena
  Feed,     // the caller's tensor for that leaf (read only)
  Constant, // a tensor owned by the program (constants, compile-time values)
  Alias     // the same bytes as another value (reshape, state update)
};

struct ValueHome {
  Home kind = Home::None;
  size_t offset = 0;      // Arena
  size_t bytes = 0;       // Arena, Constant
  ir::ValueId aliasOf = 0; // Alias
  Tensor constant;        // Constant
};

// What a step sees when it runs: the address of every value, by value id.
struct RunContext {
  std::vector<void*> ptr;
  int threads = 1;
  template <typename T> T* at(ir::ValueId v) const { return static_cast<T*>(ptr[v]); }
};

using StepFn = std::function<void(RunContext&)>;

struct Step {
  std::string label;                // "matmul %12 [onednn]", "group 3 [llvm]"
  std::vector<ir::ValueId> nodes;   // IR nodes computed by this step
  std::vector<ir::ValueId> inputs;  // values it reads
  std::vector<ir::ValueId> outputs; // values it writes (materialised)
  StepFn run;
  // Inputs the step reads only at its one output's own element index, with
  // the output's bytes: the output may take over the memory of one that
  // dies here (the memory plan chooses, and records it in writesOver).
  std::vector<ir::ValueId> inPlaceInputs;
  std::optional<ir::ValueId> writesOver;
};

struct Program {
  std::vector<Step> steps;
  std::vector<ValueHome> homes; // by value id
  size_t arenaBytes = 0;        // peak of the memory plan
  std::string llvmIr;           // the JIT module, before optimisation
  int llvmGroups = 0;           // fused groups compiled by LLVM
  bool cacheHit = false;        // the module came from the kernel cache
  double compileMs = 0;
  std::shared_ptr<void> keepAlive; // JIT session, oneDNN objects, ...
};

} // namespace bdl::codegen
