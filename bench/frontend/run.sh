#!/usr/bin/env bash
# Front-end benchmark (not a test): times `bdlc check` and `bdlc fmt` on a
# generated 10,000-line BDL file with hyperfine. Builds nothing: it uses
# $BDLC, or build/bdlc from the normal build.
#   bench/frontend/run.sh [LINES]
# The machine is shared, so it also prints the CPU time (user + sys), which
# contention does not inflate.
# Target (issue 2): `bdlc check` of 10,000 lines in under 1 s.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bdlc=${BDLC:-$root/build/bdlc}
lines=${1:-10000}
if [ ! -x "$bdlc" ]; then
  echo "run.sh: no bdlc at $bdlc; build it (ninja -C build bdlc) or set BDLC=path/to/bdlc" >&2
  exit 2
fi
command -v hyperfine >/dev/null || { echo "run.sh: hyperfine is not installed" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
big=$work/large.bdl
python3 "$root/bench/frontend/gen_large_bdl.py" --lines "$lines" --seed 1 >"$big"
# The input must be valid, or the benchmark would time the error path.
"$bdlc" --color=never check "$big"
echo "input: $(wc -l <"$big") lines, $(wc -c <"$big") bytes; bdlc: $bdlc"

hyperfine --warmup 2 --min-runs 20 --style basic --export-json "$work/times.json" \
  -n check "$bdlc check $big" \
  -n fmt "$bdlc fmt $big"

python3 - "$work/times.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    cpu = r["user"] + r["system"]
    print(f"{r['command']:>5}: median {r['median']:.3f} s wall (min {r['min']:.3f}, max {r['max']:.3f}), "
          f"mean CPU {cpu:.3f} s (user {r['user']:.3f} + sys {r['system']:.3f}), {len(r['times'])} runs")
PY
