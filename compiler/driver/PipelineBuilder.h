// Turns a described pipeline (sema::PipelineSpec) into a runnable
// data::Pipeline for one worker: sources and stages from their compile-time
// arguments (checked, with located diagnostics), and map/filter functions
// elaborated from BDL on the first record and run by the chosen engine.
#pragma once

#include "compiler/exec/Executable.h"
#include "compiler/sema/Job.h"
#include "runtime/data/Pipeline.h"

#include <memory>
#include <stdexcept>

namespace bdl::driver {

// Everything a pipeline's functions need to be compiled while it runs. The
// program and sources must outlive every pipeline built from them.
struct PipelineContext {
  const LoadedProgram* program = nullptr;
  const SourceManager* sources = nullptr;
  DiagnosticEngine* diags = nullptr; // map/filter compile errors go here
  data::Shard shard;
  uint64_t seed = 0;
  exec::EngineOptions engine;
};

// Thrown (from inside the pipeline, possibly through prefetch) when a
// map/filter function does not compile for the records it receives; the
// diagnostics are already in the context's engine.
class FunctionCompileError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Returns nullptr after reporting diagnostics for bad arguments. Data files
// are opened here: bad files throw DataError.
std::unique_ptr<data::Pipeline> buildPipeline(const sema::PipelineSpec& spec, const PipelineContext& context);

// The fields of a batch (dtype and shape; the leading dimension becomes the
// symbol "N").
std::vector<sema::FieldType> batchFieldTypes(const Record& batch);
// The fields of a single record, all dimensions concrete.
std::vector<sema::FieldType> recordFieldTypes(const Record& record);

} // namespace bdl::driver
