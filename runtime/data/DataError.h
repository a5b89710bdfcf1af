// The one exception type of the data layer: bad data files, bad pipeline
// configuration and bad checkpoint positions all throw bdl::DataError, which
// names the file (when there is one), the position in it and what is wrong.
#pragma once

#include <stdexcept>
#include <string>

namespace bdl {

// what() is "file: position: message" (parts that are empty are left out).
// The CLI prints it as `file: error: position: message` and exits 1:
//   std::cerr << (e.file().empty() ? "bdlc" : e.file()) << ": error: " << e.detail();
class DataError : public std::runtime_error {
public:
  DataError(std::string file, std::string position, std::string message);

  const std::string& file() const { return file_; }         // may be empty
  const std::string& position() const { return position_; } // "byte 16", "line 3, column 2", or empty
  const std::string& message() const { return message_; }
  std::string detail() const; // "position: message" without the file

private:
  std::string file_;
  std::string position_;
  std::string message_;
};

} // namespace bdl
