#!/usr/bin/env python3
"""SIGKILL and resume (issue 4, "What it must show" item 2).

    kill_resume.py --bdlc BDLC --work-dir DIR [--engine jit|reference]
                   [--stages plain|prefetch|augment] [--kills 20] [--seed S]
                   [--job FILE --iterations N --every M --keep K]

1. Writes a small job (synthetic source, shuffle, an MLP with dropout, adam
   with warmup + cosine, clip_norm, validation, `checkpoint = "ckpt" every
   10 iterations keep 3`, 300 iterations) and trains it once without
   interruption (reference run, in DIR/straight).
2. Trains it again in DIR/killed, killing bdlc with SIGKILL at --kills random
   moments (seeded: the seed is printed; pass --seed to replay). Each restart
   uses `--resume ckpt` when a step-* directory exists, a fresh start
   otherwise. After every kill every step-* directory under the root must
   pass its manifest check (SHA-256 and size of params.npz, optimizer.npz and
   state.json as listed in manifest.json), checked here independently of
   bdlc. Once the kills are spent, the job runs to completion.
3. The final params.npz of both runs must agree within 1e-6 relative (the
   max difference is printed), and so must optimizer.npz; every loss and
   validation record of the killed run's --metrics JSONL must equal the
   straight run's record for the same iteration.

Plain Python (no NumPy): .npz is read with zipfile and the .npy header.
Exit 0: pass, 1: failure, 2: bad usage.
"""
import argparse
import ast
import hashlib
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile

ITERATIONS = 300
CHECKPOINT_EVERY = 10
KEEP = 3
FILES = ("params.npz", "optimizer.npz", "state.json")

JOB = """\
// Written by tests/train/kill_resume.py.
import std.nn

model Net(x: f32[N, 8]) -> f32[N, 4] {
  h = nn.Dense(x, 32, act = tanh)
  d = nn.Dropout(h, 0.3)
  return nn.Dense(d, 4, act = identity)
}

// 600 records in batches of 32: 18 full batches and one of 24 per epoch.
pipeline Train(n: int = 600, s: int = 5) =
  synthetic(shape = [8], classes = 4, count = n, seed = s, noise = 1.5)%(before)s
  |> shuffle(buffer = 600, seed = 3)
  |> batch(32)%(stages)s

train KillResume {
  data       = Train()
  logits     = Net(x)
  loss       = cross_entropy(logits, label)
  optimizer  = adam(lr = 0.01)
  schedule   = warmup(steps = 20 iterations, then = cosine(total = %(iterations)d iterations))
  clip       = clip_norm(1.0)
  stop       = %(iterations)d iterations
  validate   = Train(200, 5) every 100 iterations with [accuracy(logits, label), loss]
  checkpoint = "ckpt" every %(every)d iterations keep %(keep)d
  seed       = 11
}
"""

# --stages prefetch: the same job with a prefetch stage, whose background
# thread has batches in flight when the checkpoint is written.
# --stages augment: a compiled map, a random flip (the pipeline's own RNG)
# and a filter (epochs of unknown length) before the shuffle.
STAGES = {"plain": ("", ""), "prefetch": ("", "\n  |> prefetch(3)"),
          "augment": ("\n  |> map(x => x * 1.5)\n  |> random_flip(\"x\")\n  |> filter(label => label < 3)", "")}


def job_text(stages):
    return JOB % {"iterations": ITERATIONS, "every": CHECKPOINT_EVERY, "keep": KEEP, "before": STAGES[stages][0],
                 "stages": STAGES[stages][1]}


class Failure(Exception):
    pass


# ------------------------------------------------------------------ .npz

NPY_TYPES = {"<f4": ("f", 4), "<f8": ("d", 8), "<i4": ("i", 4), "<i8": ("q", 8), "|b1": ("?", 1)}


def parse_npy(data, name):
    if data[:6] != b"\x93NUMPY":
        raise Failure("%s: not a .npy array" % name)
    major = data[6]
    if major == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    else:
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    code, size = NPY_TYPES[header["descr"]]
    shape = tuple(header["shape"])
    count = 1
    for d in shape:
        count *= d
    body = data[start + hlen:start + hlen + count * size]
    return shape, list(struct.unpack("<%d%s" % (count, code), body))


def read_npz(path):
    out = {}
    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            name = member[:-4] if member.endswith(".npy") else member
            out[name] = parse_npy(z.read(member), "%s:%s" % (path, member))
    return out


def compare_npz(a_path, b_path, rel):
    """Returns (max abs difference, max relative difference); raises on a
    mismatch of names, shapes or values beyond `rel` (relative to the
    larger magnitude of the tensor)."""
    a, b = read_npz(a_path), read_npz(b_path)
    if sorted(a) != sorted(b):
        raise Failure("%s and %s hold different arrays: %s vs %s" % (a_path, b_path, sorted(a), sorted(b)))
    max_abs, max_rel = 0.0, 0.0
    for name in sorted(a):
        (sa, va), (sb, vb) = a[name], b[name]
        if sa != sb:
            raise Failure("%s: shape %s vs %s" % (name, sa, sb))
        scale = max([abs(x) for x in va + vb] + [1e-30])
        for x, y in zip(va, vb):
            d = abs(x - y)
            max_abs = max(max_abs, d)
            max_rel = max(max_rel, d / scale)
        if max_rel > rel:
            raise Failure("%s: '%s' differs by %.3g relative (limit %g)" % (b_path, name, max_rel, rel))
    return max_abs, max_rel


# ------------------------------------------------------------ checkpoints

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def checkpoint_dirs(root):
    if not os.path.isdir(root):
        return []
    names = [n for n in os.listdir(root) if n.startswith("step-")]
    return sorted(os.path.join(root, n) for n in names)


def manifest_problem(d):
    """The manifest check, independent of bdlc: None when sound."""
    try:
        with open(os.path.join(d, "manifest.json")) as f:
            manifest = json.load(f)
    except FileNotFoundError:
        return "manifest.json is missing"
    except ValueError as e:
        return "manifest.json is not JSON (%s)" % e
    if manifest.get("format") != "bdl-checkpoint/1" or not isinstance(manifest.get("files"), dict):
        return "manifest.json is not a bdl-checkpoint/1 manifest"
    for f in FILES:
        entry = manifest["files"].get(f)
        if entry is None:
            return "manifest.json does not list %s" % f
        p = os.path.join(d, f)
        if not os.path.isfile(p):
            return "%s is missing" % f
        if os.path.getsize(p) != entry.get("bytes"):
            return "%s has %d bytes, the manifest says %s" % (f, os.path.getsize(p), entry.get("bytes"))
        if sha256(p) != entry.get("sha256"):
            return "%s does not match its SHA-256" % f
    return None


def check_all(root, when):
    dirs = checkpoint_dirs(root)
    for d in dirs:
        problem = manifest_problem(d)
        if problem:
            raise Failure("%s: checkpoint %s fails its manifest check: %s" % (when, d, problem))
    return dirs


# ---------------------------------------------------------------- metrics

def read_metrics(path):
    """{(kind, iteration): record}; also the number of torn lines (a kill
    in the middle of a write), which are skipped."""
    records, torn = {}, 0
    if not os.path.exists(path):
        return records, torn
    with open(path) as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                torn += 1
                continue
            records.setdefault((r["kind"], r["iteration"]), []).append(r)
    return records, torn


VALUE_KEYS = ("loss", "lr", "accuracy", "epoch", "samples")


def compare_metrics(straight, killed, rel):
    compared, max_rel = 0, 0.0
    for key, runs in sorted(killed.items()):
        if key not in straight:
            raise Failure("killed run logged %s at iteration %d; the straight run did not" % key)
        want = straight[key][0]
        for got in runs:
            for k in VALUE_KEYS:
                if k not in want and k not in got:
                    continue
                a, b = want.get(k), got.get(k)
                if a is None or b is None:
                    raise Failure("%s %d: '%s' is %r in the straight run, %r after kills" % (key + (k, a, b)))
                d = abs(a - b) / max(abs(a), abs(b), 1e-30)
                max_rel = max(max_rel, d)
                if d > rel:
                    raise Failure("%s %d: '%s' is %r in the straight run, %r after kills" % (key + (k, a, b)))
                compared += 1
    missing = sorted(set(straight) - set(killed))
    if missing:
        raise Failure("the killed runs never logged %s" % missing)
    return compared, max_rel


# -------------------------------------------------------------------- runs

def command(args, resume):
    argv = [args.bdlc, "train", "job.bdl", "--engine", args.engine, "--metrics", "metrics.jsonl"]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    if resume:
        argv += ["--resume", "ckpt"]
    return argv


def run_straight(args, work):
    """The uninterrupted run; returns (seconds, seconds until the first
    checkpoint appeared)."""
    start = time.monotonic()
    log = open(os.path.join(work, "log.txt"), "wb")
    proc = subprocess.Popen(command(args, False), cwd=work, stdout=log, stderr=subprocess.STDOUT)
    first = None
    while proc.poll() is None:
        if first is None and checkpoint_dirs(os.path.join(work, "ckpt")):
            first = time.monotonic() - start
        time.sleep(0.005)
    seconds = time.monotonic() - start
    log.close()
    if proc.returncode != 0:
        raise Failure("the straight run failed (exit %d):\n%s" % (proc.returncode, open(log.name).read()))
    return seconds, first if first is not None else seconds


def final_checkpoint(work):
    path = os.path.join(work, "ckpt", "step-%08d" % ITERATIONS)
    if not os.path.isdir(path):
        raise Failure("%s is missing after the run: %s" % (path, checkpoint_dirs(os.path.join(work, "ckpt"))))
    problem = manifest_problem(path)
    if problem:
        raise Failure("%s: %s" % (path, problem))
    return path


def self_check(straight):
    """The checks above can fail: a flipped byte fails the manifest check,
    and the final parameters differ from the previous checkpoint's."""
    root = os.path.join(straight, "ckpt")
    dirs = checkpoint_dirs(root)
    if len(dirs) != KEEP:
        raise Failure("keep %d: the straight run left %d checkpoints: %s" % (KEEP, len(dirs), dirs))
    copy = os.path.join(straight, "corrupt-copy")
    shutil.copytree(dirs[-1], copy)
    with open(os.path.join(copy, "params.npz"), "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 1]))
    if manifest_problem(copy) is None:
        raise Failure("self-check: a flipped byte in params.npz passed the manifest check")
    shutil.rmtree(copy)
    try:
        compare_npz(os.path.join(dirs[-2], "params.npz"), os.path.join(dirs[-1], "params.npz"), 1e-6)
    except Failure:
        return
    raise Failure("self-check: %s and %s compare equal" % (dirs[-2], dirs[-1]))


def main():
    global ITERATIONS, CHECKPOINT_EVERY, KEEP
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bdlc", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--engine", default="jit", choices=("jit", "reference"))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--tolerance", type=float, default=1e-6)
    parser.add_argument("--stages", default="plain", choices=sorted(STAGES))
    parser.add_argument("--job", help="another job: it must stop after --iterations iterations and write "
                        "checkpoint = \"ckpt\" every --every iterations keep --keep")
    parser.add_argument("--iterations", type=int, default=ITERATIONS)
    parser.add_argument("--every", type=int, default=CHECKPOINT_EVERY)
    parser.add_argument("--keep", type=int, default=KEEP)
    args = parser.parse_args()
    ITERATIONS, CHECKPOINT_EVERY, KEEP = args.iterations, args.every, args.keep
    args.bdlc = os.path.abspath(args.bdlc)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    print("kill_resume: engine %s, stages %s, %d kills, seed %d (replay with --seed %d)" % (
        args.engine, args.stages, args.kills, seed, seed))
    sys.stdout.flush()
    rng = random.Random(seed)

    work = os.path.abspath(args.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    straight, killed = os.path.join(work, "straight"), os.path.join(work, "killed")
    for d in (straight, killed):
        os.makedirs(d)
        with open(os.path.join(d, "job.bdl"), "w") as f:
            f.write(open(args.job).read() if args.job else job_text(args.stages))

    try:
        total, first = run_straight(args, straight)
        print("straight run: %.2fs, first checkpoint after %.2fs" % (total, first))
        self_check(straight)
        # The kill moments: 20 seeded points spread over the run's
        # iterations. Kill k waits until the newest checkpoint has reached
        # its point (rounded down to a checkpoint step; immediately when
        # that is 0 or the job is already past it), then for a random
        # fraction of up to 1.5 checkpoint intervals' time, so it lands
        # during start-up, training, a checkpoint write or the exit.
        # Waiting on progress rather than wall time keeps the kills spread
        # over the whole run however loaded the machine is.
        interval = (total - first) / (ITERATIONS / CHECKPOINT_EVERY)
        targets = sorted(rng.uniform(0, ITERATIONS) for _ in range(args.kills))
        root = os.path.join(killed, "ckpt")
        kills, attempts, finished_early, restarts_fresh = 0, 0, 0, 0
        log_path = os.path.join(killed, "log.txt")
        while kills < args.kills:
            attempts += 1
            if attempts > args.kills * 5:
                raise Failure("%d attempts without %d kills" % (attempts, args.kills))
            target = int(targets[kills]) // CHECKPOINT_EVERY * CHECKPOINT_EVERY
            jitter = rng.uniform(0.0, first + 1.5 * interval if target == 0 else 1.5 * interval)
            resume = bool(checkpoint_dirs(root))
            restarts_fresh += 0 if resume else 1
            with open(log_path, "ab") as log:
                log.write(b"\n$ %s  (kill at step %d + %.3fs)\n" % (" ".join(command(args, resume)).encode(),
                                                                  target, jitter))
                log.flush()
                started = time.monotonic()
                proc = subprocess.Popen(command(args, resume), cwd=killed, stdout=log, stderr=subprocess.STDOUT)
                reached = None
                while proc.poll() is None:
                    now = time.monotonic()
                    if reached is None:
                        dirs = checkpoint_dirs(root)
                        step = int(os.path.basename(dirs[-1])[5:]) if dirs else 0
                        if step >= target:
                            reached = now
                    if reached is not None and now - reached >= jitter:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait()
                        break
                    time.sleep(0.002)
            moment = time.monotonic() - started
            if proc.returncode == -signal.SIGKILL:
                kills += 1
                dirs = check_all(root, "after kill %d (%.3fs)" % (kills, moment))
                newest = os.path.basename(dirs[-1]) if dirs else "none"
                print("kill %2d at %.3fs (step %3d + %.3fs): %d checkpoint(s) sound, newest %s" % (
                    kills, moment, target, jitter, len(dirs), newest))
            elif proc.returncode == 0:
                finished_early += 1  # the job was done before the kill; later runs resume a finished job
                check_all(root, "after a run that finished")
                print("run %d finished before its kill (%.3fs)" % (attempts, moment))
            else:
                raise Failure("run %d exited %d (not killed):\n%s" % (attempts, proc.returncode,
                                                                    open(log_path).read()[-4000:]))
        result = subprocess.run(command(args, bool(checkpoint_dirs(root))), cwd=killed, capture_output=True)
        with open(log_path, "ab") as log:
            log.write(b"\n$ final run\n" + result.stdout + result.stderr)
        if result.returncode != 0:
            raise Failure("the final resumed run failed (exit %d):\n%s" % (
                result.returncode, (result.stdout + result.stderr).decode("utf-8", "replace")))
        dirs = check_all(root, "after the final run")
        if len(dirs) != KEEP:
            raise Failure("keep %d: %d checkpoints after the final run: %s" % (KEEP, len(dirs), dirs))
        leftovers = [n for n in os.listdir(root) if not n.startswith("step-")]
        if leftovers:
            raise Failure("leftovers in %s after the final run: %s" % (root, leftovers))
        print("%d kills in %d runs (%d fresh starts, %d runs finished before their kill), then a final run" % (
            kills, attempts, restarts_fresh, finished_early))

        a, b = final_checkpoint(straight), final_checkpoint(killed)
        pa, pr = compare_npz(os.path.join(a, "params.npz"), os.path.join(b, "params.npz"), args.tolerance)
        oa, orel = compare_npz(os.path.join(a, "optimizer.npz"), os.path.join(b, "optimizer.npz"), args.tolerance)
        same = all(sha256(os.path.join(a, f)) == sha256(os.path.join(b, f)) for f in ("params.npz", "optimizer.npz"))
        print("final params.npz: max abs difference %.3g, max relative %.3g (limit %g)%s" % (
            pa, pr, args.tolerance, "; params.npz and optimizer.npz are bit-identical" if same else ""))
        print("final optimizer.npz: max abs difference %.3g, max relative %.3g" % (oa, orel))
        sa = json.load(open(os.path.join(a, "state.json")))
        sb = json.load(open(os.path.join(b, "state.json")))
        for k in ("epoch", "iteration", "epoch_iteration", "pipeline", "recent_losses", "learning_rate"):
            if sa.get(k) != sb.get(k):
                raise Failure("state.json '%s' differs: %r vs %r" % (k, sa.get(k), sb.get(k)))

        ms, _ = read_metrics(os.path.join(straight, "metrics.jsonl"))
        mk, torn = read_metrics(os.path.join(killed, "metrics.jsonl"))
        compared, mrel = compare_metrics(ms, mk, args.tolerance)
        print("metrics: %d values of %d records compared with the straight run, max relative difference %.3g%s" % (
            compared, sum(len(v) for v in mk.values()), mrel,
            ", %d torn line(s) skipped" % torn if torn else ""))
    except Failure as failure:
        print("FAIL kill_resume (seed %d, engine %s)\n%s" % (seed, args.engine, failure))
        print("logs: %s" % work)
        return 1
    print("ok kill_resume")
    return 0


if __name__ == "__main__":
    sys.exit(main())
