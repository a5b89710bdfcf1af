#!/usr/bin/python3
"""Parameter sync of bdl (runtime/dist, BigDL's algorithm) next to PyTorch's
torch.distributed all_reduce on the gloo backend, same sizes and world
sizes, one process per rank on loopback. Prints both medians and the ratio
(gloo time / bdl time: above 1 means bdl is faster).

    bench/dist/compare_torch_gloo.py --bench build/runtime/dist/bench_param_sync \
        [--sizes 1000000,10000000,25000000] [--worlds 2,4] [--iters 10] \
        [--stat median|min] [--rounds N] [--socket | --tcp] [--per-block] \
        [--probe build/runtime/dist/bench_memory_state]

--stat min takes each side's fastest iteration, --rounds N alternates the
two sides N times and prints every round plus the median of the rounds:
on a shared machine both help tell the code apart from the other load.
bdl's same-host links share memory (memfd segments, the Unix socket only
carries control frames) unless --socket (data on the Unix sockets) or --tcp
(loopback TCP, as gloo). gloo always uses TCP loopback.

--probe runs bench_memory_state for half a second before and after bdl's
part of each round and prints its line: the VM this was written on
switches between two memory speeds (writes 2x apart) every few seconds to
minutes, and bdl's sync, being memory-bound, follows them.

bdl's owners update each chunk of their block as soon as its sum is
complete (what `bdlc train --workers` does); --per-block makes one update
per block after the whole reduce-scatter.

gloo all-reduces f32 only; bdl's bf16 row is compared with the same f32 gloo
time, which is the comparison issue 6 asks for (bf16 on the wire vs gloo).
Uses /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gloo_rank(rank, world, port, floats, warmup, iters, stat, queue):
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    t = torch.full((floats,), 1e-3, dtype=torch.float32)
    times = []
    for it in range(warmup + iters):
        start = time.perf_counter()
        dist.all_reduce(t)
        elapsed = time.perf_counter() - start
        if it >= warmup:
            times.append(elapsed)
    dist.destroy_process_group()
    if rank == 0:
        queue.put(min(times) if stat == "min" else statistics.median(times))


def run_gloo(world, floats, warmup, iters, stat):
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=gloo_rank, args=(r, world, port, floats, warmup, iters, stat, queue)) for r in range(world)]
    for p in procs:
        p.start()
    result = queue.get(timeout=600)
    for p in procs:
        p.join()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/runtime/dist/bench_param_sync", help="path to bench_param_sync")
    ap.add_argument("--sizes", default="1000000,10000000,25000000")
    ap.add_argument("--worlds", default="2,4")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--stat", choices=["median", "min"], default="median")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--each-chunk", dest="each_chunk", action="store_true", default=True,
                    help="ParamSyncOptions::updateEachChunk, the default, as bdlc train's DistSync runs it: "
                         "owners update each chunk as its sum completes, so the all-gather overlaps the "
                         "reduce-scatter")
    ap.add_argument("--per-block", dest="each_chunk", action="store_false",
                    help="one update per owned block instead (the whole sum is written out first)")
    ap.add_argument("--tcp", action="store_true",
                    help="bdl's same-host links on loopback TCP, as gloo's, instead of shared memory")
    ap.add_argument("--update", choices=["sgd", "sum"], default="sgd",
                    help="sgd: bdl's owners apply an SGD step (a training sync); sum: they keep the summed "
                         "gradient, so bdl computes exactly gloo's all_reduce")
    ap.add_argument("--socket", action="store_true",
                    help="bdl's same-host data on the Unix sockets instead of shared memory")
    ap.add_argument("--probe", help="path to bench_memory_state: label each round with the memory speed")
    args = ap.parse_args()
    if not os.access(args.bench, os.X_OK):
        sys.exit(f"compare_torch_gloo: {args.bench} is not an executable; build bench_param_sync first")
    worlds = [int(w) for w in args.worlds.split(",")]
    sizes = [int(s) for s in args.sizes.split(",")]
    ratios = {}
    path = "loopback TCP" if args.tcp else "Unix sockets" if args.socket else "shared memory"
    print(f"bdl same-host data path: {path}; gloo: TCP loopback; bdl owners' update: {args.update}", flush=True)
    print(f"{'round':>5} {'world':>5} {'floats':>10} {'wire':>5} {'bdl ms':>10} {'gloo ms':>10} {'bdl GB/s':>9} "
          f"{'gloo/bdl':>9}   ({args.stat})")
    def probe(when):
        if args.probe:
            lines = subprocess.run([args.probe, "--seconds", "0.5"], check=True, capture_output=True,
                                   text=True).stdout.strip().splitlines()
            print(f"      memory {when}: {lines[-1].split(' s ', 1)[-1].strip()}  (ms, 12.5M floats per CPU)", flush=True)

    for rnd in range(args.rounds):
        probe("before")
        out = subprocess.run(
            [args.bench, "--sizes", args.sizes, "--worlds", args.worlds, "--wires", "f32,bf16",
             "--iters", str(args.iters), "--warmup", str(args.warmup), "--stat", args.stat, "--json"]
            + (["--tcp"] if args.tcp else []) + (["--socket"] if args.socket else [])
            + (["--each-chunk"] if args.each_chunk else []) + ["--update", args.update],
            check=True, capture_output=True, text=True).stdout
        probe("after ")
        bdl = {(r["world"], r["floats"], r["wire"]): r["seconds"] for r in json.loads(out)}
        for world in worlds:
            for floats in sizes:
                gloo = run_gloo(world, floats, args.warmup, args.iters, args.stat)
                for wire in ("f32", "bf16"):
                    ours = bdl[(world, floats, wire)]
                    ratios.setdefault((world, floats, wire), []).append(gloo / ours)
                    print(f"{rnd:>5} {world:>5} {floats:>10} {wire:>5} {ours * 1e3:>10.2f} {gloo * 1e3:>10.2f} "
                          f"{floats * 4 / ours / 1e9:>9.2f} {gloo / ours:>9.2f}", flush=True)
    if args.rounds > 1:
        print("median gloo/bdl over the rounds:")
        for (world, floats, wire), r in ratios.items():
            print(f"  W={world} {floats} {wire}: {statistics.median(r):.2f} (range {min(r):.2f}-{max(r):.2f})")


if __name__ == "__main__":
    main()
