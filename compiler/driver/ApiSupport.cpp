#include "compiler/driver/ApiSupport.h"

#include <fmt/format.h>

namespace bdl::api {

Error userError(const DiagnosticEngine& diags, const SourceManager& sources, bool color) {
  Error e;
  for (const Diagnostic& d : diags.diagnostics()) {
    Message::Severity severity = d.severity == Severity::Error     ? Message::Severity::Error
                                 : d.severity == Severity::Warning ? Message::Severity::Warning
                                                                   : Message::Severity::Note;
    std::string file = d.range.valid() ? sources.file(d.range.file).path : "";
    e.diagnostics.push_back({severity, file, d.range.begin.line, d.range.begin.col, d.message});
    for (const DiagnosticNote& n : d.notes)
      e.diagnostics.push_back({Message::Severity::Note, n.range.valid() ? sources.file(n.range.file).path : "",
                               n.range.begin.line, n.range.begin.col, n.message});
    if (e.message.empty() && d.severity == Severity::Error)
      e.message = file.empty() ? d.message : fmt::format("{}:{}:{}: {}", file, d.range.begin.line, d.range.begin.col, d.message);
    e.rendered += formatDiagnostic(d, sources, color);
  }
  return e;
}

Error simpleError(std::string message, Error::Kind kind) {
  Error e;
  e.kind = kind;
  e.message = message;
  e.diagnostics.push_back({Message::Severity::Error, "", 0, 0, message});
  e.rendered = (kind == Error::Kind::Internal ? "internal error: " : "error: ") + message + "\n";
  return e;
}

} // namespace bdl::api
