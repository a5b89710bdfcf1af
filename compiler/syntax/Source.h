// Source files and locations. Every AST and IR node carries a SourceRange;
// lines and columns are 1-based, columns count Unicode code points.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bdl {

using FileId = uint32_t;
inline constexpr FileId kNoFile = UINT32_MAX;

struct SourceLoc {
  uint32_t line = 0; // 0 means unknown
  uint32_t col = 0;
  friend bool operator==(SourceLoc, SourceLoc) = default;
  friend auto operator<=>(SourceLoc, SourceLoc) = default;
};

struct SourceRange {
  FileId file = kNoFile;
  SourceLoc begin;
  SourceLoc end; // one past the last character
  bool valid() const { return file != kNoFile && begin.line != 0; }
};

struct SourceFile {
  std::string path;    // as given by the user or resolved by an import
  std::string text;
  std::vector<size_t> lineStarts; // byte offset of each line's first byte

  std::string_view lineText(uint32_t line) const; // without the newline
};

// Owns every file of one compilation; FileIds index into it.
class SourceManager {
public:
  FileId addFile(std::string path, std::string text);
  const SourceFile& file(FileId id) const { return *files_.at(id); }
  size_t fileCount() const { return files_.size(); }

private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

// Length of the valid UTF-8 sequence starting at text[i], or 0 if the bytes
// there are not valid UTF-8 (overlong forms and surrogates included).
size_t utf8SequenceLength(std::string_view text, size_t i);

} // namespace bdl
