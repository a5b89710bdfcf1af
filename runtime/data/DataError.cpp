#include "runtime/data/DataError.h"

namespace bdl {

static std::string joinParts(const std::string& file, const std::string& position,
                             const std::string& message) {
  std::string out;
  if (!file.empty()) out += file + ": ";
  if (!position.empty()) out += position + ": ";
  return out + message;
}

DataError::DataError(std::string file, std::string position, std::string message)
    : std::runtime_error(joinParts(file, position, message)), file_(std::move(file)),
      position_(std::move(position)), message_(std::move(message)) {}

std::string DataError::detail() const { return joinParts("", position_, message_); }

} // namespace bdl
