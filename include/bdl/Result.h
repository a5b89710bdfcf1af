// Result<T>: a value or an Error with located diagnostics, the way every
// fallible call of the embedding API reports failure.
//
//   bdl::Result<bdl::Program> p = bdl::Program::compileFile("model.bdl");
//   if (!p) std::cerr << p.error().rendered;   // file:line:col: error: ...
#pragma once

#include "bdl/BasicResult.h"

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace bdl {

// One located diagnostic: an error, a warning, or a note on the one before.
struct Message {
  enum class Severity { Error, Warning, Note };
  Severity severity = Severity::Error;
  std::string file; // empty when the diagnostic has no location
  unsigned line = 0, column = 0;
  std::string message;
};

struct Error {
  enum class Kind {
    UserInput, // the source or the data given is wrong: see diagnostics
    Internal,  // a bug in bdl; message names file:line
  };
  Kind kind = Kind::UserInput;
  std::string message;                 // the first error, one line
  std::vector<Message> diagnostics;  // every error, note and warning
  std::string rendered;                // all of them in clang's layout, ready to print
};

template <typename T> using Result = BasicResult<T, Error>;

} // namespace bdl
