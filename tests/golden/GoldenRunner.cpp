// golden_runner: checks one .bdl file against the diagnostics written in its
// own comments (see tests/golden/README.md for the directive syntax).
//   golden_runner [--expect-mismatch] --bdlc PATH/TO/bdlc FILE.bdl
// It runs `bdlc --color=never check FILE`, parses stderr back into errors
// with their notes and hints, and requires an exact one-to-one match with the
// expectations, source-ordered output, snippets that show the right line and
// caret, and exit code 1 (errors expected) or 0 (none). Exit 0 on success,
// 1 on a mismatch, 2 on bad usage or a malformed directive. With
// --expect-mismatch (the runner's own tests, selftest/) 0 and 1 swap.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

// One diagnostic, expected or actual. `line == 0` means "no location"
// (printed as `bdlc: note: ...`).
struct Note {
  int line = 0, col = 0;
  std::string message;
};

struct Error {
  int line = 0, col = 0;
  std::string message;
  std::vector<Note> notes;
  std::optional<std::string> hint;
  int directiveLine = 0; // expected only: where the directive is written
};

// Expected text matches exactly; a leading or trailing "..." stands for any
// text, so "...closes..." is a substring test and "expected ')'..." a prefix.
bool textMatches(const std::string& pattern, const std::string& actual) {
  bool anyBefore = pattern.rfind("...", 0) == 0;
  bool anyAfter = pattern.size() >= 3 && pattern.compare(pattern.size() - 3, 3, "...") == 0;
  std::string core = pattern;
  if (anyBefore) core = core.substr(3);
  if (anyAfter && core.size() >= 3) core.resize(core.size() - 3);
  if (anyBefore && anyAfter) return actual.find(core) != std::string::npos;
  if (anyBefore) return actual.size() >= core.size() && actual.compare(actual.size() - core.size(), core.size(), core) == 0;
  if (anyAfter) return actual.rfind(core, 0) == 0;
  return actual == pattern;
}

std::string where(int line, int col) { return line == 0 ? "-" : std::to_string(line) + ":" + std::to_string(col); }

std::string render(const Error& e) {
  std::string out = "error " + where(e.line, e.col) + ": " + e.message + "\n";
  for (const Note& n : e.notes) out += "  note " + where(n.line, n.col) + ": " + n.message + "\n";
  if (e.hint) out += "  hint: " + *e.hint + "\n";
  return out;
}

bool matches(const Error& expected, const Error& actual) {
  if (expected.line != actual.line || expected.col != actual.col || !textMatches(expected.message, actual.message))
    return false;
  if (expected.hint.has_value() != actual.hint.has_value()) return false;
  if (expected.hint && !textMatches(*expected.hint, *actual.hint)) return false;
  if (expected.notes.size() != actual.notes.size()) return false;
  std::vector<bool> used(actual.notes.size(), false);
  for (const Note& en : expected.notes) {
    bool found = false;
    for (size_t i = 0; i < actual.notes.size() && !found; ++i) {
      const Note& an = actual.notes[i];
      if (!used[i] && en.line == an.line && en.col == an.col && textMatches(en.message, an.message))
        used[i] = found = true;
    }
    if (!found) return false;
  }
  return true;
}

struct Expectations {
  std::vector<Error> errors;
  std::optional<std::string> knownFailure;
};

bool readLines(const std::string& path, std::vector<std::string>& lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return true;
}

// Parses the directives. Returns false (and says why) on a malformed one, so
// that a typo cannot silently turn a case into "must check clean".
bool parseDirectives(const std::string& path, const std::vector<std::string>& lines, Expectations& out) {
  static const std::regex directive(R"(//\s*expect-(error|note|hint)(@(?:([+-])(\d+)|(\d+)):(\d+))?:\s*(.*?)\s*$)");
  static const std::regex knownFailure(R"(//\s*golden-known-failure:\s*(.*?)\s*$)");
  for (size_t i = 0; i < lines.size(); ++i) {
    int here = static_cast<int>(i) + 1;
    const std::string& text = lines[i];
    std::smatch m;
    if (std::regex_search(text, m, knownFailure)) {
      out.knownFailure = m[1].str();
      continue;
    }
    if (text.find("expect-") == std::string::npos) continue;
    auto bad = [&](const char* why) {
      std::fprintf(stderr, "%s:%d: malformed golden directive (%s): %s\n", path.c_str(), here, why, text.c_str());
      return false;
    };
    if (!std::regex_search(text, m, directive)) return bad("see tests/golden/README.md");
    std::string kind = m[1].str();
    int line = 0, col = 0;
    if (m[2].matched) {
      if (m[3].matched) line = here + (m[3].str() == "+" ? 1 : -1) * std::stoi(m[4].str());
      else line = std::stoi(m[5].str());
      col = std::stoi(m[6].str());
      if (line < 1 || col < 1) return bad("location before the start of the file");
    }
    std::string message = m[7].str();
    if (message.empty()) return bad("empty message");
    if (kind == "error") {
      if (line == 0) return bad("an error needs @LINE:COL");
      out.errors.push_back({line, col, message, {}, {}, here});
      continue;
    }
    if (out.errors.empty()) return bad("a note or hint must follow the expect-error it belongs to");
    Error& owner = out.errors.back();
    if (kind == "note") {
      owner.notes.push_back({line, col, message});
    } else {
      if (line != 0) return bad("a hint has no location");
      if (owner.hint) return bad("one hint per error");
      owner.hint = message;
    }
  }
  return true;
}

struct RunResult {
  int exitCode = -1; // -1: killed by a signal
  int signal = 0;
  std::string stderrText;
};

bool runBdlc(const std::string& bdlc, const std::string& file, RunResult& result) {
  int pipeFds[2];
  if (pipe(pipeFds) != 0) return false;
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    dup2(pipeFds[1], STDERR_FILENO);
    close(pipeFds[0]);
    close(pipeFds[1]);
    FILE* null = std::fopen("/dev/null", "w");
    if (null) dup2(fileno(null), STDOUT_FILENO);
    const char* argv[] = {bdlc.c_str(), "--color=never", "check", file.c_str(), nullptr};
    execv(bdlc.c_str(), const_cast<char* const*>(argv));
    std::fprintf(stderr, "golden_runner: cannot run %s: %s\n", bdlc.c_str(), std::strerror(errno));
    _exit(127);
  }
  close(pipeFds[1]);
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipeFds[0], buffer, sizeof buffer)) > 0) result.stderrText.append(buffer, static_cast<size_t>(n));
  close(pipeFds[0]);
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return false;
  if (WIFEXITED(status)) result.exitCode = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return true;
}

// bdlc shows lines longer than this as a window around the span.
constexpr size_t kWindowAbove = 180;

// What bdlc must show as the snippet of `line`: tabs as four spaces,
// control characters as '?'. Only pure ASCII lines are checked.
std::optional<std::string> expectedSnippet(const std::vector<std::string>& source, int line) {
  if (line < 1 || static_cast<size_t>(line) > source.size()) return std::nullopt;
  std::string shown;
  std::string text = source[static_cast<size_t>(line) - 1];
  if (!text.empty() && text.back() == '\r') text.pop_back();
  for (unsigned char c : text) {
    if (c >= 0x80 || c == '\t') return std::nullopt;
    shown += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  return shown;
}

// Parses bdlc's stderr into errors, checking on the way that each located
// diagnostic shows its source line and a caret at its column.
bool parseOutput(const std::string& file, const std::string& text, const std::vector<std::string>& source,
                 std::vector<Error>& errors, std::vector<std::string>& problems) {
  static const std::regex located(R"(^(.*):(\d+):(\d+): (error|note|warning): (.*)$)");
  static const std::regex unlocated(R"(^bdlc: (error|note|warning): (.*)$)");
  static const std::regex summary(R"(^(\d+) errors generated\.$)");
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::optional<size_t> summaryCount;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    std::string kind, message;
    int line = 0, col = 0;
    if (std::regex_match(lines[i], m, located)) {
      if (m[1].str() != file) problems.push_back("diagnostic names file '" + m[1].str() + "', expected '" + file + "'");
      line = std::stoi(m[2].str());
      col = std::stoi(m[3].str());
      kind = m[4].str();
      message = m[5].str();
      if (i + 2 >= lines.size() + 1) {
        problems.push_back("no snippet after: " + lines[i]);
      } else if (std::optional<std::string> want = expectedSnippet(source, line)) {
        const std::string& shown = lines[i + 1];
        std::string caret = i + 2 < lines.size() ? lines[i + 2] : "";
        // A long line is shown as a window "...part..." around the column;
        // the part must be the line's text at the right offset.
        bool cutLeft = want->size() > kWindowAbove && shown.rfind("...", 0) == 0;
        bool cutRight = want->size() > kWindowAbove && shown.size() >= 3 && shown.compare(shown.size() - 3, 3, "...") == 0;
        std::string part = shown.substr(cutLeft ? 3 : 0);
        if (cutRight) part.resize(part.size() - 3);
        size_t at = caret.find('^');
        long from = at == std::string::npos ? -1 : static_cast<long>(col - 1) - static_cast<long>(at - (cutLeft ? 3 : 0));
        bool partFits = from >= 0 && want->compare(static_cast<size_t>(from), part.size(), part) == 0 &&
                        cutLeft == (from > 0) && cutRight == (static_cast<size_t>(from) + part.size() < want->size());
        if (!partFits) problems.push_back("snippet of " + where(line, col) + " shows '" + shown + "', expected '" + *want + "'");
        if (at == std::string::npos || caret.find_first_not_of(" ^~") != std::string::npos ||
            (!cutLeft && at != static_cast<size_t>(col - 1)))
          problems.push_back("caret line of " + where(line, col) + " is '" + caret + "', expected '^' at column " + std::to_string(col));
      }
      i += 2;
    } else if (std::regex_match(lines[i], m, unlocated)) {
      kind = m[1].str();
      message = m[2].str();
    } else if (lines[i].rfind("hint: ", 0) == 0) {
      if (errors.empty()) problems.push_back("hint before any error: " + lines[i]);
      else if (errors.back().hint) problems.push_back("two hints for one error: " + lines[i]);
      else errors.back().hint = lines[i].substr(6);
      continue;
    } else if (std::regex_match(lines[i], m, summary)) {
      summaryCount = std::stoul(m[1].str());
      continue;
    } else {
      problems.push_back("unrecognised output line: '" + lines[i] + "'");
      continue;
    }
    if (kind == "error") {
      errors.push_back({line, col, message, {}, {}, 0});
    } else if (kind == "note") {
      if (errors.empty()) problems.push_back("note before any error: " + message);
      else errors.back().notes.push_back({line, col, message});
    } else {
      problems.push_back("unexpected warning: " + message);
    }
  }
  if (errors.size() > 1 && summaryCount != errors.size())
    problems.push_back("missing or wrong 'N errors generated.' line for " + std::to_string(errors.size()) + " errors");
  if (errors.size() <= 1 && summaryCount) problems.push_back("'errors generated' line with fewer than two errors");
  for (size_t i = 1; i < errors.size(); ++i) {
    const Error& a = errors[i - 1];
    const Error& b = errors[i];
    if (b.line < a.line || (b.line == a.line && b.col < a.col))
      problems.push_back("errors not in source order: " + where(b.line, b.col) + " after " + where(a.line, a.col));
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  std::string bdlc, file;
  bool expectMismatch = false; // self-test: the file's directives are wrong on purpose
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--bdlc" && i + 1 < argc) bdlc = argv[++i];
    else if (arg == "--expect-mismatch") expectMismatch = true;
    else if (file.empty() && arg.rfind("--", 0) != 0) file = arg;
    else file.clear(), bdlc.clear(), i = argc;
  }
  if (bdlc.empty() || file.empty()) {
    std::fprintf(stderr, "usage: golden_runner [--expect-mismatch] --bdlc PATH/TO/bdlc FILE.bdl\n");
    return 2;
  }
  std::vector<std::string> source;
  if (!readLines(file, source)) {
    std::fprintf(stderr, "golden_runner: cannot read %s\n", file.c_str());
    return 2;
  }
  Expectations expected;
  if (!parseDirectives(file, source, expected)) return 2;
  // A missing bdlc is a broken setup, never a (known) failure of the case.
  if (access(bdlc.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "golden_runner: cannot run %s: %s\n", bdlc.c_str(), std::strerror(errno));
    return 2;
  }

  RunResult run;
  if (!runBdlc(bdlc, file, run)) {
    std::fprintf(stderr, "golden_runner: cannot run %s: %s\n", bdlc.c_str(), std::strerror(errno));
    return 2;
  }
  std::vector<Error> actual;
  std::vector<std::string> problems;
  parseOutput(file, run.stderrText, source, actual, problems);
  int wantExit = expected.errors.empty() ? 0 : 1;
  if (run.signal) problems.push_back("bdlc was killed by signal " + std::to_string(run.signal));
  else if (run.exitCode != wantExit)
    problems.push_back("exit code " + std::to_string(run.exitCode) + ", expected " + std::to_string(wantExit));

  // Pair expectations with diagnostics; what is left over is the diff.
  std::vector<bool> actualUsed(actual.size(), false), expectedUsed(expected.errors.size(), false);
  for (size_t e = 0; e < expected.errors.size(); ++e)
    for (size_t a = 0; a < actual.size() && !expectedUsed[e]; ++a)
      if (!actualUsed[a] && matches(expected.errors[e], actual[a])) actualUsed[a] = expectedUsed[e] = true;
  bool diagnosticsMatch = std::all_of(actualUsed.begin(), actualUsed.end(), [](bool b) { return b; }) &&
                          std::all_of(expectedUsed.begin(), expectedUsed.end(), [](bool b) { return b; });
  bool ok = diagnosticsMatch && problems.empty();

  if (!ok) {
    std::string report = "golden mismatch in " + file + "\n";
    if (!diagnosticsMatch) {
      report += "--- expected (from the file's directives)\n+++ actual (bdlc check)\n";
      for (size_t e = 0; e < expected.errors.size(); ++e) {
        if (expectedUsed[e]) continue;
        std::istringstream lines(render(expected.errors[e]));
        for (std::string l; std::getline(lines, l);) report += "-" + l + "\n";
      }
      for (size_t a = 0; a < actual.size(); ++a) {
        if (actualUsed[a]) continue;
        std::istringstream lines(render(actual[a]));
        for (std::string l; std::getline(lines, l);) report += "+" + l + "\n";
      }
      for (size_t e = 0; e < expected.errors.size(); ++e)
        if (expectedUsed[e]) report += " " + render(expected.errors[e]);
    }
    for (const std::string& p : problems) report += "problem: " + p + "\n";
    report += "--- bdlc stderr (exit " + std::to_string(run.exitCode) + ")\n" + run.stderrText;
    std::fputs(report.c_str(), stdout);
  }
  if (expectMismatch) {
    if (ok || expected.knownFailure) {
      std::printf("SELF-TEST FAILED: the runner accepted %s, whose directives are wrong on purpose\n", file.c_str());
      return 1;
    }
    std::printf("self-test ok: the mismatch above was detected\n");
    return 0;
  }
  if (expected.knownFailure) {
    if (ok) {
      std::printf("UNEXPECTED PASS of a known failure in %s (%s): remove the golden-known-failure line\n",
                  file.c_str(), expected.knownFailure->c_str());
      return 1;
    }
    std::printf("KNOWN FAILURE (%s): the mismatch above is a front-end bug still open\n", expected.knownFailure->c_str());
    return 0;
  }
  if (ok) std::printf("ok: %zu error(s) as expected\n", actual.size());
  return ok ? 0 : 1;
}
