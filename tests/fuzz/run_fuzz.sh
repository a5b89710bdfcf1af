#!/usr/bin/env bash
# Builds the libFuzzer target in build-fuzz/ (clang, ASan+UBSan, coverage on
# the parser too) and fuzzes the front end for SECONDS (default 120).
#   tests/fuzz/run_fuzz.sh [SECONDS]
# The growing corpus lives in build-fuzz/fuzz/corpus; the seeds (seeds/,
# LANGUAGE.md examples, stdlib, examples, regressions/) are copied to
# build-fuzz/fuzz/seeds. Reproducers of open findings (open/) are not seeds:
# the run would stop on them at once.
# A crash, hang or leak leaves its input in build-fuzz/fuzz/artifacts and
# makes this script exit non-zero: minimise it with
#   build-fuzz/tests/fuzz/fuzz_frontend -minimize_crash=1 -runs=100000 FILE
# and save it in tests/fuzz/regressions/ (replayed by ctest's fuzz_replay).
set -euo pipefail

seconds=${1:-120}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BDL_FUZZ_BUILD:-$root/build-fuzz}
work=$build/fuzz

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DBDL_FUZZ=ON -DBDL_TESTS=OFF \
  -DBDL_COMPONENTS="grammar;compiler/syntax;tests/fuzz" >/dev/null
ninja -C "$build" -j2 fuzz_frontend

mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
for f in "$root"/tests/fuzz/seeds/*.bdl "$root"/tests/language/*.bdl "$root"/stdlib/*.bdl "$root"/examples/*.bdl "$root"/tests/fuzz/regressions/*; do
  [ -f "$f" ] && cp "$f" "$work/seeds/"
done

log=$work/fuzz-$(date -u +%Y%m%dT%H%M%SZ).log
echo "fuzzing for ${seconds}s; log: $log"
status=0
# One worker: the machine has two cores shared with other work.
"$build/tests/fuzz/fuzz_frontend" "$work/corpus" "$work/seeds" \
  -dict="$root/tests/fuzz/bdl.dict" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -max_total_time="$seconds" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  >"$log" 2>&1 || status=$?

grep -E '^(Done [0-9]+ runs|stat::|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' "$log" || true
execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
units=$(find "$work/corpus" -type f | wc -l)
echo "exec count: ${execs:-unknown}; ${cov:-coverage unknown}; corpus: $units files; exit status: $status"
if [ "$status" -ne 0 ]; then
  echo "the fuzzer found a problem; inputs in $work/artifacts:" >&2
  ls -1 "$work/artifacts" >&2
fi
exit "$status"
