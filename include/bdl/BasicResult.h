// BasicResult<T, E>: a value of type T, or an error of type E. The one
// template behind bdl::Result (the embedding API), ir::Expected (the
// compiler) and optim::Result (runtime/optim), which differ only in what
// their error holds.
#pragma once

#include <stdexcept>
#include <utility>
#include <variant>

namespace bdl {

template <typename T, typename E> class [[nodiscard]] BasicResult {
public:
  BasicResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  BasicResult(E error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Reading the value of a failed result is a bug in the caller: it throws
  // std::logic_error (never aborts).
  T& value() & { return checked(*this); }
  const T& value() const& { return checked(*this); }
  T&& value() && { return std::move(checked(*this)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // Only on a failed result.
  const E& error() const { return std::get<1>(v_); }

private:
  template <typename Self> static auto& checked(Self& self) {
    if (!self.ok()) throw std::logic_error("bdl/BasicResult.h: the value of a failed result was read");
    return std::get<0>(self.v_);
  }
  std::variant<T, E> v_;
};

} // namespace bdl
