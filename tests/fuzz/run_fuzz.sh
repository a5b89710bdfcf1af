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
touch "$log.start" # artifacts newer than this are this run's findings
echo "fuzzing for ${seconds}s; log: $log"
# KEEP_GOING=1: libFuzzer's fork mode, which records a crash, timeout or
# out-of-memory input and goes on fuzzing (for triage sessions); otherwise
# the run stops at the first finding.
mode=()
if [ "${KEEP_GOING:-0}" = 1 ]; then
  mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
status=0
# One worker: the machine has two cores shared with other work.
"$build/tests/fuzz/fuzz_frontend" "$work/corpus" "$work/seeds" "${mode[@]}" \
  -dict="$root/tests/fuzz/bdl.dict" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -max_total_time="$seconds" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  >"$log" 2>&1 || status=$?

grep -E '^(Done [0-9]+ runs|stat::|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written|INFO: exiting)' "$log" || true
execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
if [ -z "$execs" ]; then # fork mode prints "#EXECS: cov: ..." lines instead
  execs=$(grep -E '^#[0-9]+:' "$log" | tail -n 1 | grep -oE '^#[0-9]+' | tr -d '#' || true)
fi
cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
units=$(find "$work/corpus" -type f | wc -l)
echo "exec count: ${execs:-unknown}; ${cov:-coverage unknown}; corpus: $units files; exit status: $status"
found=$(find "$work/artifacts" -type f -newer "$log.start" | wc -l)
if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
  [ "$status" -ne 0 ] || status=1
  echo "the fuzzer found a problem; this run's inputs in $work/artifacts:" >&2
  find "$work/artifacts" -type f -newer "$log.start" >&2
fi
exit "$status"
