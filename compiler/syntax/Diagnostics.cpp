#include "compiler/syntax/Diagnostics.h"

#include <algorithm>
#include <fmt/format.h>

namespace bdl {

Diagnostic& DiagnosticEngine::error(SourceRange range, std::string message) {
  if (limitReached()) {
    dropped_ = {};
    return dropped_;
  }
  ++errorCount_;
  diags_.push_back({Severity::Error, range, std::move(message), {}, {}});
  if (limitReached()) {
    diags_.push_back({Severity::Note, {}, fmt::format("too many errors ({}); stopping now", errorLimit_), {}, {}});
    Diagnostic& d = diags_[diags_.size() - 2];
    return d;
  }
  return diags_.back();
}

Diagnostic& DiagnosticEngine::warning(SourceRange range, std::string message) {
  diags_.push_back({Severity::Warning, range, std::move(message), {}, {}});
  return diags_.back();
}

void DiagnosticEngine::sortBySource() {
  // The "too many errors" note stays last.
  auto end = diags_.end();
  if (!diags_.empty() && !diags_.back().range.valid() && diags_.back().severity == Severity::Note)
    --end;
  std::stable_sort(diags_.begin(), end, [](const Diagnostic& a, const Diagnostic& b) {
    if (a.range.file != b.range.file) return a.range.file < b.range.file;
    return a.range.begin < b.range.begin;
  });
}

namespace {

struct Style {
  bool on;
  std::string bold() const { return on ? "\033[1m" : ""; }
  std::string red() const { return on ? "\033[1;31m" : ""; }
  std::string magenta() const { return on ? "\033[1;35m" : ""; }
  std::string cyan() const { return on ? "\033[1;36m" : ""; }
  std::string green() const { return on ? "\033[1;32m" : ""; }
  std::string reset() const { return on ? "\033[0m" : ""; }
};

// Byte offset in `line` of 1-based code-point column `col`.
size_t byteOfColumn(std::string_view line, uint32_t col) {
  size_t byte = 0;
  for (uint32_t c = 1; c < col && byte < line.size(); ++c) {
    ++byte;
    while (byte < line.size() && (static_cast<unsigned char>(line[byte]) & 0xC0) == 0x80) ++byte;
  }
  return byte;
}

// The source line (tabs shown as spaces) and a caret line under the span.
void appendSnippet(std::string& out, const SourceManager& sources, SourceRange r, const Style& s) {
  if (!r.valid()) return;
  const SourceFile& file = sources.file(r.file);
  std::string_view line = file.lineText(r.begin.line);
  std::string shown;
  std::string carets;
  size_t beginByte = byteOfColumn(line, r.begin.col);
  size_t endByte = r.end.line == r.begin.line && r.end.col > r.begin.col
                       ? byteOfColumn(line, r.end.col)
                       : beginByte + 1;
  // A very long line is shown as a window around the span, marked "...".
  constexpr size_t kContext = 60;
  bool cutLeft = false, cutRight = false;
  if (line.size() > 3 * kContext) {
    auto boundary = [&](size_t i) {
      while (i > 0 && i < line.size() && (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) --i;
      return i;
    };
    size_t from = beginByte > kContext ? boundary(beginByte - kContext) : 0;
    size_t to = boundary(std::min(line.size(), std::max(beginByte + kContext, std::min(endByte, beginByte + 2 * kContext))));
    if (to < beginByte + 1) to = std::min(line.size(), beginByte + 1);
    cutLeft = from > 0;
    cutRight = to < line.size();
    line = line.substr(from, to - from);
    beginByte -= from;
    endByte = std::min(endByte - from, line.size());
    if (cutLeft) {
      shown += "...";
      carets += "   ";
    }
  }
  // Invalid bytes and control characters show as '?', one column each.
  for (size_t i = 0; i < line.size();) {
    size_t n = utf8SequenceLength(line, i);
    bool bad = n == 0;
    n = bad ? 1 : n;
    unsigned char ch = static_cast<unsigned char>(line[i]);
    char mark = i == beginByte ? '^' : (i > beginByte && i < endByte ? '~' : ' ');
    if (ch == '\t') {
      shown += "    ";
      carets.append(4, mark);
    } else {
      if (bad || ch < 0x20 || ch == 0x7f) shown += '?';
      else shown.append(line, i, n);
      carets += mark;
    }
    i += n;
  }
  if (cutRight) shown += "...";
  if (beginByte >= line.size()) { // a span at the end of the line
    carets.append(beginByte - line.size(), ' ');
    carets += '^';
  }
  while (!carets.empty() && carets.back() == ' ') carets.pop_back();
  out += shown + "\n" + s.green() + carets + s.reset() + "\n";
}

std::string location(const SourceManager& sources, SourceRange r) {
  if (!r.valid()) return "bdlc";
  return fmt::format("{}:{}:{}", sources.file(r.file).path, r.begin.line, r.begin.col);
}

} // namespace

std::string formatDiagnostic(const Diagnostic& d, const SourceManager& sources, bool color) {
  Style s{color};
  std::string out;
  const char* label = d.severity == Severity::Error ? "error" : d.severity == Severity::Warning ? "warning" : "note";
  std::string labelColor = d.severity == Severity::Error ? s.red() : d.severity == Severity::Warning ? s.magenta() : s.cyan();
  out += s.bold() + location(sources, d.range) + ": " + labelColor + label + ": " + s.reset() + s.bold() +
         d.message + s.reset() + "\n";
  appendSnippet(out, sources, d.range, s);
  for (const DiagnosticNote& n : d.notes) {
    out += s.bold() + location(sources, n.range) + ": " + s.cyan() + "note: " + s.reset() + n.message + "\n";
    appendSnippet(out, sources, n.range, s);
  }
  if (!d.hint.empty()) out += s.green() + "hint: " + s.reset() + d.hint + "\n";
  return out;
}

void DiagnosticEngine::render(std::FILE* out, bool color) const {
  for (const Diagnostic& d : diags_) std::fputs(formatDiagnostic(d, sources_, color).c_str(), out);
}

std::string DiagnosticEngine::renderToString() const {
  std::string out;
  for (const Diagnostic& d : diags_) out += formatDiagnostic(d, sources_, false);
  return out;
}

} // namespace bdl
