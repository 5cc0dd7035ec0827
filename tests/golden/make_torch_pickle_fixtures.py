#!/usr/bin/python3
"""torch.save fixtures for tests/core/data/test_torch_pickle.cpp.

Writes, under tests/data/torch_pickle/:
  state_dict.pt      zip format: the OrderedDict state dict of a tiny nn.Module (float32, float16,
                     bfloat16, an int64 buffer, a transposed view and a slice sharing a storage),
                     like a Hugging Face pytorch_model.bin;
  fairseq_ckpt.pt    zip format: a fairseq-shaped checkpoint {"args": argparse.Namespace, "cfg":
                     plain dicts, "model": OrderedDict, "optimizer_history", "extra_state", ...}
                     with floats, None, bools, tuples, nested lists, int keys, big ints, bytes, a
                     set, a numpy scalar, nn.Parameters and objects of unknown classes;
  fairseq_ckpt_p4.pt the same checkpoint pickled with protocol 4 (FRAME, STACK_GLOBAL, MEMOIZE,
                     SHORT_BINUNICODE, SHORT_BINBYTES, EMPTY_SET/ADDITEMS);
  legacy_ckpt.pt     the same checkpoint written with _use_new_zipfile_serialization=False;
  state_dict.json, checkpoint.json
                     every tensor by dotted name: dtype, shape, values (C order, as float64).
The scalar fields are checked by literal values in the test.
Usage: /usr/bin/python3 tests/golden/make_torch_pickle_fixtures.py   (Debian python3-torch 1.13)
"""
import argparse
import collections
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "torch_pickle")

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
          torch.uint8: "U8", torch.bool: "BOOL"}


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3, 4)
        self.register_buffer("half_w", torch.randn(2, 3).half())
        self.register_buffer("bf16_w", torch.randn(5).bfloat16())
        self.register_buffer("steps", torch.tensor([3, -7, 2**40], dtype=torch.int64))
        base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25 - 1
        self.register_buffer("base", base)
        self.register_buffer("base_t", base.t())  # non-contiguous view of base's storage
        self.register_buffer("base_slice", base[1:, 1:3])  # offset 5, strides (4, 1)


class Thing:  # an unknown class pickled with NEWOBJ + BUILD
    def __init__(self):
        self.name = "thing"
        self.weights = [torch.tensor([1.5, -2.5], dtype=torch.float64)]


class Reduced:  # an unknown class pickled with REDUCE (constructor arguments)
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __reduce__(self):
        return (Reduced, (self.a, self.b))


class Sub(torch.Tensor):  # a tensor subclass -> torch._tensor._rebuild_from_type_v2
    pass


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    param = torch.nn.Parameter(data, requires_grad)
    for k, v in state.items():
        setattr(param, k, v)
    return param


class StateParameter(torch.nn.Parameter):
    """Pickles as torch >= 2.0 pickles a Parameter with attributes (torch 1.13 drops them)."""

    def __reduce_ex__(self, proto):
        return (torch._utils._rebuild_parameter_with_state,
                (self.data, self.requires_grad, collections.OrderedDict(), {"tag": "tagged"}))


# torch 1.13 has no _rebuild_parameter_with_state; pickle needs the name to resolve.
_rebuild_parameter_with_state.__module__ = "torch._utils"
torch._utils._rebuild_parameter_with_state = _rebuild_parameter_with_state


def state_dict():
    torch.manual_seed(0)
    return Tiny().state_dict()


def checkpoint():
    torch.manual_seed(1)
    model = collections.OrderedDict()
    model["encoder.layers.0.weight"] = torch.randn(2, 3)
    model["encoder.layers.0.bias"] = torch.zeros(2)
    model["mask_emb"] = torch.randn(4).half()
    w = torch.arange(6, dtype=torch.int32).reshape(2, 3)
    model["int_w"] = w
    model["int_w_t"] = w.t()
    model["flags"] = torch.tensor([True, False, True])
    model["bytes_u8"] = torch.tensor([0, 255, 7], dtype=torch.uint8)
    model["scalar"] = torch.tensor(2.5, dtype=torch.float64)
    model["empty"] = torch.zeros(0, 3)
    p = torch.nn.Parameter(torch.tensor([0.5, 1.5]))
    p_state = StateParameter(torch.tensor([[1.0], [2.0]]))
    args = argparse.Namespace(arch="wav2vec2", encoder_layers=2, dropout=0.1, layer_norm_first=False,
                              conv_feature_layers="[(512, 10, 5)] + [(512, 3, 2)] * 2",
                              max_tokens=None, update_freq=[1], lr=[0.0005], seed=-3,
                              big=2**40, neg_big=-2**63)
    cfg = {"_name": None, "model": {"_name": "wav2vec2", "encoder_layers": 2, "dropout": 0.1,
                                    "extractor_mode": "default", "layer_norm_first": False},
           "task": {"_name": "audio_pretraining", "sample_rate": 16000, "normalize": True},
           "optimization": {"lr": [0.0005], "max_update": 400000}}
    return {
        "args": args,
        "cfg": cfg,
        "model": model,
        "optimizer_history": [{"criterion_name": "Wav2vecCriterion", "optimizer_name": "FairseqAdam",
                               "lr_scheduler_state": {"best": None}, "num_updates": 400000}],
        "extra_state": {"epoch": 12, "best": 1.25, "nested": [[1, 2], (3, "x"), [], ()],
                        "tuple3": (1, 2.5, None), "int_keys": {0: "zero", 7: [True]},
                        "unicode": "h\u00e9llo \u2581w\u00f6rld", "raw": b"\x00\x01\xff",
                        "empty_raw": b"", "a_set": {5}, "np_best": np.float64(0.75),
                        "param": p, "param_state": p_state,
                        "subclass": torch.tensor([4, 5], dtype=torch.int16).as_subclass(Sub), "thing": Thing(),
                        "reduced": Reduced(4, "four")},
        "last_optimizer_state": {"state": {0: {"step": 3, "exp_avg": torch.ones(2, 2)}},
                                 "param_groups": [{"lr": 0.0005, "params": [0]}]},
    }


def tensors(obj, prefix, out):
    if isinstance(obj, torch.Tensor):
        t = obj.detach().contiguous()
        out[prefix] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                       "values": t.double().flatten().tolist()}
    elif isinstance(obj, dict):
        for k, v in obj.items():
            tensors(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            tensors(v, f"{prefix}.{i}" if prefix else str(i), out)
    elif hasattr(obj, "__dict__") and not isinstance(obj, (np.generic, type)):
        tensors(vars(obj), prefix, out)


def write(name, obj, json_name=None, **kw):
    torch.save(obj, os.path.join(OUT, name + ".pt"), **kw)
    if json_name is None:
        return
    expect = {}
    tensors(obj, "", expect)
    with open(os.path.join(OUT, json_name + ".json"), "w") as f:
        json.dump(expect, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    write("state_dict", state_dict(), "state_dict")
    write("fairseq_ckpt", checkpoint(), "checkpoint")
    write("fairseq_ckpt_p4", checkpoint(), pickle_protocol=4)
    write("legacy_ckpt", checkpoint(), _use_new_zipfile_serialization=False)
    for name in ("state_dict", "fairseq_ckpt", "fairseq_ckpt_p4", "legacy_ckpt"):
        print(name, os.path.getsize(os.path.join(OUT, name + ".pt")), "bytes")


if __name__ == "__main__":
    main()
