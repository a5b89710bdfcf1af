#!/usr/bin/env python3
"""End-to-end tests of the bdlc command (front end: check, dump, fmt).

    e2e.py --bdlc BDLC --work-dir DIR CASE [FILE]
    e2e.py --list

Each CASE is one ctest test (see CMakeLists.txt). `roundtrip FILE` is the
per-file case: check is clean, fmt is idempotent, fmt keeps the AST and the
comments. Big, binary and deep inputs are generated into the work dir at test
time. A case marked known_failure describes behaviour bdlc should have but
does not yet (a front-end bug): it passes while it fails, and fails with
UNEXPECTED PASS once the bug is fixed, so the marker gets removed.
Exit 0: pass, 1: failure, 2: bad usage.
"""
import argparse
import difflib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

CASES = {}
KNOWN_FAILURES = {}


def case(known_failure=None):
    def register(fn):
        CASES[fn.__name__] = fn
        if known_failure:
            KNOWN_FAILURES[fn.__name__] = known_failure
        return fn
    return register


class Failure(Exception):
    pass


class Result:
    def __init__(self, args, proc, seconds):
        self.args = args
        self.code = proc.returncode
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")
        self.seconds = seconds

    def describe(self):
        if self.code < 0:
            status = "killed by signal %s" % signal.Signals(-self.code).name
        else:
            status = "exit %d" % self.code
        err = self.err if len(self.err) < 4000 else self.err[:4000] + "\n[... stderr cut ...]"
        out = self.out if len(self.out) < 2000 else self.out[:2000] + "\n[... stdout cut ...]"
        return "$ %s\n%s, %.2fs\n--- stderr\n%s--- stdout\n%s" % (
            " ".join(self.args), status, self.seconds, err, out)


class Env:
    def __init__(self, bdlc, work):
        self.bdlc = bdlc
        self.work = work

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def write(self, name, content):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(path, mode) as f:
            f.write(content)
        return path

    def run(self, *args, env=None, timeout=30, cwd=None):
        """Runs bdlc with a clean environment (no BDL_PATH, no NO_COLOR)."""
        full_env = {k: v for k, v in os.environ.items() if k not in ("BDL_PATH", "NO_COLOR")}
        full_env.update(env or {})
        argv = [self.bdlc] + list(args)
        start = time.monotonic()
        try:
            proc = subprocess.run(argv, capture_output=True, env=full_env, timeout=timeout, cwd=cwd or self.work)
        except subprocess.TimeoutExpired:
            raise Failure("timed out after %ds: %s" % (timeout, " ".join(argv)))
        return Result(argv, proc, time.monotonic() - start)


# ---------------------------------------------------------------- helpers

def expect(condition, message, result=None):
    if not condition:
        raise Failure(message + ("\n" + result.describe() if result else ""))


def crashed(result):
    return result.code < 0 or "AddressSanitizer" in result.err or "runtime error:" in result.err


def expect_exit(result, code):
    expect(not crashed(result), "bdlc crashed", result)
    expect(result.code == code, "expected exit code %d" % code, result)


ERROR_LINE = re.compile(r"^(.*):(\d+):(\d+): error: (.*)$", re.M)
ANY_ERROR_LINE = re.compile(r"^(?:.*:\d+:\d+|bdlc): error: (.*)$", re.M)
LOCATIONS = re.compile(r" <\d+:\d+-\d+:\d+>")
# Strings first, so that "//" inside a string is not a comment.
TOKENS = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?\*/', re.S)


def errors(result):
    """The located errors of a run, as (file, line, col, message)."""
    return [(m[0], int(m[1]), int(m[2]), m[3]) for m in ERROR_LINE.findall(result.err)]


def expect_one_clear_error(result, path, words):
    """Exit 1, no crash, exactly one error line naming the file and
    mentioning one of `words`, and no internal error."""
    expect_exit(result, 1)
    expect("internal error" not in result.err, "internal error instead of a user error", result)
    lines = ANY_ERROR_LINE.findall(result.err)
    expect(len(lines) == 1, "expected exactly one error line, got %d" % len(lines), result)
    located = errors(result)
    expect(located and located[0][0] == path, "the error must be located in %s" % path, result)
    expect(any(w.lower() in lines[0].lower() for w in words),
           "the error should mention one of %s" % (words,), result)


def strip_locations(dump):
    return LOCATIONS.sub("", dump)


def comments(text):
    return [t.rstrip() for t in TOKENS.findall(text) if not t.startswith('"')]


def text_diff(a, b, name_a, name_b):
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), name_a, name_b))


def three_errors_source():
    return ("def A(x: f32 {\n"          # 1:14 ')' missing
            "  return x\n"
            "}\n"
            "\n"
            "def B(x: f32) {\n"
            "  y = [x, x\n"              # 6:12 ']' missing
            "  return y\n"
            "}\n"
            "\n"
            "model C(x: f32) -> f32\n"  # 10:23 '{' missing
            "  return x\n"
            "}\n")


# ------------------------------------------------------- per-file round trip

def roundtrip(env, source):
    """check is clean and silent; fmt twice gives the same text; the
    formatted text is what `fmt --check` accepts, has the same AST (ranges
    removed) and the same comments."""
    checked = source
    if os.path.basename(source).startswith("section6"):
        # LANGUAGE.md: sections 3, 5 and 6 together form one program; the
        # job of section 6 names section 5's pipeline and section 3's model.
        folder = os.path.dirname(source)
        parts = [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                 if n.startswith(("section3", "section5"))] + [source]
        text = "".join(open(p, encoding="utf-8").read() + "\n" for p in parts)
        checked = env.write("sections_3_5_6.bdl", text)
    with open(source, encoding="utf-8") as f:
        syntax_only = "// roundtrip: syntax only" in f.read()
    if not syntax_only:
        r = env.run("--color=never", "check", checked)
        expect_exit(r, 0)
        expect(r.err == "", "check of a valid file must print nothing on stderr", r)

    first = roundtrip_formatting(env, source, env.run("dump", "--stage=ast", source))
    with open(source, encoding="utf-8") as f:
        original_text = f.read()
    expect(comments(original_text) == comments(first.out) or
           sorted(comments(original_text)) == sorted(comments(first.out)),
           "fmt lost or changed comments:\n" +
           text_diff("\n".join(comments(original_text)) + "\n", "\n".join(comments(first.out)) + "\n",
                     "comments(file)", "comments(fmt(file))"))


def roundtrip_formatting(env, source, original_dump):
    """fmt twice gives the same text, `fmt --check` accepts it, and it has
    the AST of `original_dump` (ranges removed). Returns the first fmt run."""
    name = os.path.basename(source)
    first = env.run("fmt", source)
    expect_exit(first, 0)
    once = env.write("once/" + name, first.out)
    second = env.run("fmt", once)
    expect_exit(second, 0)
    expect(first.out == second.out, "fmt is not idempotent:\n" +
           text_diff(first.out, second.out, "fmt(file)", "fmt(fmt(file))"))
    r = env.run("fmt", "--check", once)
    expect_exit(r, 0)

    formatted_dump = env.run("dump", "--stage=ast", once)
    expect_exit(original_dump, 0)
    expect_exit(formatted_dump, 0)
    expect(original_dump.out.startswith("Module"), "dump does not start with Module", original_dump)
    a, b = strip_locations(original_dump.out), strip_locations(formatted_dump.out)
    expect(a == b, "fmt changed the AST:\n" + text_diff(a, b, "ast(file)", "ast(fmt(file))"))
    return first


# ----------------------------------------------------------------- cases

@case()
def fmt_comment_inside_brackets(env):
    """A line comment inside brackets (was: moved below the statement, and
    the second fmt added a blank line; tests/fuzz/open/ has it too)."""
    for name, text in (("call", "def F(x: f32) {\n  y = g(x, // c\n    1)\n  return y\n}\n"),
                       ("list", "def F(x: f32) {\n  y = [x, // c\n    x]\n  return y\n}\n")):
        roundtrip(env, env.write(name + ".bdl", text))


@case()
def fmt_comment_after_wrapped_header(env):
    """A comment after a def header that wraps (was: padded to the unwrapped
    width by the first fmt and moved into the body by the second)."""
    header = "def F(aaaaaaaaaaaaaaaaaaaaaaaaa: f32, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb: f32, ccccccccccccccccccc: f32)"
    roundtrip(env, env.write("header.bdl", header + " {  // c\n  return x\n}\n"))


@case()
def three_independent_errors(env):
    path = env.write("three.bdl", three_errors_source())
    r = env.run("--color=never", "check", path)
    expect_exit(r, 1)
    found = [(line, col) for (_, line, col, _) in errors(r)]
    expect(found == [(1, 14), (6, 12), (10, 23)], "expected errors at 1:14, 6:12, 10:23 in order, got %s" % found, r)
    expect(all(f == path for (f, _, _, _) in errors(r)), "errors must name the file", r)
    expect(r.err.rstrip().endswith("3 errors generated."), "missing '3 errors generated.'", r)
    # Each error shows its line and a caret under the column.
    lines = r.err.splitlines()
    for i, line in enumerate(lines):
        m = ERROR_LINE.match(line)
        if m:
            col = int(m[3])
            expect(lines[i + 2].index("^") == col - 1, "caret not under column %d" % col, r)


@case()
def error_limit(env):
    path = env.write("many.bdl", "".join("def F%d(x: f32) {\n  y = x +\n}\n" % i for i in range(30)))
    r = env.run("--color=never", "check", path)
    expect_exit(r, 1)
    expect(len(errors(r)) == 20, "the default limit is 20 errors, got %d" % len(errors(r)), r)
    expect("too many errors" in r.err, "no 'too many errors' note at the limit", r)
    r = env.run("--color=never", "--error-limit=2", "check", path)
    expect_exit(r, 1)
    expect(len(errors(r)) == 2, "--error-limit=2 printed %d errors" % len(errors(r)), r)
    r = env.run("--color=never", "--error-limit=0", "check", path)
    expect_exit(r, 1)
    expect(len(errors(r)) == 30, "--error-limit=0 (no limit) printed %d errors, expected 30" % len(errors(r)), r)


@case()
def several_files(env):
    a = env.write("a.bdl", "def A(x: f32 {\n  return x\n}\n")
    b = env.write("b.bdl", "def B(x: f32) {\n  return\n}\n")
    good = env.write("good.bdl", "def G(x: f32) {\n  return x\n}\n")
    r = env.run("--color=never", "check", a, good, b)
    expect_exit(r, 1)
    expect([e[0] for e in errors(r)] == [a, b], "expected one error in a.bdl then one in b.bdl", r)
    r = env.run("--color=never", "check", good, good)
    expect_exit(r, 0)


@case()
def color(env):
    path = env.write("bad.bdl", "def A(x: f32 {\n  return x\n}\n")
    r = env.run("--color=always", "check", path)
    expect_exit(r, 1)
    expect("\x1b[" in r.err, "--color=always printed no escape codes", r)
    for args in (["--color=never"], ["--color=auto"], []):
        r = env.run(*args, "check", path)
        expect_exit(r, 1)
        expect("\x1b[" not in r.err, "escape codes on a pipe with %s" % (args,), r)
    r = env.run("--color=always", "check", path, env={"NO_COLOR": "1"})
    expect("\x1b[" in r.err, "--color=always must win over NO_COLOR", r)


@case()
def color_on_terminal(env):
    """--color=auto colours on a terminal unless NO_COLOR is set. The
    terminal comes from script(1) (util-linux, part of every Debian)."""
    script = shutil.which("script")
    expect(script is not None, "script(1) is needed to give bdlc a terminal")
    path = env.write("bad.bdl", "def A(x: f32 {\n  return x\n}\n")
    command = "%s check %s" % (env.bdlc, path)
    clean = {k: v for k, v in os.environ.items() if k not in ("BDL_PATH", "NO_COLOR")}
    on_tty = subprocess.run([script, "-qec", command, "/dev/null"], capture_output=True, env=clean, timeout=30)
    expect(b"\x1b[" in on_tty.stdout and b"expected ')'" in on_tty.stdout,
           "no colour on a terminal:\n%r" % on_tty.stdout[:300])
    no_color = subprocess.run([script, "-qec", command, "/dev/null"], capture_output=True,
                              env=dict(clean, NO_COLOR="1"), timeout=30)
    expect(b"\x1b[" not in no_color.stdout and b"expected ')'" in no_color.stdout,
           "NO_COLOR did not turn colour off on a terminal:\n%r" % no_color.stdout[:300])


@case()
def dump_and_fmt_reject_bad_input(env):
    path = env.write("bad.bdl", three_errors_source())
    for cmd in (["dump", "--stage=ast"], ["fmt"], ["fmt", "--check"], ["fmt", "-i"]):
        r = env.run("--color=never", *cmd, path)
        expect_exit(r, 1)
        expect(len(errors(r)) == 3, "%s: expected the 3 syntax errors" % cmd, r)
        expect(r.out == "", "%s printed output for a file with errors" % cmd, r)
    with open(path) as f:
        expect(f.read() == three_errors_source(), "fmt -i modified a file with syntax errors")


@case()
def fmt_in_place_and_check(env):
    messy = "def   F( x :f32 )->f32{\nreturn x+1\n}\n"
    path = env.write("messy.bdl", messy)
    r = env.run("fmt", "--check", path)
    expect_exit(r, 1)
    expect("not in canonical form" in r.err, "fmt --check should say the file is not canonical", r)
    with open(path) as f:
        expect(f.read() == messy, "fmt --check modified the file")
    canonical = env.run("fmt", path)
    expect_exit(canonical, 0)
    r = env.run("fmt", "-i", path)
    expect_exit(r, 0)
    expect(r.out == "", "fmt -i printed to stdout", r)
    with open(path) as f:
        expect(f.read() == canonical.out, "fmt -i did not write the canonical form")
    r = env.run("fmt", "--check", path)
    expect_exit(r, 0)
    expect(not [n for n in os.listdir(env.work) if n.endswith(".tmp")], "fmt -i left a temporary file")


# --- usage errors: exit 2 and a message on stderr

def expect_usage_error(r, words=()):
    expect_exit(r, 2)
    expect(r.err.strip() != "", "a usage error must say what is wrong", r)
    for w in words:
        expect(w in r.err, "the usage error should mention %r" % w, r)


@case()
def usage_no_subcommand(env):
    expect_usage_error(env.run())


@case()
def usage_unknown_subcommand(env):
    expect_usage_error(env.run("frobnicate", "x.bdl"))


@case()
def usage_unknown_subcommand_named(env):
    """The unknown command is named (CLI11 alone said 'A subcommand is required')."""
    expect_usage_error(env.run("frobnicate"), words=("frobnicate",))


@case()
def usage_missing_file(env):
    missing = env.path("does_not_exist.bdl")
    for cmd in (["check"], ["dump"], ["fmt"]):
        expect_usage_error(env.run(*cmd, missing), words=("does_not_exist.bdl",))


@case()
def usage_no_file(env):
    for cmd in (["check"], ["dump"], ["fmt"]):
        expect_usage_error(env.run(*cmd))


@case()
def usage_unknown_flag(env):
    good = env.write("good.bdl", "def G(x: f32) {\n  return x\n}\n")
    expect_usage_error(env.run("--frob", "check", good), words=("--frob",))
    expect_usage_error(env.run("check", "--frob", good), words=("--frob",))
    expect_usage_error(env.run("--color=purple", "check", good))
    expect_usage_error(env.run("--error-limit=many", "check", good))


@case()
def usage_unknown_stage(env):
    good = env.write("good.bdl", "def G(x: f32) {\n  return x\n}\n")
    expect_usage_error(env.run("dump", "--stage=bogus", good), words=("bogus",))


@case()
def usage_directory_as_file(env):
    r = env.run("check", env.work)
    expect(r.code in (1, 2) and not crashed(r), "a directory given as a file must be a usage or input error", r)
    expect(r.err.strip() != "", "no message for a directory given as a file", r)


@case()
def version_and_help(env):
    r = env.run("--version")
    expect_exit(r, 0)
    expect(re.match(r"^bdlc \d+\.\d+\.\d+", r.out), "--version should print 'bdlc X.Y.Z'", r)
    r = env.run("--help")
    expect_exit(r, 0)
    for word in ("check", "dump", "fmt", "BDL_PATH", "Exit codes"):
        expect(word in r.out, "--help should mention %r" % word, r)
    for sub in ("check", "dump", "fmt"):
        r = env.run(sub, "--help")
        expect_exit(r, 0)
        expect("Example" in r.out and "bdlc " + sub in r.out, "%s --help needs an example" % sub, r)


# --- inputs that are not BDL source: one clear error, never a crash

@case()
def empty_file(env):
    path = env.write("empty.bdl", "")
    expect_one_clear_error(env.run("--color=never", "check", path), path, ["empty", "no declarations"])
    path = env.write("blank.bdl", "\n\n   \n// only a comment\n")
    expect_one_clear_error(env.run("--color=never", "check", path), path, ["empty", "no declarations"])


@case()
def binary_file(env):
    rng = random.Random(20261124)
    for i in range(8):
        data = bytes(rng.randrange(256) for _ in range(rng.choice([2, 17, 4096, 100000])))
        try:
            data.decode("utf-8")
            if b"\0" not in data:
                data = b"\xff" + data  # make sure it is not text by chance
        except UnicodeDecodeError:
            pass
        path = env.write("binary%d.bdl" % i, data)
        for cmd in (["check"], ["dump"], ["fmt"]):
            r = env.run("--color=never", *cmd, path)
            expect_one_clear_error(r, path, ["UTF-8", "NUL", "binary"])


@case()
def nul_byte(env):
    path = env.write("nul.bdl", b"def F(x: f32) {\n  return x\0\n}\n")
    r = env.run("--color=never", "check", path)
    expect_one_clear_error(r, path, ["NUL"])
    expect(errors(r)[0][1:3] == (2, 11), "the NUL byte is at 2:11", r)


@case()
def invalid_utf8(env):
    cases = {
        "latin1": b"def F(x: f32) {\n  return x // caf\xe9\n}\n",
        "lone_continuation": b"def F(x: f32) {\n  \x80return x\n}\n",
        "overlong": b"def F(x: f32) {\n  return x // \xc0\xaf\n}\n",
        "surrogate": b"def F(x: f32) {\n  return x // \xed\xa0\x80\n}\n",
        "truncated_at_end": b"def F(x: f32) {\n  return x\n}\n// \xe2\x82",
    }
    for name, data in cases.items():
        path = env.write(name + ".bdl", data)
        expect_one_clear_error(env.run("--color=never", "check", path), path, ["UTF-8"])
    # Valid UTF-8 outside strings and comments is a bad character, with the
    # column counted in code points.
    path = env.write("unicode_ident.bdl", "def F(x: f32) {\n  y = x\u00e9 + x\u03bb\n  return y\n}\n")
    r = env.run("--color=never", "check", path)
    expect_exit(r, 1)
    expect([e[1:3] for e in errors(r)] == [(2, 8), (2, 13)],
           "expected bad characters at 2:8 and 2:13 (code-point columns)", r)
    lines = r.err.splitlines()
    expect(lines[1] == "  y = x\u00e9 + x\u03bb" and lines[2] == "       ^",
           "the snippet must show the line and put the caret under the '\u00e9'", r)
    path = env.write("unicode_comment.bdl", "// \u00e9t\u00e9 \u2014 \U0001F600\ndef F(x: f32) {\n  return x // \u03bb\n}\n")
    expect_exit(env.run("--color=never", "check", path), 0)


@case()
def ten_megabyte_file(env):
    line = "// " + "x" * 96 + "\n"
    path = env.write("big.bdl", line * (10 * 1024 * 1024 // len(line) + 1))
    for cmd in (["check"], ["dump"], ["fmt"]):
        r = env.run("--color=never", *cmd, path)
        expect_one_clear_error(r, path, ["MiB", "too large", "too big"])
        expect(r.seconds < 5, "rejecting a 10 MB file took %.1fs" % r.seconds, r)


@case()
def large_valid_file(env):
    """A 25,000-line program checks clean in reasonable time (the real
    performance target lives in bench/, not here)."""
    defs = "".join("def Layer%d(x: f32[N, 16]) -> f32[N, 16] {\n  param W: f32[16, 16] = glorot_uniform()\n"
                   "  return relu(x @ W)\n}\n\n" % i for i in range(5000))
    path = env.write("large.bdl", defs)
    r = env.run("--color=never", "check", path, timeout=60)
    expect_exit(r, 0)
    expect(r.seconds < 30, "checking %d bytes took %.1fs" % (len(defs), r.seconds), r)


# --- deep and long inputs: a clear error (or success), never a crash

def deep_case(env, name, text, words):
    path = env.write(name + ".bdl", text)
    for cmd in (["check"], ["dump"], ["fmt"]):
        r = env.run("--color=never", *cmd, path)
        expect_one_clear_error(r, path, words)


@case()
def deep_parentheses(env):
    n = 10000
    deep_case(env, "parens", "def F(x: f32) {\n  y = " + "(" * n + "x" + ")" * n + "\n  return y\n}\n", ["nested", "deep"])
    deep_case(env, "parens_unclosed", "def F(x: f32) {\n  y = " + "(" * n + "x\n", ["nested", "deep"])
    deep_case(env, "lists", "def F(x: f32) {\n  y = " + "[" * n + "x" + "]" * n + "\n  return y\n}\n", ["nested", "deep"])
    deep_case(env, "calls", "def F(x: f32) {\n  y = " + "f(" * n + "x" + ")" * n + "\n  return y\n}\n", ["nested", "deep"])
    deep_case(env, "blocks", "def F(x: f32) {\n" + "if a {\n" * n + "}\n" * n + "  return x\n}\n", ["nested", "deep"])


@case()
def long_operator_chain(env):
    n = 100000
    deep_case(env, "plus", "def F(a: f32) {\n  y = " + " + ".join(["a"] * n) + "\n  return y\n}\n",
              ["chain", "long", "nested"])
    deep_case(env, "pipe", "pipeline P = s" + " |> s" * n + "\n", ["chain", "long", "nested"])


@case()
def deep_prefix_operators(env):
    n = 10000
    deep_case(env, "minus", "def F(x: f32) {\n  y = " + "-" * n + "x\n  return y\n}\n", ["nested", "deep"])
    deep_case(env, "bang", "def F(x: f32) {\n  y = " + "!" * n + "x\n  return y\n}\n", ["nested", "deep"])


@case()
def nested_lambdas_1000(env):
    n = 1000
    deep_case(env, "lambda", "def F(x: f32) {\n  y = " + "x => " * n + "x\n  return y\n}\n", ["nested", "deep"])


@case()
def deep_unary_100000(env):
    """Prefix operators and lambdas nest without brackets; a parser that
    recursed on them would overflow the stack (it did, at 30,000 lambdas or
    50,000 prefix operators in Release and 10,000 lambdas under ASan)."""
    n = 100000
    deep_case(env, "minus", "def F(x: f32) {\n  y = " + "-" * n + "x\n  return y\n}\n", ["nested", "deep"])
    deep_case(env, "bang", "def F(x: f32) {\n  y = " + "!" * n + "x\n  return y\n}\n", ["nested", "deep"])
    deep_case(env, "lambda", "def F(x: f32) {\n  y = " + "x => " * n + "x\n  return y\n}\n", ["nested", "deep"])


@case()
def else_if_chain(env):
    """`else if` nests the tree without brackets too."""
    n = 50000
    deep_case(env, "else_if", "def F(x: f32) {\n  if a { y = x }" + " else if a { y = x }" * n + "\n  return y\n}\n",
              ["nested", "deep", "chain", "long"])


@case()
def postfix_chain_within_limit(env):
    """A 150-link chain of calls, indexes or members: check, dump and fmt succeed."""
    n = 150
    for name, tail in (("member", ".y"), ("index", "[0]"), ("call", "()")):
        path = env.write(name + ".bdl", "def F(x: f32) {\n  y = x" + tail * n + "\n  return y\n}\n")
        for cmd in (["check"], ["dump"], ["fmt"]):
            expect_exit(env.run("--color=never", *cmd, path), 0)


@case()
def long_postfix_chain(env):
    """Postfix chains nest the AST without brackets: a 1,000- or 100,000-link
    chain is one clear error. (Before the limit, check accepted them and dump
    and fmt overflowed the stack: at 50,000 links in Release, 2,000 calls
    f()()... under ASan.)"""
    for n in (1000, 100000):
        for name, tail in (("member", ".y"), ("index", "[0]"), ("call", "()")):
            deep_case(env, "%s%d" % (name, n), "def F(x: f32) {\n  y = x" + tail * n + "\n  return y\n}\n",
                      ["chain", "long", "nested", "deep"])


@case()
def many_small_things(env):
    """Width, not depth: long flat lists are fine."""
    n = 20000
    texts = {
        "statements": "def F(x: f32) {\n" + "  y = x\n" * n + "  return y\n}\n",
        "arguments": "def F(x: f32) {\n  y = f(" + "x, " * n + "x)\n  return y\n}\n",
        "list": "def F(x: f32) {\n  y = [" + "x, " * n + "x]\n  return y\n}\n",
        "targets": "def F(x: f32) {\n  " + ", ".join(["y"] * n) + " = x\n  return y\n}\n",
        "else_if": "def F(x: f32) {\n  if a { y = x }" + " else if a { y = x }" * 2000 + "\n  return y\n}\n",
    }
    for name, text in texts.items():
        path = env.write(name + ".bdl", text)
        for cmd in (["check"], ["dump"], ["fmt"]):
            expect_exit(env.run("--color=never", *cmd, path), 0)


@case()
def random_token_soup(env):
    """Deterministic mini-fuzz: random sequences of BDL tokens never crash
    check, dump or fmt, and never give an internal error."""
    vocab = ["import", "def", "model", "param", "state", "return", "for", "in", "if", "else", "pipeline",
             "train", "every", "with", "keep", "epochs", "as", "true", "x", "y", "f32", "N", "0", "1", "2.5",
             "1e-3", '"s"', "(", ")", "[", "]", "{", "}", ",", ":", ".", "..", "->", "=>", "=", "<-", "|>",
             "||", "&&", "<", "==", "+", "-", "*", "/", "@", "!", "\n", "\n", "// c\n", "/* b */", ";", "#", '"open']
    rng = random.Random(7)
    for i in range(60):
        text = " ".join(rng.choice(vocab) for _ in range(rng.randrange(1, 120)))
        path = env.write("soup%d.bdl" % i, text)
        for cmd in (["check"], ["dump"], ["fmt"]):
            r = env.run("--color=never", *cmd, path)
            expect(r.code in (0, 1) and not crashed(r), "exit code must be 0 or 1 on input:\n" + text, r)
            expect("internal error" not in r.err, "internal error on input:\n" + text, r)
            if r.code == 1:
                expect(ANY_ERROR_LINE.search(r.err), "exit 1 without an error message on:\n" + text, r)


@case()
def mutated_examples(env):
    """Every example with one token deleted: a located error or a clean
    check, never a crash; the formatter stays idempotent when it parses."""
    root = os.environ.get("BDL_SOURCE_DIR", "")
    sources = [os.path.join(root, "tests/language/section3_definitions.bdl"),
               os.path.join(root, "examples/fashion_mlp.bdl")]
    rng = random.Random(11)
    for source in sources:
        with open(source, encoding="utf-8") as f:
            text = f.read()
        spans = [m.span() for m in re.finditer(r'"[^"\n]*"|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|\.\.|->|=>|<-|\|>|\S', text)]
        for k in range(25):
            a, b = rng.choice(spans)
            mutated = text[:a] + text[b:]
            path = env.write("mut_%s_%d.bdl" % (os.path.basename(source)[:-4], k), mutated)
            r = env.run("--color=never", "check", path)
            expect(r.code in (0, 1) and not crashed(r) and "internal error" not in r.err, "bad result after deleting %r at %d"
                   % (text[a:b], a), r)
            if r.code == 1:
                expect(errors(r), "exit 1 without a located error after deleting %r" % text[a:b], r)
                continue
            first = env.run("fmt", path)
            expect_exit(first, 0)
            again = env.write("mut_fmt.bdl", first.out)
            second = env.run("fmt", again)
            expect(first.out == second.out, "fmt not idempotent after deleting %r at %d:\n%s" % (
                text[a:b], a, text_diff(first.out, second.out, "fmt", "fmt(fmt)")))


class ProgramGenerator:
    """Random programs that use every expression and statement form. Operands
    that hold lower-precedence operators are parenthesised, so almost every
    program parses; the formatter must then keep the tree and be stable."""
    NAMES = ["a", "b", "x", "epoch", "iterations", "epochs", "nn"]

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def wrap(self, s):
        if "=>" in s or re.search(r" (<|<=|==|!=|\|>|\|\||&&|[-+*/%@]) ", s) or \
                s.endswith(("epochs", "iteration")) or s[0] in "-!":
            return "(" + s + ")"
        return s

    def expr(self, d):
        rng, w = self.rng, self.wrap
        if d <= 0 or rng.random() < 0.2:
            return rng.choice([rng.choice(self.NAMES), str(rng.randrange(100)), "2.5", "1e-3", '"s\\"q"', "true",
                               "5 epochs", "1 iteration"])
        k = rng.randrange(12)
        if k < 3:
            op = rng.choice(["+", "-", "*", "/", "%", "@", "<", "<=", "==", "!=", "&&", "||", "|>"])
            return w(self.expr(d - 1)) + " " + op + " " + w(self.expr(d - 1))
        if k == 3:
            return rng.choice(["-", "!"]) + w(self.expr(d - 1))
        if k == 4:
            return "(" + self.expr(d - 1) + ")"
        if k == 5:
            return rng.choice(self.NAMES) + " => " + self.expr(d - 1)
        if k == 6:
            return "(" + ", ".join(rng.choice(self.NAMES) for _ in range(rng.randrange(0, 3))) + ") => " + self.expr(d - 1)
        if k == 7:
            args = [self.expr(d - 1) if rng.random() < 0.6 else rng.choice(self.NAMES) + " = " + self.expr(d - 1)
                    for _ in range(rng.randrange(0, 4))]
            return rng.choice(["f", "nn.Dense", "g"]) + "(" + ", ".join(args) + ")"
        if k == 8:
            items = [rng.choice([self.expr(d - 1), self.expr(d - 1) + ":" + self.expr(d - 1), ":",
                                 self.expr(d - 1) + ":", ":" + self.expr(d - 1)]) for _ in range(rng.randrange(1, 4))]
            return rng.choice(self.NAMES) + "[" + ", ".join(items) + "]"
        if k == 9:
            return "[" + ", ".join(self.expr(d - 1) for _ in range(rng.randrange(0, 4))) + "]"
        if k == 10:
            return "(" + ", ".join(self.expr(d - 1) for _ in range(rng.randrange(2, 4))) + ")"
        return w(self.expr(d - 1)) + "." + rng.choice(self.NAMES)

    def stmt(self, d):
        rng = self.rng
        k = rng.randrange(6)
        if k == 0:
            return "param W: f32[N, 3] = " + self.expr(3)
        if k == 1:
            return "state s: f32[3] = " + self.expr(3)
        if k == 2:
            return "s <- " + self.expr(3)
        if k == 3:
            return ", ".join(rng.sample(self.NAMES[:3], rng.randrange(1, 3))) + " = " + self.expr(4)
        if k == 4 and d > 0:
            return "for i in 0.." + self.expr(1) + " {\n" + "\n".join(self.stmt(d - 1) for _ in range(rng.randrange(0, 3))) + "\n}"
        if d > 0:
            return "if " + self.expr(2) + " {\n" + self.stmt(d - 1) + "\n} else {\n" + self.stmt(d - 1) + "\n}"
        return "y = " + self.expr(3)

    def program(self):
        rng = self.rng
        body = "\n".join(self.stmt(2) for _ in range(rng.randrange(1, 5)))
        return "\n\n".join([
            "import std.nn",
            "def F(x: f32[N, 4], u: int = " + self.expr(2) + ") -> (f32[N], f32[N]) {\n" + body +
            "\nreturn " + self.expr(3) + ", " + self.expr(2) + "\n}",
            'pipeline P(d: str = "x") = ' + " |> ".join(self.expr(2) for _ in range(rng.randrange(1, 4))),
            "train T {\n data = P()\n v = " + self.expr(2) + " every 2 epochs with [" + self.expr(2) +
            "] keep 3\n stop = 5 epochs\n}"]) + "\n"


@case()
def generated_programs_roundtrip(env):
    """fmt keeps the AST and is idempotent on 40 generated programs, and at
    least most of them parse (so the test keeps testing something)."""
    generator = ProgramGenerator(20261124)
    parsed = 0
    for i in range(40):
        text = generator.program()
        path = env.write("gen%d.bdl" % i, text)
        dump = env.run("--color=never", "dump", path)
        expect(dump.code in (0, 1) and not crashed(dump), "dump failed on a generated program:\n" + text, dump)
        if dump.code != 0:
            continue
        parsed += 1
        try:
            roundtrip_formatting(env, path, dump)
        except Failure as failure:
            raise Failure("on the generated program:\n%s\n%s" % (text, failure))
    expect(parsed >= 30, "only %d of 40 generated programs parsed" % parsed)


# --- modules

@case()
def import_cycle(env):
    a = env.write("cycle/a.bdl", 'import "b.bdl"\ndef A(x: f32) {\n  return x\n}\n')
    env.write("cycle/b.bdl", 'import "a.bdl"\ndef B(x: f32) {\n  return x\n}\n')
    r = env.run("--color=never", "check", a)
    expect_exit(r, 1)
    expect(len(errors(r)) == 1, "expected exactly one error for the cycle", r)
    expect("import cycle" in r.err, "the error should say 'import cycle'", r)
    expect("a.bdl" in errors(r)[0][3] and "b.bdl" in errors(r)[0][3], "the cycle must name a.bdl and b.bdl", r)


@case()
def import_cycle_three_files(env):
    a = env.write("cycle3/a.bdl", 'import "b.bdl"\ndef A(x: f32) {\n  return x\n}\n')
    env.write("cycle3/b.bdl", 'import "c.bdl"\ndef B(x: f32) {\n  return x\n}\n')
    env.write("cycle3/c.bdl", 'import "a.bdl"\ndef C(x: f32) {\n  return x\n}\n')
    r = env.run("--color=never", "check", a)
    expect_exit(r, 1)
    message = errors(r)[0][3] if errors(r) else ""
    expect(len(errors(r)) == 1 and all(n in message for n in ("a.bdl", "b.bdl", "c.bdl")),
           "one error naming a.bdl, b.bdl and c.bdl", r)


@case()
def import_cycle_same_file_names(env):
    a = env.write("same/a/x.bdl", 'import "../b/x.bdl"\ndef A(x: f32) {\n  return x\n}\n')
    env.write("same/b/x.bdl", 'import "../a/x.bdl"\ndef B(x: f32) {\n  return x\n}\n')
    r = env.run("--color=never", "check", a)
    expect_exit(r, 1)
    message = errors(r)[0][3] if errors(r) else ""
    expect("import cycle" in message and "a/x.bdl" in message and "b/x.bdl" in message,
           "the cycle must tell the two x.bdl apart (a/x.bdl, b/x.bdl)", r)


@case()
def import_self(env):
    a = env.write("self/a.bdl", 'import "a.bdl"\ndef A(x: f32) {\n  return x\n}\n')
    r = env.run("--color=never", "check", a)
    expect_exit(r, 1)
    expect("import cycle" in r.err and "a.bdl" in r.err, "importing itself is a cycle", r)


@case()
def import_diamond_is_not_a_cycle(env):
    top = env.write("diamond/top.bdl", 'import "left.bdl"\nimport "right.bdl"\ndef T(x: f32) {\n  return x\n}\n')
    env.write("diamond/left.bdl", 'import "base.bdl"\ndef L(x: f32) {\n  return x\n}\n')
    env.write("diamond/right.bdl", 'import "base.bdl"\ndef R(x: f32) {\n  return x\n}\n')
    env.write("diamond/base.bdl", 'def Base(x: f32) {\n  return x\n}\n')
    expect_exit(env.run("--color=never", "check", top), 0)


@case()
def import_error_in_imported_file(env):
    top = env.write("errs/top.bdl", 'import "lib.bdl"\ndef T(x: f32) {\n  return x\n}\n')
    lib = env.write("errs/lib.bdl", 'def L(x: f32 {\n  return x\n}\n')
    r = env.run("--color=never", "check", top)
    expect_exit(r, 1)
    expect(errors(r) and os.path.samefile(errors(r)[0][0], lib) and errors(r)[0][1:3] == (1, 14),
           "the syntax error must be located in lib.bdl at 1:14", r)


@case()
def import_relative_to_importer(env):
    """File imports and module imports resolve from the importing file's
    folder, not from the working directory."""
    env.write("proj/sub/b.bdl", "def B(x: f32) {\n  return x\n}\n")
    env.write("proj/sub/mylib/layers.bdl", "def L(x: f32) {\n  return x\n}\n")
    env.write("proj/sub/a.bdl", 'import "b.bdl"\nimport mylib.layers as layers\ndef A(x: f32) {\n  return x\n}\n')
    r = env.run("--color=never", "check", "sub/a.bdl", cwd=env.path("proj"))
    expect_exit(r, 0)
    r = env.run("--color=never", "check", "proj/sub/a.bdl", cwd=env.work)
    expect_exit(r, 0)


@case()
def import_std_nn(env):
    path = env.write("uses_std.bdl", "import std.nn\n\nmodel M(x: f32[N, 4]) -> f32[N, 2] {\n"
                     "  return nn.Dense(x, 2)\n}\n")
    r = env.run("--color=never", "check", path)
    expect_exit(r, 0)
    expect(r.err == "", "import std.nn must resolve silently", r)
    # From another working directory too: the stdlib is found beside bdlc.
    r = env.run("--color=never", "check", path, cwd="/")
    expect_exit(r, 0)


@case()
def bdl_path_user_module(env):
    lib = env.path("lib")
    env.write("lib/mylib/layers.bdl", "def Twice(x: f32) {\n  return x + x\n}\n")
    path = env.write("app/main.bdl", "import mylib.layers\ndef F(x: f32) {\n  return x\n}\n")
    r = env.run("--color=never", "check", path)
    expect_exit(r, 1)
    expect("cannot find module 'mylib.layers'" in r.err, "without BDL_PATH the module is missing", r)
    r = env.run("--color=never", "check", path, env={"BDL_PATH": lib})
    expect_exit(r, 0)
    # Several directories, separated by ':'; an empty entry is ignored.
    r = env.run("--color=never", "check", path, env={"BDL_PATH": env.path("nowhere") + "::" + lib})
    expect_exit(r, 0)


@case()
def bdl_path_overrides_std(env):
    """A std/nn.bdl under BDL_PATH wins over the installed stdlib: give it a
    syntax error and the error must come from that file."""
    override = env.write("override/std/nn.bdl", "def Dense(x: f32 {\n  return x\n}\n")
    path = env.write("main.bdl", "import std.nn\ndef F(x: f32) {\n  return x\n}\n")
    expect_exit(env.run("--color=never", "check", path), 0)
    r = env.run("--color=never", "check", path, env={"BDL_PATH": env.path("override")})
    expect_exit(r, 1)
    expect(errors(r) and os.path.samefile(errors(r)[0][0], override),
           "the error must be located in the BDL_PATH copy of std/nn.bdl", r)


@case()
def missing_module(env):
    lib = env.path("searched")
    os.makedirs(lib, exist_ok=True)
    path = env.write("main.bdl", "import mylib.nothere\ndef F(x: f32) {\n  return x\n}\n")
    r = env.run("--color=never", "check", path, env={"BDL_PATH": lib})
    expect_exit(r, 1)
    expect(errors(r) and errors(r)[0][1:3] == (1, 1) and "cannot find module 'mylib.nothere'" in errors(r)[0][3],
           "expected \"cannot find module 'mylib.nothere'\" at 1:1", r)
    expect(os.path.join(lib, "mylib", "nothere.bdl") in r.err, "the error must list the BDL_PATH place it looked", r)
    expect(os.path.join(env.work, "mylib", "nothere.bdl") in r.err, "the error must list the importer's folder", r)
    expect("hint:" in r.err and "BDL_PATH" in r.err, "a hint should mention BDL_PATH", r)


@case()
def missing_std_module(env):
    path = env.write("main.bdl", "import std.nothere\ndef F(x: f32) {\n  return x\n}\n")
    r = env.run("--color=never", "check", path)
    expect_exit(r, 1)
    expect("cannot find module 'std.nothere'" in r.err, "missing std module not reported", r)
    expect(re.search(r"looked for \S*stdlib/nothere\.bdl", r.err), "must list the stdlib place it looked", r)


@case()
def missing_file_import(env):
    path = env.write("main.bdl", 'import "nothere.bdl"\ndef F(x: f32) {\n  return x\n}\n')
    r = env.run("--color=never", "check", path)
    expect_exit(r, 1)
    expect(errors(r) and errors(r)[0][1:3] == (1, 8) and "nothere.bdl" in errors(r)[0][3],
           "expected an error at the string, 1:8, naming nothere.bdl", r)
    expect(os.path.join(env.work, "nothere.bdl") in r.err, "must say where it looked", r)


# --- train, eval, predict (issue 4): iris end to end, checkpoints, usage

IRIS_CSV = "/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv"

IRIS_JOB = """import std.nn

model IrisNet(x: f32[N, 4]) -> f32[N, 3] {
  hidden = nn.Dense(x, 16, act = tanh)
  return nn.Dense(hidden, 3, act = identity)
}

pipeline Iris(path: str = "%(csv)s") =
  csv(path)
  |> shuffle(buffer = 150, seed = 3)
  |> batch(30)

train IrisMLP {
  data       = Iris()
  logits     = IrisNet(features)
  loss       = cross_entropy(logits, label)
  optimizer  = adam(lr = 0.01)
  stop       = 200 iterations
  validate   = Iris() every 50 iterations with [accuracy(logits, label), loss]
  checkpoint = "ckpt" every 50 iterations keep 2
  seed       = 1
}
"""

NPY_CODES = {"<f4": ("f", 4), "<f8": ("d", 8), "<i8": ("q", 8)}


def write_npy(path, descr, shape, values):
    """A C-order .npy file (format 1.0) without NumPy."""
    import struct
    shape_text = "(%s)" % "".join("%d," % d for d in shape) if len(shape) == 1 else str(tuple(shape))
    header = ("{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)).encode("latin1")
    header += b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    code, _ = NPY_CODES[descr]
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
        f.write(struct.pack("<%d%s" % (len(values), code), *values))


def read_npy(path):
    """(descr, shape, flat values) of a .npy file, without NumPy."""
    import ast
    import struct
    data = open(path, "rb").read()
    if data[:6] != b"\x93NUMPY":
        raise Failure("%s is not a .npy file" % path)
    hlen = struct.unpack("<H", data[8:10])[0]
    header = ast.literal_eval(data[10:10 + hlen].decode("latin1"))
    code, size = NPY_CODES[header["descr"]]
    shape = tuple(header["shape"])
    count = 1
    for d in shape:
        count *= d
    values = struct.unpack("<%d%s" % (count, code), data[10 + hlen:10 + hlen + count * size])
    return header["descr"], shape, list(values)


def read_npz_arrays(path):
    """{name: (descr, shape, values)} of an .npz file, without NumPy."""
    import tempfile
    import zipfile
    out = {}
    with zipfile.ZipFile(path) as z, tempfile.TemporaryDirectory() as tmp:
        for member in z.namelist():
            p = z.extract(member, tmp)
            out[member[:-4]] = read_npy(p)
    return out


def iris_rows():
    """Features and labels of sklearn's iris.csv."""
    expect(os.path.exists(IRIS_CSV), "%s is missing (see /work/shared/DATA.md)" % IRIS_CSV)
    lines = open(IRIS_CSV).read().split("\n")[1:]
    rows = [l.split(",") for l in lines if l.strip()]
    return [[float(c) for c in r[:4]] for r in rows], [int(r[4]) for r in rows]


def metrics_records(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def checkpoint_steps(root):
    return sorted(n for n in os.listdir(root) if n.startswith("step-")) if os.path.isdir(root) else []


def train_iris(env, extra=()):
    """Writes the iris job, trains it with --metrics; returns (job path, result)."""
    job = env.write("iris.bdl", IRIS_JOB % {"csv": IRIS_CSV})
    r = env.run("train", job, "--metrics", "metrics.jsonl", *extra, timeout=120)
    expect_exit(r, 0)
    return job, r


def eval_metrics(result):
    """{name: value} from `bdlc eval` output ("  accuracy   0.9733")."""
    return {m[0]: float(m[1]) for m in re.findall(r"^\s+(\w+)\s+(-?[\d.]+)$", result.out, re.M)}


@case()
def train_iris_reaches_accuracy(env):
    """iris trains to >= 0.9 accuracy; the JSONL has one record per log step
    (every 50 iterations) and per validation, matching the printed log."""
    job, r = train_iris(env)
    records = metrics_records(env.path("metrics.jsonl"))
    train = [x for x in records if x["kind"] == "train"]
    validation = [x for x in records if x["kind"] == "validation"]
    expect([x["iteration"] for x in train] == [50, 100, 150, 200],
           "expected train records at iterations 50..200, got %s" % [x["iteration"] for x in train], r)
    expect([x["iteration"] for x in validation] == [50, 100, 150, 200],
           "expected validation records at iterations 50..200, got %s" % [x["iteration"] for x in validation], r)
    expect(len(records) == 8, "expected 8 JSONL records, got %d" % len(records), r)
    expect(all(set(x) >= {"epoch", "iteration", "loss", "lr"} for x in train), "train records lack fields", r)
    expect(all(set(x) >= {"accuracy", "loss", "samples"} and x["samples"] == 150 for x in validation),
           "validation records lack fields or samples != 150", r)
    printed = re.findall(r"^validation at iteration (\d+)", r.out, re.M)
    expect([int(p) for p in printed] == [50, 100, 150, 200], "the log must show each validation", r)
    logged = re.findall(r"^epoch \d+\s+step \S+\s+iteration (\d+)\s+loss ([\d.]+)", r.out, re.M)
    expect([int(i) for i, _ in logged] == [50, 100, 150, 200], "one log line per 50 iterations", r)
    for (i, loss), rec in zip(logged, train):
        expect(abs(float(loss) - rec["loss"]) < 1e-4, "log line and JSONL disagree at iteration %s" % i, r)
    final = validation[-1]["accuracy"]
    expect(final >= 0.9, "final accuracy %.4f < 0.9" % final, r)
    expect(re.search(r"^done: 200 iterations", r.out, re.M), "no final summary", r)
    expect(checkpoint_steps(env.path("ckpt")) == ["step-00000150", "step-00000200"], "keep 2 not honoured", r)


@case()
def eval_matches_last_validation(env):
    job, r = train_iris(env)
    last = [x for x in metrics_records(env.path("metrics.jsonl")) if x["kind"] == "validation"][-1]
    for checkpoint in ("ckpt", "ckpt/step-00000200"):
        e = env.run("eval", job, "--checkpoint", checkpoint)
        expect_exit(e, 0)
        expect("checkpoint ckpt/step-00000200" in e.out, "eval must name the checkpoint it read", e)
        got = eval_metrics(e)
        expect(set(got) == {"accuracy", "loss"}, "eval must print accuracy and loss", e)
        for name in ("accuracy", "loss"):
            expect(abs(got[name] - last[name]) < 6e-5,
                   "eval %s %.4f, last validation %.6f" % (name, got[name], last[name]), e)
    # An older checkpoint gives that iteration's validation.
    older = [x for x in metrics_records(env.path("metrics.jsonl")) if x["kind"] == "validation"][-2]
    e = env.run("eval", job, "--checkpoint", "ckpt/step-00000150")
    expect_exit(e, 0)
    expect(abs(eval_metrics(e)["accuracy"] - older["accuracy"]) < 6e-5, "eval of step 150 differs", e)


@case()
def predict_matches_eval(env):
    job, r = train_iris(env)
    features, labels = iris_rows()
    flat = [v for row in features for v in row]
    write_npy(env.path("x32.npy"), "<f4", (150, 4), flat)
    write_npy(env.path("x64.npy"), "<f8", (150, 4), flat)
    p = env.run("predict", job, "--model", "IrisNet", "--checkpoint", "ckpt", "--input", "x32.npy",
                "--output", "y32.npy")
    expect_exit(p, 0)
    expect("f32[150, 3]" in p.out, "predict must say what it wrote", p)
    descr, shape, logits = read_npy(env.path("y32.npy"))
    expect(descr == "<f4" and shape == (150, 3), "logits must be f32[150, 3], got %s%s" % (descr, shape), p)
    predicted = [max(range(3), key=lambda c: logits[3 * i + c]) for i in range(150)]
    accuracy = sum(int(a == b) for a, b in zip(predicted, labels)) / 150.0
    e = env.run("eval", job, "--checkpoint", "ckpt")
    expect_exit(e, 0)
    expect(abs(accuracy - eval_metrics(e)["accuracy"]) < 6e-5,
           "argmax of predict's logits gives %.4f, eval says %.4f" % (accuracy, eval_metrics(e)["accuracy"]), e)
    # NumPy's default f64 and a small --batch give the same logits.
    p = env.run("predict", job, "--model", "IrisNet", "--checkpoint", "ckpt/step-00000200", "--input", "x64.npy",
                "--output", "y64.npy", "--batch", "7", "--engine", "reference")
    expect_exit(p, 0)
    other = read_npy(env.path("y64.npy"))[2]
    worst = max(abs(a - b) for a, b in zip(logits, other))
    expect(worst < 1e-4, "f64 input / --batch 7 / reference logits differ by %g" % worst, p)
    # A wrong shape is refused before anything is written.
    write_npy(env.path("x3.npy"), "<f4", (150, 3), [v for row in features for v in row[:3]])
    p = env.run("predict", job, "--model", "IrisNet", "--checkpoint", "ckpt", "--input", "x3.npy",
                "--output", "y3.npy")
    expect_exit(p, 1)
    expect("x3.npy holds f32[150, 3] but model 'IrisNet' takes x: f32[N, 4]" in p.err, "shape error unclear", p)
    expect(not os.path.exists(env.path("y3.npy")), "a refused predict must not write its output", p)


@case()
def resume_finished_job(env):
    """--resume of a finished job trains nothing, keeps the values and the
    checkpoints, and logs nothing new."""
    job, r = train_iris(env)
    before = read_npz_arrays(env.path("ckpt", "step-00000200", "params.npz"))
    opt_before = read_npz_arrays(env.path("ckpt", "step-00000200", "optimizer.npz"))
    state_before = json.load(open(env.path("ckpt", "step-00000200", "state.json")))
    lines = len(metrics_records(env.path("metrics.jsonl")))
    r2 = env.run("train", job, "--resume", "ckpt", "--metrics", "metrics.jsonl")
    expect_exit(r2, 0)
    expect("resumed from ckpt/step-00000200 (iteration 200)" in r2.out, "must say where it resumed", r2)
    expect(checkpoint_steps(env.path("ckpt")) == ["step-00000150", "step-00000200"], "checkpoints changed", r2)
    expect(read_npz_arrays(env.path("ckpt", "step-00000200", "params.npz")) == before, "parameters changed", r2)
    expect(read_npz_arrays(env.path("ckpt", "step-00000200", "optimizer.npz")) == opt_before,
           "optimizer state changed", r2)
    expect(json.load(open(env.path("ckpt", "step-00000200", "state.json"))) == state_before, "state.json changed", r2)
    expect(len(metrics_records(env.path("metrics.jsonl"))) == lines, "a finished job logged new records", r2)
    expect(not re.search(r"^epoch .* iteration", r2.out, re.M), "a finished job must not train", r2)


@case()
def resume_finished_job_summary(env):
    job, r = train_iris(env)
    final = re.search(r"final loss ([\d.]+)", r.out).group(1)
    r2 = env.run("train", job, "--resume", "ckpt")
    expect_exit(r2, 0)
    expect("final loss %s" % final in r2.out, "the summary should repeat the final loss %s" % final, r2)


@case()
def resume_finished_job_finishes_pruning(env):
    """A run SIGKILLed while `keep` pruned old checkpoints leaves one too
    many; resumed at its end it writes none, and must still prune."""
    job, r = train_iris(env)
    shutil.copytree(env.path("ckpt", "step-00000150"), env.path("ckpt", "step-00000100"))
    r2 = env.run("train", job, "--resume", "ckpt")
    expect_exit(r2, 0)
    expect(checkpoint_steps(env.path("ckpt")) == ["step-00000150", "step-00000200"],
           "keep 2 must hold after the resumed run: %s" % checkpoint_steps(env.path("ckpt")), r2)


@case()
def train_usage_errors(env):
    job = env.write("iris.bdl", IRIS_JOB % {"csv": IRIS_CSV})
    r = env.run("eval", job)
    expect_exit(r, 2)
    expect("--checkpoint is required" in r.err, "missing --checkpoint must be named", r)
    r = env.run("predict", job, "--checkpoint", "ckpt", "--input", job, "--output", "y.npy")
    expect_exit(r, 2)
    expect("--model is required" in r.err, "missing --model must be named", r)
    for command in (["train", job], ["eval", job, "--checkpoint", "ckpt"]):
        r = env.run(*(command + ["--job", "IrisMPL"]))
        expect_exit(r, 1)
        expect("no train job named 'IrisMPL'" in r.err and "did you mean 'IrisMLP'?" in r.err,
               "an unknown job needs 'did you mean'", r)
    r = env.run("train", job, "--resume", "no-such-dir")
    expect_exit(r, 1)
    expect("no-such-dir: no such checkpoint or directory" in r.err, "a missing --resume must be named", r)
    expect(not os.path.exists(env.path("ckpt")), "a refused resume must not write", r)
    r = env.run("train", job, "--engine", "fast")
    expect_exit(r, 2)
    r = env.run("train", job, "--epochs", "0")
    expect_exit(r, 2)
    novalidate = env.write("novalidate.bdl", re.sub(r"\n  validate .*", "", IRIS_JOB % {"csv": IRIS_CSV}))
    r = env.run("eval", novalidate, "--checkpoint", "ckpt")
    expect_exit(r, 1)
    expect("job 'IrisMLP' has no validate clause" in r.err, "eval of a job without validate must say so", r)
    r = env.run("predict", job, "--model", "IrisNt", "--checkpoint", "ckpt", "--input", job, "--output", "y.npy")
    expect_exit(r, 1)
    expect("no model named 'IrisNt'" in r.err, "an unknown model must be named", r)
    expect(not crashed(r), "crash", r)


def train_iris_then_corrupt_newest(env):
    """Trains the iris job, flips a bit of the newest checkpoint's params.npz
    (step 200) and writes the features as x.npy; returns the job path."""
    job, _ = train_iris(env)
    params = env.path("ckpt", "step-00000200", "params.npz")
    data = bytearray(open(params, "rb").read())
    data[100] ^= 0x01
    open(params, "wb").write(bytes(data))
    features, _ = iris_rows()
    write_npy(env.path("x.npy"), "<f4", (150, 4), [v for row in features for v in row])
    return job


@case()
def corrupt_checkpoint(env):
    """A corrupt newest checkpoint: skipped with a warning when resuming from
    the root, an error when named directly (train, eval, predict)."""
    job = train_iris_then_corrupt_newest(env)
    for command in (["train", job, "--resume", "ckpt/step-00000200"],
                    ["eval", job, "--checkpoint", "ckpt/step-00000200"],
                    ["predict", job, "--model", "IrisNet", "--checkpoint", "ckpt/step-00000200",
                     "--input", "x.npy", "--output", "y.npy"]):
        r = env.run(*command)
        expect_exit(r, 1)
        expect("checkpoint ckpt/step-00000200 is not sound: params.npz does not match its SHA-256" in r.err,
               "a corrupt checkpoint named directly must be an error naming the file", r)
        expect(not os.path.exists(env.path("y.npy")), "nothing may be written", r)
    r = env.run("train", job, "--resume", "ckpt")
    expect_exit(r, 0)
    expect("warning: skipping unsound checkpoint ckpt/step-00000200: params.npz does not match its SHA-256" in r.err,
           "resuming from the root must warn about the skipped checkpoint", r)
    expect("resumed from ckpt/step-00000150 (iteration 150)" in r.out, "must resume from the older one", r)
    # The job re-ran iterations 151..200 and rewrote a sound step 200.
    r = env.run("eval", job, "--checkpoint", "ckpt/step-00000200")
    expect_exit(r, 0)


@case()
def corrupt_checkpoint_root_eval_warns(env):
    job = train_iris_then_corrupt_newest(env)
    for command in (["eval", job, "--checkpoint", "ckpt"],
                    ["predict", job, "--model", "IrisNet", "--checkpoint", "ckpt", "--input", "x.npy",
                     "--output", "y.npy"]):
        r = env.run(*command)
        expect(not crashed(r), "crash", r)
        expect("skipping unsound checkpoint ckpt/step-00000200" in r.err,
               "%s from the root must warn that it skipped step 200" % command[0], r)


@case()
def resume_checkpoint_of_another_job(env):
    text = IRIS_JOB % {"csv": IRIS_CSV}
    two = text + text[text.index("train IrisMLP"):].replace("train IrisMLP", "train IrisOther")
    job = env.write("two.bdl", two)
    r = env.run("train", job, "--job", "IrisMLP")
    expect_exit(r, 0)
    r = env.run("train", job, "--job", "IrisOther", "--resume", "ckpt")
    expect_exit(r, 1)
    expect("belongs to job 'IrisMLP', not 'IrisOther'" in r.err, "must name both jobs", r)
    r = env.run("train", job, "--resume", "ckpt")
    expect_exit(r, 1)
    expect("IrisMLP" in r.err and "IrisOther" in r.err, "two jobs and no --job: must list them", r)


@case()
def train_interrupted_by_sigint(env):
    """Ctrl-C (SIGINT) finishes the iteration, writes a checkpoint, exits 130
    and says how to continue; the resumed job then finishes."""
    job = env.write("long.bdl", """import std.nn

model Net(x: f32[N, 8]) -> f32[N, 4] {
  return nn.Dense(nn.Dense(x, 64, act = tanh), 4, act = identity)
}

pipeline Train = synthetic(shape = [8], classes = 4, count = 2000, seed = 5) |> batch(20)

train Long {
  data       = Train()
  logits     = Net(x)
  loss       = cross_entropy(logits, label)
  optimizer  = sgd(lr = 0.05, momentum = 0.9)
  stop       = 200000 iterations
  checkpoint = "ckpt" every 100000 iterations keep 2
}
""")
    # Output to files: a full pipe would block bdlc instead of the signal.
    with open(env.path("out.txt"), "wb") as out_file, open(env.path("err.txt"), "wb") as err_file:
        proc = subprocess.Popen([env.bdlc, "train", job, "--engine", "reference"], cwd=env.work,
                                stdout=out_file, stderr=err_file)
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline and \
                "iteration 1000 " not in open(env.path("out.txt")).read():
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    out, err = open(env.path("out.txt")).read(), open(env.path("err.txt")).read()
    expect(proc.returncode == 130, "SIGINT: expected exit 130, got %d\n%s\n%s" % (proc.returncode, err, out))
    m = re.search(r"stopped by Interrupt after iteration (\d+); continue with --resume ckpt", err)
    expect(m, "SIGINT: expected 'stopped by Interrupt after iteration N; continue with --resume ckpt'\n" + err)
    steps = checkpoint_steps(env.path("ckpt"))
    expect(steps and steps[-1] == "step-%08d" % int(m.group(1)), "the checkpoint must be the iteration reached: %s" % steps)
    state = json.load(open(env.path("ckpt", steps[-1], "state.json")))
    expect(state["iteration"] == int(m.group(1)), "state.json: iteration %s" % state["iteration"])
    # 2000 records in batches of 20: 100 iterations an epoch. One more epoch.
    epochs = int(m.group(1)) // 100 + 1
    r = env.run("train", job, "--resume", "ckpt", "--epochs", str(epochs), "--engine", "reference")
    expect_exit(r, 0)
    expect("resumed from ckpt/%s (iteration %s)" % (steps[-1], m.group(1)) in r.out, "must resume there", r)
    expect(re.search(r"^done: %d iterations" % (epochs * 100), r.out, re.M), "must finish epoch %d" % epochs, r)


@case()
def train_stops_when_the_loss_is_low(env):
    """stop = loss < v ends the job once the mean of the recent batch losses
    is below v, and not before."""
    job = env.write("lossstop.bdl", """import std.nn

model Net(x: f32[N, 4]) -> f32[N, 3] {
  return nn.Dense(x, 3, act = identity)
}

pipeline P = synthetic(shape = [4], classes = 3, count = 30, seed = 2) |> batch(10)

train T {
  data      = P()
  logits    = Net(x)
  loss      = cross_entropy(logits, label)
  optimizer = adam(lr = 0.05)
  stop      = loss < 0.5
}
""")
    r = env.run("train", job, "--metrics", "m.jsonl")
    expect_exit(r, 0)
    m = re.search(r"^done: (\d+) iterations.*final loss ([\d.]+)", r.out, re.M)
    expect(m, "a summary with the iteration count", r)
    iterations = int(m.group(1))
    expect(1 < iterations < 1000, "the job should stop after a few iterations, not %d" % iterations, r)
    losses = [rec["loss"] for rec in metrics_records(env.path("m.jsonl")) if rec.get("kind") == "train"]
    expect(not losses or all(l > 0 for l in losses), "losses are positive", r)


@case()
def prefetch_waits_cover_the_run(env):
    job = env.write("prefetch.bdl", """import std.nn

model Net(x: f32[N, 8]) -> f32[N, 4] {
  return nn.Dense(x, 4, act = identity)
}

pipeline Train = synthetic(shape = [8], classes = 4, count = 200, seed = 5) |> batch(20) |> prefetch(2)

train P {
  data      = Train()
  logits    = Net(x)
  loss      = cross_entropy(logits, label)
  optimizer = sgd(lr = 0.05)
  stop      = 3 epochs
}
""")
    r = env.run("train", job)
    expect_exit(r, 0)
    expect(re.search(r"^done: 30 iterations", r.out, re.M), "3 epochs of 10 batches", r)
    m = re.search(r"waited for data on (\d+) of (\d+) batches", r.out)
    expect(m, "a pipeline with prefetch must report its waits", r)
    expect(int(m.group(2)) == 30, "the summary covers the run's 30 batches, not %s" % m.group(2), r)


@case()
def train_job_shape_error(env):
    """A model call in a job whose records do not fit the model: one located
    error at the argument, no empty names in the notes, nothing trained."""
    job = env.write("shape.bdl", """import std.nn

model Net(x: f32[N, 4]) -> f32[N, 3] {
  return nn.Dense(x, 3, act = identity)
}

pipeline P = synthetic(shape = [5], classes = 3, count = 30) |> batch(10)

train T {
  data      = P()
  logits    = Net(x)
  loss      = cross_entropy(logits, label)
  optimizer = sgd(lr = 0.1)
  stop      = 1 epochs
}
""")
    r = env.run("--color=never", "train", job, "--metrics", "m.jsonl")
    expect_exit(r, 1)
    expect(errors(r) and errors(r)[0][1:3] == (11, 19) and "f32[N, 5]" in errors(r)[0][3],
           "expected the error at the argument x, 11:19, naming f32[N, 5]", r)
    expect(not os.path.exists(env.path("m.jsonl")), "nothing may be written", r)
    expect("''" not in r.err, "a note names an empty call", r)


@case()
def csv_with_byte_order_mark(env):
    features, labels = iris_rows()
    rows = "".join("%s,%d\n" % (",".join(repr(v) for v in f), l) for f, l in zip(features, labels))
    env.write("bom.csv", b"\xef\xbb\xbf" + ("150,4,setosa,versicolor,virginica\n" + rows).encode())
    job = env.write("bom.bdl", (IRIS_JOB % {"csv": "bom.csv"}).replace("stop       = 200 iterations",
                                                                       "stop       = 10 iterations"))
    r = env.run("train", job)
    expect_exit(r, 0)


# ----------------------------------------------------------------- driver

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="print the case names")
    parser.add_argument("--bdlc")
    parser.add_argument("--work-dir")
    parser.add_argument("case", nargs="?")
    parser.add_argument("file", nargs="?")
    args = parser.parse_args()
    if args.list:
        print(";".join(CASES))
        return 0
    if not args.bdlc or not args.work_dir or not args.case:
        parser.error("--bdlc, --work-dir and CASE are required")
    if args.case != "roundtrip" and args.case not in CASES:
        parser.error("unknown case %r" % args.case)
    if args.case == "roundtrip" and not args.file:
        parser.error("roundtrip needs a FILE")
    shutil.rmtree(args.work_dir, ignore_errors=True)
    os.makedirs(args.work_dir)
    env = Env(os.path.abspath(args.bdlc), os.path.abspath(args.work_dir))
    known = KNOWN_FAILURES.get(args.case)
    try:
        if args.case == "roundtrip":
            roundtrip(env, os.path.abspath(args.file))
        else:
            CASES[args.case](env)
    except Failure as failure:
        print("FAIL %s\n%s" % (args.case, failure))
        if known:
            print("KNOWN FAILURE (%s): the failure above is a front-end bug still open" % known)
            return 0
        return 1
    if known:
        print("UNEXPECTED PASS of known failure %s (%s): remove the known_failure marker" % (args.case, known))
        return 1
    print("ok %s" % args.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
