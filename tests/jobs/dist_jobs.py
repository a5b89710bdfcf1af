#!/usr/bin/env python3
"""Distributed training end to end: bdlc train --workers W, bdlc worker under
mpirun, faults. One case per invocation: dist_jobs.py --bdlc PATH --case NAME
--work DIR. Exit 0 pass, 1 fail, 77 skipped (ctest SKIP_RETURN_CODE)."""
import argparse, json, os, random, shutil, signal, subprocess, sys, time, zipfile

JOB = """
model Net(x: f32[N, 32]) -> f32[N, 8] {{
  param W1: f32[32, 64] = glorot_uniform()
  param b1: f32[64] = zeros()
  param W2: f32[64, 8] = glorot_uniform()
  param b2: f32[8] = zeros()
  return relu(x @ W1 + b1) @ W2 + b2
}}

pipeline Data(n: int = 4096) =
  synthetic(shape = [32], classes = 8, count = n, seed = 5, noise = 4.0)
  |> shuffle(buffer = 1024, seed = 3)
  |> batch(64)

train Job {{
  data       = Data()
  logits     = Net(x)
  loss       = cross_entropy(logits, label)
  optimizer  = sgd(lr = 0.05, momentum = 0.9)
  stop       = {stop}
  checkpoint = "{ckpt}" every {every} iterations keep 3
  seed       = 11
}}
"""

class Fail(Exception):
    pass

def expect(cond, msg, r=None):
    if not cond:
        if r is not None:
            msg += f"\n--- exit {r.returncode}\n--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-3000:]}"
        raise Fail(msg)

def write_job(work, name, stop="100 iterations", every=25, ckpt="ckpt"):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(JOB.format(stop=stop, every=every, ckpt=os.path.join(work, ckpt)))
    return path

def run(args, timeout=120, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=e)

def losses(path):
    with open(path) as f:
        return [json.loads(l)["loss"] for l in f if '"train"' in l]

def params(ckpt_root):
    import numpy as np
    steps = sorted(d for d in os.listdir(ckpt_root) if d.startswith("step-"))
    with np.load(os.path.join(ckpt_root, steps[-1], "params.npz")) as z:
        return {k: z[k].copy() for k in z.files}

def train(bdlc, job, work, tag, extra=(), env=None, timeout=120):
    metrics = os.path.join(work, tag + ".jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    r = run([bdlc, "train", job, "--metrics", metrics, *extra], timeout=timeout, env=env)
    return r, metrics

def case_workers_agree(a):
    """W = 1, 2 and 4 give losses within 1e-4 relative after 100 iterations."""
    job = write_job(a.work, "job.bdl")
    results = {}
    for w in (1, 2, 4):
        shutil.rmtree(os.path.join(a.work, "ckpt"), ignore_errors=True)
        r, m = train(a.bdlc, job, a.work, f"w{w}", ["--workers", str(w), "--engine", a.engine])
        expect(r.returncode == 0, f"W={w} failed", r)
        results[w] = losses(m)
    base = results[1]
    expect(len(base) == 2, f"expected 2 logged losses, got {base}")
    for w in (2, 4):
        for x, y in zip(base, results[w]):
            expect(abs(x - y) <= 1e-4 * abs(x), f"W={w} loss {y} differs from W=1's {x} by more than 1e-4 relative")
    print("losses:", results)

def case_bit_identical(a):
    """The same job with W = 2 twice gives bit-identical parameters."""
    job = write_job(a.work, "job.bdl")
    got = []
    for i in range(2):
        shutil.rmtree(os.path.join(a.work, "ckpt"), ignore_errors=True)
        r, _ = train(a.bdlc, job, a.work, f"run{i}", ["--workers", "2", "--engine", a.engine])
        expect(r.returncode == 0, f"run {i} failed", r)
        got.append(params(os.path.join(a.work, "ckpt")))
    for k in got[0]:
        expect(got[0][k].tobytes() == got[1][k].tobytes(), f"{k} differs between two W=2 runs")

def case_mpirun(a):
    """bdlc worker under Debian's OpenMPI mpirun matches one process."""
    mpirun = shutil.which("mpirun")
    if not mpirun:
        print("mpirun not found")
        sys.exit(77)
    job = write_job(a.work, "job.bdl")
    r, m1 = train(a.bdlc, job, a.work, "single", ["--engine", a.engine])
    expect(r.returncode == 0, "single process failed", r)
    shutil.rmtree(os.path.join(a.work, "ckpt"), ignore_errors=True)
    port = random.randint(20000, 40000)
    m2 = os.path.join(a.work, "mpi.jsonl")
    r = run([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2", "-x", "BDL_JOB_TOKEN",
             "-x", f"BDL_COORDINATOR=127.0.0.1:{port}", a.bdlc, "worker", job, "--engine", a.engine,
             "--metrics", m2], env={"BDL_JOB_TOKEN": "mpi-test-token"}, timeout=120)
    expect(r.returncode == 0, "mpirun bdlc worker failed", r)
    for x, y in zip(losses(m1), losses(m2)):
        expect(abs(x - y) <= 1e-4 * abs(x), f"mpirun loss {y} differs from one process's {x}")

def wait_for_checkpoint(work, seconds=60):
    ckdir = os.path.join(work, "ckpt")
    deadline = time.time() + seconds
    while time.time() < deadline and not (os.path.isdir(ckdir) and
                                          any(d.startswith("step-") for d in os.listdir(ckdir))):
        time.sleep(0.05)

def rank_pid(job, rank):
    """The pid of the `bdlc worker` process of `job` with RANK=rank."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if f"RANK={rank}".encode() in env and b"worker" in cmd and job.encode() in cmd:
            return int(pid)
    return None

def case_stalled_worker(a):
    """A worker stopped with SIGSTOP: every rank ends within the timeout, the
    message names the silent rank, and no process is left behind."""
    job = write_job(a.work, "job.bdl", stop="100000 iterations", every=20)
    p = subprocess.Popen([a.bdlc, "train", job, "--workers", "2", "--engine", a.engine, "--timeout", "5"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_checkpoint(a.work)
    victim = rank_pid(job, 1)
    expect(victim is not None, "could not find rank 1's process")
    os.kill(victim, signal.SIGSTOP)
    start = time.time()
    out, err = p.communicate(timeout=90)
    took = time.time() - start
    expect(p.returncode != 0, "the job succeeded with a stalled worker")
    expect("rank 1" in err, "no message names rank 1:\n" + err)
    expect(took < 5 + 20, f"the job took {took:.1f} s to end after the stall (timeout 5 s)")
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", job], capture_output=True, text=True).stdout.strip()
    expect(left == "", "processes left running: " + left)
    print(f"ended {took:.1f} s after the stall")

def case_kill_restart(a):
    """SIGKILL a worker mid-run: with --max-restarts the job completes from its
    last checkpoint and ends where an unfaulted run ends; without, every rank
    exits with a message naming the failed rank."""
    job = write_job(a.work, "job.bdl", stop="400 iterations", every=20)
    r, _ = train(a.bdlc, job, a.work, "clean", ["--workers", "2", "--engine", a.engine])
    expect(r.returncode == 0, "unfaulted run failed", r)
    clean = params(os.path.join(a.work, "ckpt"))
    for restarts in (0, 1):
        shutil.rmtree(os.path.join(a.work, "ckpt"), ignore_errors=True)
        p = subprocess.Popen([a.bdlc, "train", job, "--workers", "2", "--engine", a.engine, "--max-restarts",
                              str(restarts), "--timeout", "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        # Wait for a checkpoint, then kill rank 1 (the worker whose RANK is 1).
        wait_for_checkpoint(a.work)
        victim = rank_pid(job, 1)
        expect(victim is not None, "could not find rank 1's process")
        os.kill(victim, signal.SIGKILL)
        out, err = p.communicate(timeout=90)
        if restarts == 0:
            expect(p.returncode != 0, "the job succeeded although a worker was killed")
            expect("rank 1" in err, "no message names rank 1:\n" + err)
        else:
            expect(p.returncode == 0, "the job did not complete after a restart:\n" + err)
            expect("restart 1 of 1" in err, "no restart was reported:\n" + err)
            got = params(os.path.join(a.work, "ckpt"))
            for k in clean:
                d = abs(got[k] - clean[k]).max()
                expect(d <= 1e-6 * max(1.0, abs(clean[k]).max()), f"{k} differs from the unfaulted run by {d}")
    # No worker is left behind.
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", job], capture_output=True, text=True).stdout.strip()
    expect(left == "", "processes left running: " + left)

def case_wrong_token(a):
    """A worker without the job's token is refused; both sides say why."""
    job = write_job(a.work, "job.bdl")
    port = str(random.randint(20000, 40000))
    common = {"WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}
    r0 = subprocess.Popen([a.bdlc, "worker", job, "--timeout", "5"], env={**os.environ, **common, "RANK": "0",
                          "BDL_JOB_TOKEN": "right"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    r1 = run([a.bdlc, "worker", job, "--timeout", "5"], env={**common, "RANK": "1", "BDL_JOB_TOKEN": "wrong"},
             timeout=120)
    out0, err0 = r0.communicate(timeout=120)
    expect(r1.returncode != 0 and r0.returncode != 0, "a wrong token did not stop the job", r1)
    expect("token" in (r1.stderr + err0).lower(), "no message mentions the token:\n" + r1.stderr + err0)

def case_mismatched_program(a):
    """Workers that compiled different programs refuse to train together."""
    job = write_job(a.work, "job.bdl")
    other = write_job(a.work, "other.bdl", stop="101 iterations")
    port = str(random.randint(20000, 40000))
    common = {"WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "BDL_JOB_TOKEN": "t"}
    r0 = subprocess.Popen([a.bdlc, "worker", job, "--timeout", "5"], env={**os.environ, **common, "RANK": "0"},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    r1 = run([a.bdlc, "worker", other, "--timeout", "5"], env={**common, "RANK": "1"}, timeout=120)
    out0, err0 = r0.communicate(timeout=120)
    expect(r1.returncode != 0 and r0.returncode != 0, "mismatched programs trained together", r1)
    expect("program" in (r1.stderr + err0).lower(), "no message names the program mismatch:\n" + r1.stderr + err0)

def case_resume_other_worker_count(a):
    """A checkpoint written by 2 workers resumes on 1 and ends where 2 end."""
    job = write_job(a.work, "job.bdl", stop="100 iterations", every=50)
    r, m2 = train(a.bdlc, job, a.work, "two", ["--workers", "2", "--engine", a.engine])
    expect(r.returncode == 0, "W=2 failed", r)
    end2 = params(os.path.join(a.work, "ckpt"))
    mid = os.path.join(a.work, "ckpt", "step-00000050")
    r, m1 = train(a.bdlc, job, a.work, "one", ["--resume", mid, "--engine", a.engine])
    expect(r.returncode == 0, "resuming on one worker failed", r)
    end1 = params(os.path.join(a.work, "ckpt"))
    for k in end2:
        d = abs(end1[k] - end2[k]).max()
        expect(d <= 1e-5 * max(1.0, abs(end2[k]).max()), f"{k}: resumed on 1 worker differs by {d}")

CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bdlc")
    p.add_argument("--case")
    p.add_argument("--work")
    p.add_argument("--engine", default="jit")
    p.add_argument("--list", action="store_true")
    a = p.parse_args()
    if a.list:
        print(";".join(CASES))
        return 0
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    try:
        CASES[a.case](a)
    except Fail as e:
        print("FAIL:", e)
        return 1
    print("ok")
    return 0

if __name__ == "__main__":
    sys.exit(main())
