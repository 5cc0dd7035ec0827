#!/usr/bin/python3
"""Where the milliseconds of one training update go, by category, for the Python reference and
trellis side by side.

  /usr/bin/python3 bench/profile_train_step.py ref OUT.json [ref_train_step.py flags]
      runs ../shared/bench/ref_train_step.py as it is (imported, its main() called) under
      torch.autograd.profiler with scopes added around the model's forward, the backward,
      clip_grad_norm_ and (PyTorch's own) Optimizer.step, for the updates after --warmup-steps;
      writes the chrome trace and OUT.json.flops (FLOPs per operator name, from the profiler).
  /usr/bin/python3 bench/profile_train_step.py table REF.json TRELLIS.json [--steps N]
      TRELLIS.json: build/bin/bench_train_step --profile (same flags). Prints the table: self time
      per update of every category, both sides, and the matmul GFLOP/s.

bench/run_profile.sh runs both and the table. Self time = time inside an operator minus the
operators it calls. An operator belongs to the scope around it: forward, backward (split by the
autograd node running it: MmBackward0 is matmul backward), gradient clipping, optimizer step,
all-reduce; inside forward and backward it is classed by its name (CATEGORIES)."""
import argparse
import collections
import importlib.util
import json
import os
import re
import sys

CATEGORIES = [  # (category, regex on the operator or autograd node name), first match wins
    ("matmul", r"\b(mm|addmm|bmm|baddbmm|matmul|linear|Mm|Addmm|Bmm|Baddbmm)(Backward\d*)?$"),
    ("convolution", r"conv|Convolution"),
    ("softmax / log_softmax", r"softmax|Softmax"),
    ("CTC loss", r"ctc|Ctc"),
    ("group norm, weight norm (wav2vec2)", r"group_norm|GroupNorm|weight_norm|WeightNorm"),  # none in the conformer
    ("layer/batch norm", r"layer_norm|batch_norm|LayerNorm|BatchNorm"),
    ("dropout (+ fused ops)", r"dropout|bernoulli|Dropout|Bernoulli|uniform_|rand"),
    ("activations (GLU, Swish, ReLU, sigmoid)", r"glu|silu|sigmoid|relu|gelu|tanh|Glu|Silu|Sigmoid|Relu|Gelu|Tanh"),
    ("copies, views, cat, transpose", r"copy|clone|contiguous|cat\b|stack|transpose|permute|view|reshape|"
     r"expand|as_strided|narrow|slice|select|unsqueeze|squeeze|_to_copy|\bto\b|\bt\b|Cat|Stack|"
     r"Transpose|Permute|View|Reshape|Expand|AsStrided|Narrow|Slice|Select|Unsqueeze|Squeeze|Copy|"
     r"Clone|TBackward|UnsafeView|ToCopy|flatten|index|Index|pad|Pad|split|Split|chunk|Chunk|unbind|Unbind"),
    ("allocation, fill", r"empty|zeros|ones|full|fill_|zero_|resize_|Fill|Zero"),
    ("elementwise arithmetic, reductions", r"add|sub|mul|div|exp|log|sqrt|pow|where|masked|sum|mean|"
     r"max|min|neg|abs|clamp|rsqrt|norm|Add|Sub|Mul|Div|Exp|Log|Sqrt|Pow|Where|Masked|Sum|Mean|"
     r"Max|Min|Neg|Abs|Clamp|Rsqrt|Norm|eq|ne|lt|gt|le|ge|lift|item|_local_scalar"),
]
SCOPES = [  # (scope category, regex on a scope event's name)
    ("gradient clipping", r"^trellis::clip_grad_norm$"),
    ("optimizer step", r"^(trellis::optimizer_step|Optimizer\.step#.*)$"),
    ("all-reduce", r"^trellis::all_reduce$"),
    ("backward", r"^trellis::backward$"),
    ("forward", r"^trellis::forward$"),
]
NODE = re.compile(r"^autograd::engine::evaluate_function: (.*)$")


def category(name):
    base = name.split("::")[-1]
    for cat, rx in CATEGORIES:
        if re.search(rx, base):
            return cat
    return "other"


def load(path):
    with open(path) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    by_tid = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_tid[e.get("tid")].append((float(e["ts"]), float(e["dur"]), e["name"]))
    return by_tid


def classify(path):
    """ms of self time by (scope, category), summed over the trace; and the scope counts."""
    out, counts = collections.Counter(), collections.Counter()
    for evs in load(path).values():
        evs.sort(key=lambda x: (x[0], -x[1]))
        stack = []  # [end, name, child time, duration]

        def close(item, stack_below):
            scope, node = None, None
            for _, nm, _, _ in reversed(stack_below + [item]):
                if node is None and NODE.match(nm):
                    node = NODE.match(nm).group(1)
                for sc, rx in SCOPES:
                    if scope is None and re.match(rx, nm):
                        scope = sc
            self_us = item[3] - item[2]
            if scope is None:
                return  # outside the update (batch making, model building)
            if scope in ("forward", "backward"):
                if scope == "forward" and node is not None:
                    scope = "backward"  # a backward running inside a forward scope: none expected
                cat = category(node if scope == "backward" and node else item[1])
                # a node's own time is the engine's, except a C++ custom function's (CppNode<...>),
                # which computes its gradient itself (trellis's fused dropout kernels)
                if scope == "backward" and node and "CppNode<" not in node and (
                        item[1] == "autograd::engine::evaluate_function: " + node or item[1] == node):
                    cat = "autograd engine"
                out[(scope, cat)] += self_us / 1e3
            else:
                out[(scope, "")] += self_us / 1e3

        for ts, dur, name in evs:
            while stack and stack[-1][0] <= ts:
                item = stack.pop()
                close(item, stack)
            if stack:
                stack[-1][2] += dur
            stack.append([ts + dur, name, 0.0, dur])
            if any(re.match(rx, name) for sc, rx in SCOPES if sc == "forward"):
                counts["forward"] += 1
        while stack:
            item = stack.pop()
            close(item, stack)
    return out, counts


def run_ref(out, argv):
    import torch
    import torch.nn.functional as F

    here = os.path.dirname(os.path.abspath(__file__))
    ref = os.environ.get("REF_TRAIN_STEP", os.path.join(here, "..", "..", "shared", "bench", "ref_train_step.py"))
    spec = importlib.util.spec_from_file_location("ref_train_step", ref)
    r = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(ref))
    spec.loader.exec_module(r)
    warmup = 2
    for i, a in enumerate(argv):
        if a == "--warmup-steps":
            warmup = int(argv[i + 1])
    prof = torch.autograd.profiler.profile(with_flops=True, record_shapes=True)
    state = {"forwards": 0, "on": False}

    def scoped(name, fn):
        def wrapped(*args, **kw):
            with torch.autograd.profiler.record_function(name):
                return fn(*args, **kw)
        return wrapped

    fwd = r.ConformerCTC.forward

    def forward(self, *args, **kw):
        if state["forwards"] == warmup and not state["on"]:
            prof.__enter__()
            state["on"] = True
        state["forwards"] += 1
        with torch.autograd.profiler.record_function("trellis::forward"):
            return fwd(self, *args, **kw)

    r.ConformerCTC.forward = forward
    ctc = F.ctc_loss
    r.F.ctc_loss = scoped("trellis::forward", ctc)  # trellis's forward scope holds the criterion
    torch.Tensor.backward = scoped("trellis::backward", torch.Tensor.backward)
    torch.nn.utils.clip_grad_norm_ = scoped("trellis::clip_grad_norm", torch.nn.utils.clip_grad_norm_)
    sys.argv = [ref] + argv
    r.main()
    prof.__exit__(None, None, None)
    prof.export_chrome_trace(out)
    flops = collections.Counter()
    for e in prof.function_events:
        if e.flops:
            flops[e.name] += e.flops
    with open(out + ".flops", "w") as f:
        json.dump(dict(flops), f)


def table(ref, ours, steps):
    (rc, rn), (oc, on) = classify(ref), classify(ours)
    n_ref = steps or rn["forward"] // 2 or 1  # the reference's forward scope opens twice per update
    n_ours = steps or on["forward"] or 1
    keys = sorted(set(rc) | set(oc), key=lambda k: -(rc.get(k, 0) / n_ref))
    print(f"{'scope':<20} {'category':<42} {'reference ms':>12} {'trellis ms':>11} {'trellis-ref':>11}")
    tr = to = 0.0
    for k in keys:
        a, b = rc.get(k, 0) / n_ref, oc.get(k, 0) / n_ours
        tr, to = tr + a, to + b
        print(f"{k[0]:<20} {k[1]:<42} {a:12.1f} {b:11.1f} {b - a:+11.1f}")
    print(f"{'total (profiled)':<63} {tr:12.1f} {to:11.1f} {to - tr:+11.1f}")
    mm = ("forward", "matmul"), ("backward", "matmul")
    try:
        with open(ref + ".flops") as f:
            flops = json.load(f)
        mm_flops = sum(v for k, v in flops.items() if re.search(r"::(mm|addmm|bmm|baddbmm)$", k)) / n_ref
        for side, c, n in (("reference", rc, n_ref), ("trellis", oc, n_ours)):
            t = sum(c.get(k, 0) for k in mm) / n / 1e3
            print(f"matmul {side}: {mm_flops / 1e9:.1f} GFLOP per update in {t * 1e3:.0f} ms = "
                  f"{mm_flops / t / 1e9:.1f} GFLOP/s")
    except FileNotFoundError:
        pass


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "ref":
        return run_ref(sys.argv[2], sys.argv[3:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["table"])
    p.add_argument("ref")
    p.add_argument("ours")
    p.add_argument("--steps", type=int, default=0, help="updates in each trace (default: counted)")
    a = p.parse_args()
    table(a.ref, a.ours, a.steps)


if __name__ == "__main__":
    main()
