#!/usr/bin/env bash
# Builds the runtime/dist frame/handshake fuzzer with clang and runs it.
#   runtime/dist/fuzz/run_fuzz.sh [seconds=60] [extra libFuzzer flags...]
# Corpus and crash files go to build-fuzz-dist/ (crashes: crash-*).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
seconds=${1:-60}
shift || true
out="$root/build-fuzz-dist"
mkdir -p "$out/corpus"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root" "$root/runtime/dist/fuzz/FrameFuzz.cpp" "$root/runtime/dist/Frame.cpp" \
  "$root/runtime/dist/Handshake.cpp" -lcrypto -o "$out/dist_frame_fuzz"
# Seeds: a split byte, then a Challenge frame, a heartbeat and a chunk header.
python3 - "$out/corpus" <<'PY'
import struct, sys, os
d = sys.argv[1]
def frame(t, payload):
    return b"BDLF" + bytes([1, t, 0, 0]) + struct.pack("<I", len(payload)) + payload
seeds = {
    "challenge": b"\x03" + frame(1, struct.pack("<II", 0, 4) + bytes(32)),
    "heartbeats": b"\x05" + frame(5, b"") * 3,
    "chunk": b"\x07" + frame(6, struct.pack("<QIBBH", 7, 2, 1, 0, 0) + bytes(8)),
    "reject": b"\x01" + frame(4, struct.pack("<iH", 2, 5) + b"nope!"),
}
for name, data in seeds.items():
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)
PY
cd "$out"
exec ./dist_frame_fuzz -max_total_time="$seconds" -max_len=4096 "$@" corpus
