// Errors as values for runtime/optim: a user mistake (bad optimizer argument,
// mismatched state on restore, wrong span length) comes back as a Status or a
// Result<T> holding a message, never as an abort of the host process.
#pragma once

#include "bdl/BasicResult.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace bdl::optim {

struct Error {
  std::string message;
};

// Success, or an error message meant for a person.
class [[nodiscard]] Status {
public:
  Status() = default; // success
  Status(Error error) : message_(std::move(error.message)), failed_(true) {}
  static Status success() { return {}; }

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& message() const { return message_; }

private:
  std::string message_;
  bool failed_ = false;
};

// A value of type T, or an error message.
template <typename T> class [[nodiscard]] Result : public BasicResult<T, Error> {
public:
  using BasicResult<T, Error>::BasicResult;
  const std::string& message() const {
    static const std::string kNone;
    return this->ok() ? kNone : this->error().message;
  }
  Status status() const { return this->ok() ? Status() : Status(this->error()); }
};

} // namespace bdl::optim
