// What every entry of the embedding API shares: the program a Program
// holds, and the way failures become Errors.
#pragma once

#include "bdl/bdl.h"

#include "compiler/sema/ModuleLoader.h"
#include "compiler/syntax/Diagnostics.h"

#include <exception>

namespace bdl {

struct Program::Impl {
  SourceManager sources;
  LoadedProgram program;
  CompileOptions options;
};

namespace api {

// Every diagnostic of `diags`, located and rendered.
Error userError(const DiagnosticEngine& diags, const SourceManager& sources, bool color);

// One unlocated message.
Error simpleError(std::string message, Error::Kind kind = Error::Kind::UserInput);

// Runs `body`, turning any exception (a bug in bdl) into an internal Error.
template <typename T, typename F> Result<T> guarded(F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return simpleError(e.what(), Error::Kind::Internal);
  }
}

} // namespace api
} // namespace bdl
