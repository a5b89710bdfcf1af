// Result<T>: a value or an Error with located diagnostics, the way every
// fallible call of the embedding API reports failure.
//
//   bdl::Result<bdl::Program> p = bdl::Program::compileFile("model.bdl");
//   if (!p) std::cerr << p.error().rendered;   // file:line:col: error: ...
#pragma once

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

template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

private:
  std::variant<T, Error> v_;
};

} // namespace bdl
