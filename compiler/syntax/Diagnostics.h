// User-facing diagnostics: `file:line:col: error: message`, the source line
// with a caret under the span, then notes and a fix hint (clang style).
// Passes report into a DiagnosticEngine; the driver renders them.
#pragma once

#include "compiler/syntax/Source.h"

#include <cstdio>
#include <string>
#include <vector>

namespace bdl {

enum class Severity { Error, Warning, Note };

struct DiagnosticNote {
  SourceRange range; // may be invalid for a note without a location
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::Error;
  SourceRange range;
  std::string message;
  std::vector<DiagnosticNote> notes;
  std::string hint; // "hint: ..." line, empty if none
};

class DiagnosticEngine {
public:
  explicit DiagnosticEngine(const SourceManager& sources, size_t errorLimit = 20)
      : sources_(sources), errorLimit_(errorLimit) {}

  // Returns the stored diagnostic so the caller can add notes and a hint.
  Diagnostic& error(SourceRange range, std::string message);
  Diagnostic& warning(SourceRange range, std::string message);

  size_t errorCount() const { return errorCount_; }
  bool hasErrors() const { return errorCount_ > 0; }
  // True once the error limit is reached; passes should stop early.
  bool limitReached() const { return errorLimit_ && errorCount_ >= errorLimit_; }
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }
  const SourceManager& sources() const { return sources_; }

  // Orders diagnostics by file, then position (passes may report out of order).
  void sortBySource();
  // Prints every diagnostic; colour only when `color` is true.
  void render(std::FILE* out, bool color) const;
  std::string renderToString() const;

private:
  const SourceManager& sources_;
  size_t errorLimit_;
  size_t errorCount_ = 0;
  std::vector<Diagnostic> diags_;
  Diagnostic dropped_; // sink for diagnostics past the limit
};

// Renders one diagnostic in the clang layout.
std::string formatDiagnostic(const Diagnostic& d, const SourceManager& sources, bool color);

} // namespace bdl
