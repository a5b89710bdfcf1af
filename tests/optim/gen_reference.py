#!/usr/bin/env python3
"""Writes tests/optim/reference.json: PyTorch 1.13 reference values for
runtime/optim's optimizers, schedules and gradient clipping, so the C++ tests
compare against torch without needing it.

Run from the repository root with Debian's python3-torch:
    /usr/bin/python3 tests/optim/gen_reference.py
Optimizer arguments are written in BDL spelling (the C++ test feeds them to
makeOptimizerConfig); TORCH_ARGS below maps them to torch's keywords.
"""
import json
import math
import os
import sys

import warnings

import torch

# SequentialLR steps its inner scheduler with an explicit epoch at the
# milestone, which torch 1.13 warns about; the closed form it then uses is
# what BDL's warmup matches.
warnings.filterwarnings("ignore", message="The epoch parameter")

assert torch.__version__.startswith("1.13"), torch.__version__
torch.set_num_threads(1)

STEPS = 10
SIZES = [37, 1, 0]

OPTIMIZER_CASES = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.001}),
    ("sgd", {"lr": 0.1, "momentum": 0.5, "dampening": 0.5, "weight_decay": 0.01, "maximize": True}),
    ("adam", {}),
    ("adam", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}),
    ("adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("adam", {"lr": 0.01, "amsgrad": True}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05, "maximize": True}),
    ("adamw", {}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.0, "beta1": 0.5}),
    ("adamw", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.2}),
    ("adagrad", {}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("adagrad", {"lr": 0.1, "weight_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-6}),
    ("adagrad", {"lr": 0.1, "maximize": True}),
    ("rmsprop", {}),
    ("rmsprop", {"lr": 0.01, "rho": 0.9}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9}),
    ("rmsprop", {"lr": 0.01, "centered": True}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.01, "eps": 1e-6}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.95, "maximize": True}),
]

# Cases whose learning rate changes every step (as a schedule would set it).
VARYING_LR_CASES = [
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("adam", {"lr": 0.01}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
]
VARYING_LRS = [0.1 * (0.8 ** k) * (1 + (k % 3)) for k in range(STEPS)]

TORCH_CLASS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
}
STATE_KEYS = ["momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "sum", "square_avg", "grad_avg"]


def torch_args(args):
    out = {}
    betas = [None, None]
    for k, v in args.items():
        if k == "beta1":
            betas[0] = v
        elif k == "beta2":
            betas[1] = v
        elif k == "rho":
            out["alpha"] = v
        else:
            out[k] = v
    if betas != [None, None]:
        out["betas"] = (0.9 if betas[0] is None else betas[0], 0.999 if betas[1] is None else betas[1])
    return out


def f32list(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def make_inputs(size, seed):
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(size, generator=g, dtype=torch.float32)
    grads = []
    for step in range(STEPS):
        scale = [1.0, 0.01, 10.0, 0.5, 1e-4][step % 5]
        gr = torch.randn(size, generator=g, dtype=torch.float32) * scale
        if size > 3:
            gr[step % size] = 0.0  # an exactly-zero gradient element
        grads.append(gr)
    return weights, grads


def run_optimizer(name, args, weights, grads, lrs):
    param = torch.nn.Parameter(weights.clone())
    opt = TORCH_CLASS[name]([param], **torch_args(args))
    trajectory = []
    for step in range(STEPS):
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs[step]
        param.grad = grads[step].clone()
        opt.step()
        trajectory.append(f32list(param))
    state = opt.state[param]
    buffers = {k: f32list(state[k]) for k in STATE_KEYS if k in state and state[k] is not None}
    step = state.get("step")
    return trajectory, buffers, (int(step.item()) if torch.is_tensor(step) else None)


def optimizer_reference():
    inputs = {}
    cases = []
    for size in SIZES:
        weights, grads = make_inputs(size, seed=1000 + size)
        inputs[str(size)] = {"weights": f32list(weights), "grads": [f32list(g) for g in grads]}
        for varying, table in ((False, OPTIMIZER_CASES), (True, VARYING_LR_CASES)):
            if varying and size != 37:
                continue
            for name, args in table:
                lrs = VARYING_LRS if varying else None
                trajectory, buffers, step = run_optimizer(name, args, weights, grads, lrs)
                case = {"optimizer": name, "args": args, "size": size,
                        "weights_after_step": trajectory if size == 37 else trajectory[-1:],
                        "state": buffers}
                if lrs is not None:
                    case["lrs"] = lrs
                if step is not None:
                    case["torch_step"] = step
                cases.append(case)
    return inputs, cases


# ---- schedules -------------------------------------------------------------
# Each spec is written as the C++ test builds it: {kind, count, unit, gamma,
# eta_min, then}; `torch_make(opt)` builds the torch equivalent and `per` says
# whether torch steps it per "epoch" or per "iteration".
BASE_LR = 0.1
ITERS_PER_EPOCH = 4
TOTAL_ITERS = 30


def spec(kind, count=0, unit="epochs", gamma=1.0, eta_min=0.0, then=None):
    s = {"kind": kind, "count": count, "unit": unit, "gamma": gamma, "eta_min": eta_min}
    if then is not None:
        s["then"] = then
    return s


def torch_scheduler(s, opt):
    S = torch.optim.lr_scheduler
    k = s["kind"]
    if k == "constant":
        return S.LambdaLR(opt, lambda t: 1.0)
    if k == "step_lr":
        return S.StepLR(opt, step_size=s["count"], gamma=s["gamma"])
    if k == "exponential":
        return S.ExponentialLR(opt, gamma=s["gamma"])
    if k == "cosine":
        return S.CosineAnnealingLR(opt, T_max=s["count"], eta_min=s["eta_min"])
    if k == "warmup":
        steps = s["count"]
        linear = S.LinearLR(opt, start_factor=1.0 / steps, end_factor=1.0, total_iters=steps - 1)
        inner = torch_scheduler(s["then"], opt)
        return S.SequentialLR(opt, [linear, inner], milestones=[steps])
    raise ValueError(k)


def steps_per(s):
    return "epochs" if s["kind"] == "exponential" else s["unit"]


SCHEDULE_CASES = [
    spec("constant"),
    spec("step_lr", 2, "epochs", gamma=0.5),
    spec("step_lr", 5, "iterations", gamma=0.1),
    spec("cosine", 7, "epochs"),
    spec("cosine", 29, "iterations", eta_min=0.001),
    spec("exponential", gamma=0.9),
    spec("warmup", 5, "iterations", then=spec("cosine", 25, "iterations")),
    spec("warmup", 3, "iterations", then=spec("constant")),
    spec("warmup", 4, "iterations", then=spec("step_lr", 3, "iterations", gamma=0.5)),
    spec("warmup", 2, "epochs", then=spec("step_lr", 2, "epochs", gamma=0.5)),
    spec("warmup", 2, "epochs", then=spec("exponential", gamma=0.8)),
    spec("warmup", 3, "epochs", then=spec("cosine", 4, "epochs", eta_min=0.01)),
]


def schedule_reference():
    out = []
    for s in SCHEDULE_CASES:
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=BASE_LR)
        sched = torch_scheduler(s, opt)
        per = steps_per(s) if s["kind"] != "warmup" else s["unit"]
        lrs = []
        for it in range(TOTAL_ITERS):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if per == "iterations" or (it + 1) % ITERS_PER_EPOCH == 0:
                sched.step()
        out.append({"schedule": s, "lrs": lrs})
    return {"base_lr": BASE_LR, "iterations_per_epoch": ITERS_PER_EPOCH, "cases": out}


# ---- gradient clipping -----------------------------------------------------
def clip_reference():
    g = torch.Generator().manual_seed(7)
    flat = torch.randn(37, generator=g) * 0.7
    out = {"grads": f32list(flat), "split": [10, 27], "norm_cases": [], "value_cases": []}
    for max_norm in (1.0, 100.0, 1e-3):
        params = [torch.nn.Parameter(torch.zeros(n)) for n in out["split"]]
        for p, piece in zip(params, torch.split(flat, out["split"])):
            p.grad = piece.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm)
        out["norm_cases"].append({"max_norm": max_norm, "total_norm": float(total),
                                  "clipped": f32list(torch.cat([p.grad for p in params]))})
    for clip in (0.5, 0.0, 10.0):
        p = torch.nn.Parameter(torch.zeros(37))
        p.grad = flat.clone()
        torch.nn.utils.clip_grad_value_([p], clip)
        out["value_cases"].append({"clip": clip, "clipped": f32list(p.grad)})
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    inputs, cases = optimizer_reference()
    data = {
        "generator": "tests/optim/gen_reference.py",
        "torch_version": torch.__version__,
        "steps": STEPS,
        "inputs": inputs,
        "optimizer_cases": cases,
        "schedules": schedule_reference(),
        "clipping": clip_reference(),
    }
    path = os.path.join(here, "reference.json")
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}: {len(cases)} optimizer cases, {len(SCHEDULE_CASES)} schedules", file=sys.stderr)


if __name__ == "__main__":
    main()
