#!/usr/bin/env python3
"""Writes a realistic, valid BDL file of exactly LINES lines (default 10,000).

The file is made of numbered "families", each like a small real project:
layer defs with typed parameters and defaults, a block with an unrolled loop
and a training-only branch, a def with two results, a model that calls them,
a data pipeline with lambdas, and a train job with every clause. Comments sit
between and beside the code. Output is deterministic for a given --seed.

  gen_large_bdl.py [--lines 10000] [--seed 1] > big.bdl
"""
import argparse
import random
import sys

ACTS = ["relu", "tanh", "sigmoid", "gelu", "elu", "softplus", "identity"]
INITS = ["glorot_uniform()", "glorot_normal()", "he_uniform()", "he_normal()",
         "normal(0.0, 0.02)", "uniform(-0.1, 0.1)"]
OPTIMIZERS = ["sgd(lr = {lr}, momentum = 0.9, weight_decay = 0.0001)",
              "adam(lr = {lr}, beta1 = 0.9, beta2 = 0.999, eps = 1e-8)",
              "adamw(lr = {lr}, weight_decay = 0.01)", "rmsprop(lr = {lr}, rho = 0.9)"]


def family(k, rng):
    """One family of declarations; returns its lines."""
    width = rng.choice([64, 128, 256, 512])
    act = rng.choice(ACTS)
    init = rng.choice(INITS)
    depth = rng.randint(2, 6)
    classes = rng.choice([2, 3, 10, 100])
    features = rng.choice([4, 16, 784, 3072])
    lr = rng.choice(["0.1", "0.01", "0.001", "3e-4"])
    out = []
    add = out.append

    add(f"// ---- family {k}: a {depth}-block residual MLP of width {width} ----")
    add("")
    add(f"// A dense layer with a learnable scale (family {k}).")
    add(f"def ScaledDense{k}(x: f32[N, I], units: int, act: fn = {act}, scale: float = 1.0) -> f32[N, units] {{")
    add(f"  param W: f32[I, units] = {init}")
    add(f"  param b: f32[units] = zeros()")
    add(f"  param g: f32[units] = ones()")
    add(f"  h = x @ W + b  // affine part")
    add(f"  return act(h * g * scale)")
    add("}")
    add("")
    add(f"/* A residual block: two dense layers, layer norm, dropout while")
    add(f"   training. Block {k} keeps the width of its input. */")
    add(f"def Block{k}(x: f32[N, D], hidden: int = {width * 2}, p: float = 0.1) -> f32[N, D] {{")
    add(f"  param gamma: f32[D] = ones()")
    add(f"  param beta: f32[D] = zeros()")
    add(f"  state steps: i64[1] = zeros()")
    add(f"  mu = mean(x, axis = -1, keepdims = true)")
    add(f"  centered = x - mu")
    add(f"  var = mean(centered * centered, axis = -1, keepdims = true)")
    add(f"  normed = centered * rsqrt(var + 1e-5) * gamma + beta")
    add(f"  up = ScaledDense{k}(normed, hidden, act = gelu)")
    add(f"  down = ScaledDense{k}(up, D, act = identity, scale = 0.5)")
    add(f"  if training {{")
    add(f"    steps <- steps + 1")
    add(f"    return x + dropout(down, p)")
    add(f"  }} else {{")
    add(f"    return x + down")
    add(f"  }}")
    add("}")
    add("")
    add(f"// Two heads over one trunk: class scores and a confidence.")
    add(f"def Heads{k}(h: f32[N, D], classes: int) -> (f32[N, classes], f32[N]) {{")
    add(f"  logits = ScaledDense{k}(h, classes, act = identity)")
    add(f"  conf = sigmoid(sum(logits * logits, axis = 1) / classes - 1.0)")
    add(f"  return logits, conf")
    add("}")
    add("")
    add(f"model Net{k}(x: f32[N, {features}]) -> f32[N, {classes}] {{")
    add(f"  h = ScaledDense{k}(x, {width})")
    add(f"  for i in 0..{depth} {{")
    add(f"    h = Block{k}(h, hidden = {width * 2}, p = {rng.choice(['0.0', '0.1', '0.2'])})")
    add(f"  }}")
    add(f"  if {rng.choice(['true', 'false'])} && {depth} > 3 {{")
    add(f"    h = relu(h) * 0.5")
    add(f"  }}")
    add(f"  normed = nn.LayerNorm(h)")
    add(f"  logits, conf = Heads{k}(normed, {classes})")
    add(f"  return logits * reshape(conf, [-1, 1]) + logits[:, 0:{classes}]")
    add("}")
    add("")
    add(f"pipeline Train{k}(path: str = \"/data/family{k}/train.csv\", seed: int = {k}) =")
    add(f"  csv(path, features = [{', '.join(str(i) for i in range(min(features, 4)))}], label = \"y\", header = true)")
    add(f"  |> map(features => (features - {rng.random():.4f}) / {0.5 + rng.random():.4f})")
    add(f"  |> filter(label => label >= 0 && label < {classes})")
    add(f"  |> shuffle(buffer = {rng.choice([1000, 10000, 60000])}, seed = seed)")
    add(f"  |> batch({rng.choice([32, 64, 128, 256])}, drop_last = true)")
    add(f"  |> prefetch(2)")
    add("")
    add(f"pipeline Test{k}(path: str = \"/data/family{k}/test.csv\") =")
    add(f"  csv(path, features = [0, 1, 2, 3], label = \"y\", header = true)")
    add(f"  |> batch(1000)")
    add("")
    add(f"train Job{k} {{")
    add(f"  data       = Train{k}()")
    add(f"  logits     = Net{k}(features)")
    add(f"  loss       = cross_entropy(logits, label) + 0.0001 * mean(logits * logits)")
    add(f"  optimizer  = {rng.choice(OPTIMIZERS).format(lr=lr)}")
    add(f"  schedule   = warmup(steps = 500, then = cosine(total = {rng.randint(5, 50)} epochs))")
    add(f"  stop       = {rng.randint(2, 20)} epochs")
    add(f"  validate   = Test{k}() every 1 epoch with [accuracy(logits, label), top_k(logits, label, 5), loss]")
    add(f"  checkpoint = \"ckpt/job{k}\" every {rng.randint(100, 1000)} iterations keep 3")
    add(f"  seed       = {rng.randint(0, 10**6)}")
    add("}")
    add("")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    lines = [f"// Generated by bench/frontend/gen_large_bdl.py --lines {args.lines} --seed {args.seed}.",
             "// A benchmark input for the front end: many families of defs, models,",
             "// pipelines and train jobs. Do not edit; regenerate.",
             "import std.nn",
             ""]
    k = 0
    while True:
        block = family(k, rng)
        if len(lines) + len(block) > args.lines:
            break
        lines += block
        k += 1
    filler = args.lines - len(lines)
    lines += [f"// padding to {args.lines} lines ({i + 1} of {filler})" for i in range(filler)]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
