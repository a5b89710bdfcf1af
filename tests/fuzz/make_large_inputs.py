#!/usr/bin/env python3
"""Writes the large hostile inputs of issue 2 into OUTDIR, for fuzz_replay.

Too big for the fuzzer's -max_len and for the repository, so ctest makes
them at test time. Each must be rejected with a diagnostic, never a crash.

  make_large_inputs.py OUTDIR          empty file, 1 MiB of random bytes,
                                       a 10 MB source file, 10,000 nested
                                       parentheses, a 100,000-term a + a chain
  make_large_inputs.py --deep OUTDIR   nesting without brackets, 100,000 deep:
                                       - - - a, x => x => ..., else if chains
                                       (these overflow the parser's stack
                                       today: see tests/fuzz/README.md)
"""
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEF_HEAD = "def F(a: f32[N]) -> f32[N] {\n"


def main():
    args = sys.argv[1:]
    deep = args[:1] == ["--deep"]
    if deep:
        args = args[1:]
    if len(args) != 1:
        sys.exit(__doc__)
    out = args[0]
    os.makedirs(out, exist_ok=True)

    def write(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)

    n = 100_000
    if deep:
        write("deep_unary.bdl", DEF_HEAD + "  return " + "-" * n + "a\n}\n")
        write("deep_lambda.bdl", "pipeline P = src() |> map(" + "x=>" * n + "x)\n")
        write("deep_else_if.bdl", DEF_HEAD + "  if a {}" + " else if a {}" * n + "\n}\n")
        return
    write("empty.bdl", "")
    write("random_1mib.bdl", random.Random(1).randbytes(1 << 20))
    write("nested_parens_10k.bdl", DEF_HEAD + "  return " + "(" * 10_000 + "a" + ")" * 10_000 + "\n}\n")
    write("chain_100k.bdl", DEF_HEAD + "  return a" + " + a" * (n - 1) + "\n}\n")
    generator = os.path.join(HERE, "..", "..", "bench", "frontend", "gen_large_bdl.py")
    big = subprocess.run([sys.executable, generator, "--lines", "300000"], check=True,
                         capture_output=True).stdout
    write("source_10mb.bdl", big)


if __name__ == "__main__":
    main()
