// Errors of the IR layer. User-facing problems (a shape rule that fails, a
// feed with the wrong shape) come back as values (Expected<T>); a broken
// internal invariant throws InternalError naming file:line, which the public
// entry points (autodiff, interpreter, passes) turn back into an Error value.
#pragma once

#include "bdl/BasicResult.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace bdl::ir {

// A structured error: `message` states what failed with the shapes involved;
// `operand` (0-based) and `dim` (0-based, of that operand) say where, -1 when
// not applicable, so sema can point a note at the operand's origin.
struct Error {
  std::string message;
  int operand = -1;
  int dim = -1;
};

template <typename T> using Expected = ::bdl::BasicResult<T, Error>;

inline Error makeError(std::string message, int operand = -1, int dim = -1) {
  return Error{std::move(message), operand, dim};
}

class InternalError : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

// Thrown by a reference kernel on bad run-time data (a label outside
// [0, classes), an embedding id outside the table); the interpreter returns
// it as an Error.
class DataError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace bdl::ir

#define BDL_IR_STR2(x) #x
#define BDL_IR_STR(x) BDL_IR_STR2(x)
// Checks an internal invariant; on failure throws InternalError("file:line: msg").
#define BDL_IR_CHECK(cond, msg)                                                          \
  do {                                                                                   \
    if (!(cond))                                                                         \
      throw ::bdl::ir::InternalError(std::string(__FILE__ ":" BDL_IR_STR(__LINE__) ": ") + \
                                     (msg));                                             \
  } while (0)
