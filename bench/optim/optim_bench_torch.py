#!/usr/bin/python3
"""torch's side of bench/optim: GB/s of one SGD-momentum and one Adam step over
a flat float32 parameter (25M by default), bytes counted as in OptimBench.cpp.

    /usr/bin/python3 bench/optim/optim_bench_torch.py [elements] [repeats] [threads]
"""
import sys
import time

import torch

n = int(sys.argv[1]) if len(sys.argv) > 1 else 25_000_000
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.set_num_threads(threads)


def bench(label, make, bytes_per_element, foreach):
    p = torch.nn.Parameter((torch.arange(n, dtype=torch.float32) % 1000) * 1e-3)
    p.grad = (torch.arange(n, dtype=torch.float32) % 7) * 1e-2 - 0.03
    opt = make([p], foreach)
    opt.step()  # creates the state
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        opt.step()
        best = min(best, time.perf_counter() - t0)
    gb = n * bytes_per_element / 1e9
    print(f"torch {label:<13} {n} floats ({threads} thread{'s' if threads > 1 else ''}, "
          f"foreach={foreach}): best of {repeats} steps {best * 1e3:.2f} ms, {gb / best:.2f} GB/s")


for foreach in (False, True):
    bench("sgd-momentum", lambda ps, fe: torch.optim.SGD(ps, lr=0.01, momentum=0.9, foreach=fe), 5 * 4, foreach)
    bench("adam", lambda ps, fe: torch.optim.Adam(ps, lr=0.001, foreach=fe), 7 * 4, foreach)
