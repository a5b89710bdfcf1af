#!/usr/bin/python3
"""Reference values from PyTorch for the IR tests (tests/ir/ReferenceTest.cpp).

Writes tests/ir/data/ops.json (every op, forward and backward, at fixed
inputs) and tests/ir/data/models.json (loss and parameter gradients of the
MLP 784-256-128-10 and of LeNet-5 at fixed inputs and weights). The tests
read these files and never need PyTorch. Regenerate with:

    /usr/bin/python3 tests/ir/gen_reference.py

Each op case's scalar loss is sum(y * upstream) for a stored random
`upstream`, so the stored gradients are those of y weighted by it.
Model weights follow a closed formula (weight_value below) that the C++
test evaluates too, so only gradients are stored, sampled (see sample()).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(1)
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def tensor_json(t):
    return {"dtype": {torch.float32: "f32", torch.float64: "f64", torch.int64: "i64",
                      torch.bool: "bool"}[t.dtype],
            "shape": list(t.shape), "values": [float(v) for v in t.detach().flatten().tolist()]}


def rand(*shape, lo=-1.0, hi=1.0, away=False):
    t = torch.rand(tuple(shape)) * (hi - lo) + lo
    if away:  # keep values off kinks (relu, abs, max)
        t = torch.where(t.abs() < 0.15, t.sign() * 0.15 + t, t)
        t = torch.where(t == 0, torch.full_like(t, 0.2), t)
    return t


cases = []


def case(name, fn, *inputs, differentiable=True):
    """inputs: (name, tensor); float tensors are differentiated."""
    leaves = []
    for n, t in inputs:
        t = t.clone()
        if differentiable and t.dtype.is_floating_point:
            t.requires_grad_(True)
        leaves.append((n, t))
    y = fn(*[t for _, t in leaves])
    entry = {"name": name, "inputs": [dict(name=n, **tensor_json(t)) for n, t in leaves],
             "output": tensor_json(y)}
    if differentiable:
        upstream = rand(*y.shape)
        (y * upstream).sum().backward()
        entry["upstream"] = tensor_json(upstream)
        entry["grads"] = {n: tensor_json(t.grad if t.grad is not None else torch.zeros_like(t))
                          for n, t in leaves if t.dtype.is_floating_point}
    cases.append(entry)


x35 = ("x", rand(3, 5, away=True))
pos = ("x", rand(3, 5, lo=0.2, hi=2.0))
case("neg", torch.neg, x35)
case("exp", torch.exp, x35)
case("log", torch.log, pos)
case("sqrt", torch.sqrt, pos)
case("rsqrt", torch.rsqrt, pos)
case("abs", torch.abs, x35)
case("tanh", torch.tanh, x35)
case("sigmoid", torch.sigmoid, x35)
case("relu", torch.relu, x35)
case("leaky_relu", lambda x: F.leaky_relu(x, 0.1), x35)
case("elu", lambda x: F.elu(x, 0.7), x35)
case("gelu", F.gelu, ("x", rand(3, 5, lo=-3, hi=3)))
case("softplus", F.softplus, ("x", rand(3, 5, lo=-4, hi=4)))
case("cast", lambda x: x.to(torch.int64), ("x", rand(2, 3, lo=-5, hi=5)), differentiable=False)

a = ("a", rand(3, 1, 4))
b = ("b", rand(2, 4, away=True))
case("add", torch.add, a, b)
case("sub", torch.sub, a, b)
case("mul", torch.mul, a, b)
case("div", torch.div, a, ("b", rand(2, 4, lo=0.5, hi=2.0)))
case("pow", torch.pow, ("a", rand(3, 1, 4, lo=0.3, hi=2.0)), b)
case("maximum", torch.maximum, a, b)
case("minimum", torch.minimum, a, b)
for name, fn in [("less", torch.lt), ("less_equal", torch.le), ("greater", torch.gt),
                 ("greater_equal", torch.ge), ("equal", torch.eq), ("not_equal", torch.ne)]:
    case(name, fn, ("a", torch.tensor([[1.0, 2.0, 3.0]])), ("b", torch.tensor([[2.0], [1.0]])),
         differentiable=False)
case("where", lambda c, a, b: torch.where(c, a, b), ("c", rand(3, 4) > 0), ("a", rand(3, 4)),
     ("b", rand(4)))

case("matmul", torch.matmul, ("a", rand(2, 3, 4)), ("b", rand(4, 5)))
case("matmul_broadcast", torch.matmul, ("a", rand(2, 1, 3, 4)), ("b", rand(3, 4, 2)))
case("transpose", lambda x: x.permute(2, 0, 1), ("x", rand(2, 3, 4)))
case("reshape", lambda x: x.reshape(3, -1, 2), ("x", rand(2, 6)))
case("flatten", lambda x: torch.flatten(x, 1), ("x", rand(2, 3, 4)))
case("concat", lambda a, b: torch.cat([a, b], 1), ("a", rand(2, 3)), ("b", rand(2, 2)))
case("slice", lambda x: x[:, 2:5], ("x", rand(3, 7)))
case("one_hot", lambda l: F.one_hot(l, 5).float(), ("labels", torch.tensor([4, 0, 2])),
     differentiable=False)

case("sum", lambda x: x.sum(dim=(0, 2)), ("x", rand(3, 4, 5)))
case("mean", lambda x: x.mean(dim=1, keepdim=True), ("x", rand(3, 4)))
case("max", lambda x: x.amax(dim=1), ("x", rand(4, 5)))
case("min", lambda x: x.amin(dim=(0, 1), keepdim=True), ("x", rand(4, 2, 3)))
case("softmax", lambda x: torch.softmax(x, -1), ("x", rand(3, 5, lo=-2, hi=2)))
case("log_softmax", lambda x: torch.log_softmax(x, 0), ("x", rand(3, 5, lo=-2, hi=2)))
case("argmax", lambda x: torch.argmax(x, 1), ("x", rand(3, 5)), differentiable=False)

case("conv2d", lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2)),
     ("x", rand(2, 3, 7, 6)), ("w", rand(4, 3, 3, 2)))
case("conv2d_wide", lambda x, w: F.conv2d(x, w, stride=(1, 3), padding=(0, 2), dilation=(2, 1)),
     ("x", rand(2, 2, 5, 8)), ("w", rand(3, 2, 2, 3)))
case("conv2d_groups", lambda x, w: F.conv2d(x, w, groups=2), ("x", rand(1, 4, 5, 5)),
     ("w", rand(6, 2, 3, 3)))
case("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1), ("x", rand(2, 3, 7, 6)))
case("avg_pool2d", lambda x: F.avg_pool2d(x, 2), ("x", rand(2, 3, 6, 7)))
case("avg_pool2d_pad", lambda x: F.avg_pool2d(x, 3, 2, 1), ("x", rand(1, 2, 5, 6)))
case("global_avg_pool", lambda x: x.mean(dim=(2, 3)), ("x", rand(2, 3, 4, 5)))
case("embedding", lambda ids, t: F.embedding(ids, t), ("ids", torch.tensor([[0, 4, 2], [2, 1, 4]])),
     ("table", rand(5, 4)))

labels = ("labels", torch.tensor([4, 0, 2]))
case("cross_entropy", F.cross_entropy, ("logits", rand(3, 5, lo=-2, hi=2)), labels)
case("nll", F.nll_loss, ("log_probs", torch.log_softmax(rand(3, 5), 1)), labels)
case("mse", F.mse_loss, ("pred", rand(3, 2)), ("target", rand(3, 2)))
case("bce_with_logits", F.binary_cross_entropy_with_logits, ("logits", rand(2, 3, lo=-3, hi=3)),
     ("target", rand(2, 3, lo=0, hi=1)))
case("accuracy", lambda x, l: (x.argmax(1) == l).float().mean(),
     ("logits", torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.3, 0.3, 0.4]])),
     ("labels", torch.tensor([1, 2, 2, 0])), differentiable=False)
case("top_k", lambda x, l: (x.topk(2, 1).indices == l[:, None]).any(1).float().mean(),
     ("logits", torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.15, 0.1], [0.2, 0.3, 0.5], [0.3, 0.2, 0.4]])),
     ("labels", torch.tensor([1, 2, 2, 1])), differentiable=False)


# --- Whole models -----------------------------------------------------------------


def weight_value(param_index, i, fan_in):
    """Deterministic weights; ReferenceTest.cpp computes the same formula."""
    return math.sin(0.37 * i + 1.3 * param_index + 0.5) / math.sqrt(fan_in)


def make_param(index, shape, fan_in):
    n = math.prod(shape)
    v = [weight_value(index, i, fan_in) for i in range(n)]
    return torch.tensor(v, dtype=torch.float64).to(torch.float32).reshape(shape).requires_grad_(True)


def input_value(i):
    return 0.8 * math.sin(0.11 * i + 0.3) + 0.2 * math.cos(0.017 * i)


def sample(values):
    """All values of small tensors; 256 spread-out ones of larger tensors."""
    n = len(values)
    idx = list(range(n)) if n <= 256 else sorted({(k * 7919) % n for k in range(256)})
    return {"indices": idx, "values": [values[i] for i in idx], "sum": sum(values),
            "max_abs": max(abs(v) for v in values)}


def model_entry(name, params, x, labels, forward):
    logits = forward(x, params)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    return {"name": name, "input_shape": list(x.shape), "labels": labels.tolist(),
            "loss": float(loss),
            "params": [{"name": n, "shape": list(p.shape), "fan_in": fan,
                        "grad": sample(p.grad.flatten().tolist())}
                       for (n, p, fan) in params]}


def dense_params(prefix_sizes, start):
    params = []
    for k, (name, fan_in, fan_out) in enumerate(prefix_sizes):
        idx = start + 2 * k
        params.append((name + ".W", make_param(idx, (fan_in, fan_out), fan_in), fan_in))
        params.append((name + ".b", make_param(idx + 1, (fan_out,), fan_in), fan_in))
    return params


batch = 4
labels4 = torch.tensor([3, 7, 0, 9])
x_mlp = torch.tensor([input_value(i) for i in range(batch * 784)], dtype=torch.float32).reshape(batch, 784)
mlp_params = dense_params([("h1", 784, 256), ("h2", 256, 128), ("out", 128, 10)], 0)


def mlp_forward(x, ps):
    p = {n: t for n, t, _ in ps}
    h = torch.relu(x @ p["h1.W"] + p["h1.b"])
    h = torch.relu(h @ p["h2.W"] + p["h2.b"])
    return h @ p["out.W"] + p["out.b"]


x_lenet = x_mlp.reshape(batch, 1, 28, 28)
lenet_params = [
    ("c1.W", make_param(0, (6, 1, 5, 5), 25), 25), ("c1.b", make_param(1, (6,), 25), 25),
    ("c2.W", make_param(2, (16, 6, 5, 5), 150), 150), ("c2.b", make_param(3, (16,), 150), 150),
] + dense_params([("f1", 400, 120), ("f2", 120, 84), ("out", 84, 10)], 4)


def lenet_forward(x, ps):
    p = {n: t for n, t, _ in ps}
    h = F.max_pool2d(torch.relu(F.conv2d(x, p["c1.W"], p["c1.b"], padding=2)), 2)
    h = F.max_pool2d(torch.relu(F.conv2d(h, p["c2.W"], p["c2.b"])), 2)
    h = torch.flatten(h, 1)
    h = torch.relu(h @ p["f1.W"] + p["f1.b"])
    h = torch.relu(h @ p["f2.W"] + p["f2.b"])
    return h @ p["out.W"] + p["out.b"]


models = [model_entry("mlp", mlp_params, x_mlp, labels4, mlp_forward),
          model_entry("lenet", lenet_params, x_lenet, labels4, lenet_forward)]

os.makedirs(DATA, exist_ok=True)
with open(os.path.join(DATA, "ops.json"), "w") as f:
    json.dump({"generator": "tests/ir/gen_reference.py", "torch": torch.__version__,
               "cases": cases}, f, separators=(",", ":"))
with open(os.path.join(DATA, "models.json"), "w") as f:
    json.dump({"generator": "tests/ir/gen_reference.py", "torch": torch.__version__,
               "models": models}, f, separators=(",", ":"))
print(f"{len(cases)} op cases, {len(models)} models written to {DATA}")
