// Errors as values for runtime/optim: a user mistake (bad optimizer argument,
// mismatched state on restore, wrong span length) comes back as a Status or a
// Result<T> holding a message, never as an abort of the host process.
#pragma once

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
template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : data_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Reading the value of a failed result is a programming error in the
  // caller; it throws (never aborts) and names this file.
  T& value() & { check(); return std::get<0>(data_); }
  const T& value() const& { check(); return std::get<0>(data_); }
  T&& value() && { check(); return std::get<0>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const std::string& message() const {
    static const std::string kNone;
    return ok() ? kNone : std::get<1>(data_).message;
  }
  Status status() const { return ok() ? Status() : Status(std::get<1>(data_)); }

private:
  void check() const {
    if (!ok())
      throw std::logic_error("runtime/optim/Result.h: value() of a failed result: " +
                             std::get<1>(data_).message);
  }
  std::variant<T, Error> data_;
};

} // namespace bdl::optim
