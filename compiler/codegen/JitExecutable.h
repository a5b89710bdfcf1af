// The Executable of the Jit engine: a lowered Program, its arena, and the
// run loop (bind feeds, run steps, copy out results). Not thread-safe: one
// run at a time per executable (the arena is shared between runs).
#pragma once

#include "compiler/codegen/Jit.h"
#include "compiler/codegen/Program.h"

#include <map>

namespace bdl::codegen {

class JitExecutable final : public exec::Executable {
public:
  JitExecutable(ir::Graph graph, Program program, const exec::EngineOptions& options);
  ~JitExecutable() override;
  ir::Expected<interp::RunResult> run(const interp::Feeds& feeds) override;
  const ir::Graph& graph() const override { return graph_; }
  exec::Engine engine() const override { return exec::Engine::Jit; }
  const Program& program() const { return program_; }
  // Seconds spent in each step over all runs so far; empty unless the
  // environment sets BDL_JIT_PROFILE (then also printed at destruction).
  const std::vector<double>& stepSeconds() const { return profile_; }

private:
  std::optional<ir::Error> bind(const interp::Feeds& feeds, RunContext& ctx);
  // checkAgainstReference: every step's outputs against the reference
  // kernels run on the same inputs (the values the jit holds when the step
  // starts: referenceOf, called before it runs, which also fails if one of
  // them is no longer what its step wrote, `written`); names the first step
  // that differs.
  std::optional<ir::Error> referenceOf(const RunContext& ctx, size_t step, const std::vector<Tensor>& written,
                                       std::map<ir::ValueId, Tensor>& out) const;
  std::optional<ir::Error> check(RunContext& ctx, size_t step, const std::map<ir::ValueId, Tensor>& reference);

  ir::Graph graph_;
  Program program_;
  exec::EngineOptions options_;
  void* arena_ = nullptr;
  // Where every value lives except feeds and what aliases them, worked out
  // once: a batch-1 run is a few microseconds, and walking the plan per
  // run cost a tenth of that.
  std::vector<void*> homes_;
  std::vector<ir::ValueId> feeds_;       // Home::Feed, in id order
  std::vector<ir::ValueId> feedAliases_; // Home::Alias whose root is a feed, in id order
  std::vector<ir::ValueId> stateUpdates_;
  std::vector<double> profile_; // seconds per step (BDL_JIT_PROFILE)
};

} // namespace bdl::codegen
