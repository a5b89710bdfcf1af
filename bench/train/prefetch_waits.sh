#!/bin/sh
# Does the training loop wait for data? Trains examples/fashion_mlp.bdl as it
# is and with `|> prefetch(4)` after its training pipeline's batch(128), and
# prints each run's summary: samples/s, and with prefetch the "waited for
# data on X of Y batches" line of bdlc's summary (it is only printed when
# the pipeline has a prefetch stage).
#
#   bench/train/prefetch_waits.sh [BDLC] [EPOCHS] [ENGINE] [THREADS]
#   bench/train/prefetch_waits.sh build/bdlc 3 jit 1
#
# THREADS is --threads (0: every core, bdlc's default). On a machine shared
# with other work, 1 is much faster than the default: compare both.
set -eu
bdlc=${1:-build/bdlc}
epochs=${2:-3}
engine=${3:-jit}
threads=${4:-0}
src=$(cd "$(dirname "$0")/../.." && pwd)/examples/fashion_mlp.bdl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Checkpoints into the temp dir; the variant adds prefetch(4) to FashionTrain only.
sed "s#\"ckpt/fashion_mlp\"#\"$work/ckpt\"#" "$src" > "$work/plain.bdl"
awk '/^pipeline FashionTrain/ { inTrain = 1 }
     inTrain && /\|> batch\(128\)/ { print; print "  |> prefetch(4)"; inTrain = 0; next }
     { print }' "$work/plain.bdl" > "$work/prefetch.bdl"
grep -q 'prefetch(4)' "$work/prefetch.bdl" || { echo "could not add prefetch(4)" >&2; exit 1; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $bdlc, --engine $engine --epochs $epochs --threads $threads"
for variant in plain prefetch; do
  rm -rf "$work/ckpt"
  echo "== $variant"
  "$bdlc" train "$work/$variant.bdl" --epochs "$epochs" --engine "$engine" --threads "$threads" > "$work/out.txt"
  grep -E '^training |^epoch [0-9]+ done|^done:|waited for data|accuracy' "$work/out.txt"
done
