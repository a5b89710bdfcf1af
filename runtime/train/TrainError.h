// The one exception type of runtime/train for problems the user can fix: a
// checkpoint that fails its manifest check or does not match the job, a loss
// that became NaN, a metrics file that cannot be written. bdlc turns it into
// `error: ...` and exit code 1. Data problems stay bdl::DataError.
#pragma once

#include <stdexcept>
#include <string>

namespace bdl::train {

class TrainError : public std::runtime_error {
public:
  explicit TrainError(const std::string& message, std::string hint = {})
      : std::runtime_error(message), hint_(std::move(hint)) {}
  const std::string& hint() const { return hint_; }

private:
  std::string hint_;
};

} // namespace bdl::train
