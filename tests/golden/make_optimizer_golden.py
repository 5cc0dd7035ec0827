#!/usr/bin/python3
"""Optimizer step goldens for tests/optim/test_optimizer_parity.cpp.

Run with Debian's python3 (python3-torch 1.13, the same ATen kernels as libtorch-dev):

    /usr/bin/python3 tests/golden/make_optimizer_golden.py tests/data/goldens/optimizers

Writes optimizers.safetensors: three float32 parameters, fixed gradients for S steps and a
per-step LR; for each config the parameters after every step and the final optimizer state.
References:
  * torch.optim.AdamW and torch.optim.SGD themselves (foreach=False: the single-tensor path);
  * fairseq's Adam (FairseqAdam -> fairseq.optim.adam.Adam.step), which is not installable
    here, written out below from docs/optim.md ("adam") with fairseq's operation order:
    eps added before the bias correction, decoupled weight decay p -= lr*wd*p before the step.
Metadata `configs` (JSON list) names each config: trellis optimizer name, options by trellis
field name (fairseq flag spelling), and the reference. Regenerating gives identical bytes.
"""
import json
import math
import os
import struct
import sys

import torch

SHAPES = [(4, 3), (5,), (2, 2, 2)]
LRS = [1e-3, 2e-3, 5e-3, 1e-2, 3e-3]

CONFIGS = [
    dict(name="adam_fairseq", optimizer="adam",
         options={"adam_betas": [0.9, 0.98], "adam_eps": 1e-8, "weight_decay": 0.0},
         reference="fairseq.optim.adam.Adam (formula of spec 5.1, written out)"),
    dict(name="adam_fairseq_wd", optimizer="adam",
         options={"adam_betas": [0.8, 0.95], "adam_eps": 1e-6, "weight_decay": 0.05},
         reference="fairseq.optim.adam.Adam (formula of spec 5.1, written out)"),
    # A large eps makes its placement (before/after the bias correction) visible at rtol 1e-6.
    dict(name="adam_fairseq_big_eps", optimizer="adam",
         options={"adam_betas": [0.9, 0.98], "adam_eps": 0.5, "weight_decay": 0.0},
         reference="fairseq.optim.adam.Adam (formula of spec 5.1, written out)"),
    dict(name="adamw_big_eps", optimizer="adamw",
         options={"adam_betas": [0.9, 0.98], "adam_eps": 0.5, "weight_decay": 0.0},
         reference="torch.optim.AdamW 1.13"),
    dict(name="adamw_default", optimizer="adamw",
         options={"adam_betas": [0.9, 0.999], "adam_eps": 1e-8, "weight_decay": 0.01},
         reference="torch.optim.AdamW 1.13"),
    dict(name="adamw_wd", optimizer="adamw",
         options={"adam_betas": [0.9, 0.98], "adam_eps": 1e-6, "weight_decay": 0.1},
         reference="torch.optim.AdamW 1.13"),
    dict(name="sgd_plain", optimizer="sgd", options={},
         reference="torch.optim.SGD 1.13"),
    dict(name="sgd_momentum_wd", optimizer="sgd",
         options={"momentum": 0.9, "weight_decay": 1e-4},
         reference="torch.optim.SGD 1.13"),
    dict(name="sgd_nesterov", optimizer="sgd",
         options={"momentum": 0.9, "weight_decay": 0.01, "nesterov": True},
         reference="torch.optim.SGD 1.13"),
]


class FairseqAdam:
    """fairseq/optim/adam.py Adam.step (amsgrad off), docs/optim.md."""

    def __init__(self, params, lr, betas, eps, weight_decay):
        self.params, self.lr, self.betas, self.eps, self.wd = params, lr, betas, eps, weight_decay
        self.state = [dict() for _ in params]

    @torch.no_grad()
    def step(self):
        beta1, beta2 = self.betas
        for p, state in zip(self.params, self.state):
            grad = p.grad.data.float()
            p_data_fp32 = p.data
            if not state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(p_data_fp32)
                state["exp_avg_sq"] = torch.zeros_like(p_data_fp32)
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            state["step"] += 1
            exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = exp_avg_sq.sqrt().add_(self.eps)
            bias_correction1 = 1 - beta1 ** state["step"]
            bias_correction2 = 1 - beta2 ** state["step"]
            step_size = self.lr * math.sqrt(bias_correction2) / bias_correction1
            if self.wd != 0:
                p_data_fp32.add_(p_data_fp32, alpha=-self.wd * self.lr)
            p_data_fp32.addcdiv_(exp_avg, denom, value=-step_size)


def make_optimizer(cfg, params):
    o = cfg["options"]
    if cfg["optimizer"] == "adam":
        return FairseqAdam(params, LRS[0], tuple(o["adam_betas"]), o["adam_eps"], o["weight_decay"])
    if cfg["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=LRS[0], betas=tuple(o["adam_betas"]), eps=o["adam_eps"],
                                 weight_decay=o["weight_decay"], foreach=False)
    return torch.optim.SGD(params, lr=LRS[0], momentum=o.get("momentum", 0.0),
                           weight_decay=o.get("weight_decay", 0.0),
                           nesterov=o.get("nesterov", False), foreach=False)


def set_lr(opt, lr):
    if isinstance(opt, FairseqAdam):
        opt.lr = lr
    else:
        for g in opt.param_groups:
            g["lr"] = lr


def final_state(opt, i, p):
    if isinstance(opt, FairseqAdam):
        st = opt.state[i]
    else:
        st = opt.state[p]
    out = {}
    for k, v in st.items():
        if k == "step":
            out[k] = torch.tensor(int(v.item() if torch.is_tensor(v) else v), dtype=torch.int64)
        elif torch.is_tensor(v):
            out[k] = v.detach().clone()
    return out


def write_safetensors(path, tensors, metadata):
    dtypes = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        data = t.numpy().tobytes()  # little-endian on every machine we run on
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/data/goldens/optimizers"
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(1234)
    init = [torch.randn(s, dtype=torch.float32) for s in SHAPES]
    grads = [[torch.randn(s, dtype=torch.float32) for s in SHAPES] for _ in LRS]
    tensors = {"lr": torch.tensor(LRS, dtype=torch.float64)}
    for i, t in enumerate(init):
        tensors[f"init.p{i}"] = t
    for s, gs in enumerate(grads):
        for i, g in enumerate(gs):
            tensors[f"grad.{s}.p{i}"] = g
    for cfg in CONFIGS:
        params = [t.clone().requires_grad_(True) for t in init]
        opt = make_optimizer(cfg, params)
        for s, lr in enumerate(LRS):
            set_lr(opt, lr)
            for p, g in zip(params, grads[s]):
                p.grad = g.clone()
            opt.step()
            for i, p in enumerate(params):
                tensors[f"{cfg['name']}.step{s}.p{i}"] = p.detach().clone()
        for i, p in enumerate(params):
            for k, v in final_state(opt, i, p).items():
                tensors[f"{cfg['name']}.state.{i}.{k}"] = v
    metadata = {
        "configs": json.dumps([{k: c[k] for k in ("name", "optimizer", "options", "reference")}
                               for c in CONFIGS]),
        "num_params": str(len(SHAPES)),
        "num_steps": str(len(LRS)),
        "reference": f"PyTorch {torch.__version__} (Debian python3-torch)",
        "generator": "tests/golden/make_optimizer_golden.py",
    }
    write_safetensors(os.path.join(out_dir, "optimizers.safetensors"), tensors, metadata)


if __name__ == "__main__":
    main()
