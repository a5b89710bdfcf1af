#!/bin/sh
# 2-worker MLP training throughput: bdlc train --workers 2 (one thread each)
# against PyTorch DDP (gloo, one thread each), same model, batch, optimizer
# and data, in the same run. Usage: bench/dist_train/run.sh [BDLC] [ROUNDS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bdlc=${1:-$here/../../build/bdlc}
rounds=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The LANGUAGE.md job for one epoch, without validation or checkpoints.
sed -e 's/stop       = 5 epochs/stop       = 1 epoch/' -e '/validate   =/d' -e '/checkpoint =/d' \
  "$here/../../examples/fashion_mlp.bdl" > "$work/job.bdl"
sed -i "s|import std.nn|import std.nn|" "$work/job.bdl"
for i in $(seq "$rounds"); do
  rm -f "$work/m.jsonl"
  "$bdlc" train "$work/job.bdl" --workers 2 --threads 1 --metrics "$work/m.jsonl" > "$work/out.txt"
  # Steady state: samples/s between the log steps at iterations 50 and 450.
  ours=$(/usr/bin/python3 - "$work/m.jsonl" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
a = next(x for x in r if x["iteration"] == 50); b = next(x for x in r if x["iteration"] == 450)
print(round((b["iteration"] - a["iteration"]) * 128 / (b["seconds"] - a["seconds"])))
PY
)
  peer=$(/usr/bin/python3 "$here/ddp_mlp.py" 2 469)
  echo "round $i: bdlc ${ours} samples/s, PyTorch DDP ${peer} samples/s, ratio $(/usr/bin/python3 -c "print(f'{$ours/$peer:.2f}')")"
done
