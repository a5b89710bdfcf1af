// A train job ready to run: described by sema, its pipelines built, its
// graphs elaborated for the records the pipelines give, its optimizer,
// schedule and clipping checked, all mistakes reported as diagnostics.
#pragma once

#include "compiler/driver/PipelineBuilder.h"
#include "compiler/sema/Job.h"
#include "runtime/train/Trainer.h"

#include <optional>
#include <string>

namespace bdl::driver {

struct JobOptions {
  std::string job;                // empty: the file's only job
  data::Shard shard;              // this worker
  exec::EngineOptions engine;
  std::optional<int64_t> epochs;  // --epochs: overrides the stop clause
  std::string version;            // bdlc's, for state.json
};

struct PreparedJob {
  sema::JobSpec spec;
  train::TrainSettings settings;
  train::TrainInputs inputs;
};

// Reads one batch of each pipeline to learn the record types (the training
// pipeline starts over when training starts). Returns nullopt after
// reporting diagnostics; bad data files throw DataError.
std::optional<PreparedJob> prepareJob(const LoadedProgram& program, const SourceManager& sources,
                                      DiagnosticEngine& diags, const JobOptions& options);

// SHA-256 over every module's path and text, in load order.
std::string programHash(const LoadedProgram& program, const SourceManager& sources);

} // namespace bdl::driver
