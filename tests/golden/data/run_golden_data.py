#!/usr/bin/env python3
"""Golden tests of bad data files (issue 4, item 3).

    run_golden_data.py --bdlc BDLC --work-dir DIR [--expect-mismatch] CASE.bdl

Each CASE.bdl is a job whose pipeline points at one fixture (a file name
relative to the work dir); CASE.expected holds the stderr bdlc must print.
The runner writes every fixture into a fresh DIR (make_fixtures.py), copies
CASE.bdl there, runs

    bdlc --color=never train CASE.bdl --metrics metrics.jsonl

in DIR (other arguments with a `// golden-data-args: ...` line in the case,
where {case} stands for the copied file), and checks:

1. bdlc exited with code 1 (or the `// golden-data-exit: N` of the case),
   not by a signal, and printed no "internal error";
2. stderr equals CASE.expected line by line (trailing white space ignored;
   `...` in an expected line stands for any text; {work} for DIR);
3. nothing was written: every file in DIR is as before the run (no metrics
   file, no checkpoint directory, no output, no temp files).

`// golden-known-failure: REASON` marks a case whose expectations describe
behaviour bdlc should have but does not yet: it passes while it fails and
reports UNEXPECTED PASS once bdlc is fixed. --expect-mismatch (the runner's
own tests in selftest/) passes only when the case does not match, and
with a `// golden-selftest-problem: TEXT` line only when a problem found
mentions TEXT.
Exit 0: pass, 1: failure, 2: bad usage.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import make_fixtures  # noqa: E402


def directives(text):
    found = {}
    for m in re.finditer(r"^\s*//\s*golden-(data-args|data-exit|known-failure|selftest-problem):(.*)$", text, re.M):
        found[m.group(1)] = m.group(2).strip()
    return found


def snapshot(root):
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            state[rel] = (st.st_size, st.st_mtime_ns) if os.path.isfile(path) else ("dir",)
    return state


def line_matches(expected, actual):
    if "..." not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


def compare(expected_lines, actual_lines):
    """A diff (list of lines) when they differ, else []."""
    ok = len(expected_lines) == len(actual_lines) and all(
        line_matches(e, a) for e, a in zip(expected_lines, actual_lines))
    if ok:
        return []
    diff = []
    for i in range(max(len(expected_lines), len(actual_lines))):
        e = expected_lines[i] if i < len(expected_lines) else None
        a = actual_lines[i] if i < len(actual_lines) else None
        if e is not None and a is not None and line_matches(e, a):
            diff.append("  " + a)
            continue
        if e is not None:
            diff.append("- " + e)
        if a is not None:
            diff.append("+ " + a)
    return diff


def run_case(bdlc, work, case_path):
    problems = []
    name = os.path.splitext(os.path.basename(case_path))[0]
    text = open(case_path).read()
    found = directives(text)
    expected_path = os.path.splitext(case_path)[0] + ".expected"
    if not os.path.exists(expected_path):
        return ["%s is missing" % expected_path], found, ""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for fixture, data in make_fixtures.fixtures().items():
        with open(os.path.join(work, fixture), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
    os.makedirs(os.path.join(work, "a_directory.idx"))
    shutil.copy(case_path, os.path.join(work, name + ".bdl"))
    args = found.get("data-args", "train {case} --metrics metrics.jsonl").split()
    args = [a.replace("{case}", name + ".bdl") for a in args]
    want_exit = int(found.get("data-exit", "1").split()[0])

    before = snapshot(work)
    env = {k: v for k, v in os.environ.items() if k not in ("BDL_PATH", "NO_COLOR")}
    try:
        proc = subprocess.run([bdlc, "--color=never"] + args, cwd=work, capture_output=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        return ["bdlc timed out after 60 s"], found, ""
    err = proc.stderr.decode("utf-8", "replace")
    after = snapshot(work)

    if proc.returncode < 0:
        problems.append("bdlc was killed by signal %d" % -proc.returncode)
    elif proc.returncode != want_exit:
        problems.append("exit code %d, expected %d" % (proc.returncode, want_exit))
    if "internal error" in err:
        problems.append("an internal error instead of a user error")
    expected = open(expected_path).read().replace("{work}", work)
    diff = compare([l.rstrip() for l in expected.rstrip("\n").split("\n")] if expected.strip() else [],
                   [l.rstrip() for l in err.rstrip("\n").split("\n")] if err.strip() else [])
    if diff:
        problems.append("stderr differs from %s (- expected, + printed):\n%s" % (
            os.path.basename(expected_path), "\n".join(diff)))
    written = sorted(p for p in after if p not in before or after[p] != before[p])
    removed = sorted(p for p in before if p not in after)
    if written:
        problems.append("written by the failed run: %s" % ", ".join(written))
    if removed:
        problems.append("removed by the failed run: %s" % ", ".join(removed))
    return problems, found, "$ cd %s && %s\nexit %d\n--- stderr\n%s--- stdout\n%s" % (
        work, " ".join([bdlc, "--color=never"] + args), proc.returncode, err,
        proc.stdout.decode("utf-8", "replace"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bdlc", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--expect-mismatch", action="store_true")
    parser.add_argument("case")
    args = parser.parse_args()
    work = os.path.abspath(args.work_dir)
    problems, found, transcript = run_case(os.path.abspath(args.bdlc), work, os.path.abspath(args.case))
    name = os.path.basename(args.case)
    if args.expect_mismatch:
        want = found.get("selftest-problem", "")
        if problems and any(want in p for p in problems):
            print("ok %s: mismatch found as expected:\n%s" % (name, "\n".join(problems)))
            return 0
        if problems:
            print("FAIL %s: none of the problems mentions %r:\n%s" % (name, want, "\n".join(problems)))
            return 1
        print("FAIL %s: expected a mismatch, the case matched\n%s" % (name, transcript))
        return 1
    known = found.get("known-failure")
    if problems:
        print("FAIL %s\n%s\n%s" % (name, "\n".join(problems), transcript))
        if known:
            print("KNOWN FAILURE (%s)" % known)
            return 0
        return 1
    if known:
        print("UNEXPECTED PASS of known failure %s (%s): remove the golden-known-failure line" % (name, known))
        return 1
    print("ok %s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
