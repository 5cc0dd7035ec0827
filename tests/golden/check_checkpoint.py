#!/usr/bin/python3
"""Opens a trellis checkpoint with Python's torch.load and prints what it finds.

Usage: /usr/bin/python3 tests/golden/check_checkpoint.py CHECKPOINT.pt

Run by tests/core/test_checkpoint.cpp (skipped when Debian's python3-torch is absent); also
the example of docs/checkpoint_format.md. Exits non-zero when a documented field is missing or
has the wrong type.
"""
import sys

import torch


def main(path):
    ck = torch.load(path, map_location="cpu")
    assert ck["format"] == "trellis", ck.get("format")
    for key in ("format_version", "cfg", "args", "model", "optimizer_history",
                "last_optimizer_state", "extra_state", "task_state"):
        assert key in ck, f"missing field {key}"
    cfg = ck["cfg"]
    assert isinstance(cfg["yaml"], str)
    hist = ck["optimizer_history"][-1]
    print(f"task={cfg['task']} arch={cfg['arch']} num_updates={hist['num_updates']}")
    print(f"criterion={hist['criterion_name']} optimizer={hist['optimizer_name']}")
    for name, t in sorted(ck["model"].items()):
        assert isinstance(t, torch.Tensor), name
        print(f"{name}.sum={t.double().sum().item():.6f} shape={tuple(t.shape)} {t.dtype}")
    extra = ck["extra_state"]
    itr = extra["train_iterator"]
    print(f"epoch={itr['epoch']} iterations_in_epoch={itr['iterations_in_epoch']} "
          f"best={extra['best']} val_loss={extra['val_loss']}")
    for key, value in sorted(ck["task_state"].items()):
        if isinstance(value, torch.Tensor):  # binary values (a SentencePiece model)
            print(f"{key}=bytes[{value.numel()}]")
        else:
            print(f"{key}=str[{len(value)}]")


if __name__ == "__main__":
    main(sys.argv[1])
