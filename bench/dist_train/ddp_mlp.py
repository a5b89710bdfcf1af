#!/usr/bin/env python3
"""PyTorch DDP peer of `bdlc train --workers 2`: the LANGUAGE.md MLP
(784-256-128-10) on Fashion-MNIST, global batch 128 split over the ranks,
SGD lr 0.1 momentum 0.9, gloo backend on loopback, one thread per rank.
Prints steady-state samples/s (iterations after the first 20)."""
import gzip, os, sys, time
import numpy as np
import torch, torch.distributed as dist, torch.multiprocessing as mp

DIR = "/usr/share/datasets/fashion-mnist"

def load():
    with gzip.open(os.path.join(DIR, "train-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32)
    with gzip.open(os.path.join(DIR, "train-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return torch.from_numpy((x / 255.0 - 0.2860) / 0.3530), torch.from_numpy(y)

def worker(rank, world, iterations, port, out):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(42)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    x, y = load()
    g = torch.Generator().manual_seed(7)
    order = torch.randperm(len(y), generator=g)
    share = 128 // world
    start = None
    for it in range(iterations):
        if it == 20:
            start = time.perf_counter()
        idx = order[(it * 128 + rank * share) % len(y):][:share]
        loss = torch.nn.functional.cross_entropy(ddp(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    if rank == 0:
        out.put((iterations - 20) * 128 / seconds)
    dist.destroy_process_group()

def main():
    world = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 469
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    port = 29000 + os.getpid() % 1000
    procs = [ctx.Process(target=worker, args=(r, world, iterations, port, q)) for r in range(world)]
    for p in procs:
        p.start()
    rate = q.get()
    for p in procs:
        p.join()
    print(f"{rate:.0f}")

if __name__ == "__main__":
    main()
