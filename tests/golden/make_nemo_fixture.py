#!/usr/bin/python3
"""A tiny .nemo written the way NeMo writes one, for tests/core/io/test_nemo_checkpoint.cpp.

NeMo's ModelPT.save_to: torch.save(model.state_dict(), "<dir>/model_weights.ckpt") (an
OrderedDict with _metadata), the config as "<dir>/model_config.yaml", extra artifacts (the
tokenizer) beside them, then tarfile.open(path, "w:gz").add(dir, arcname=".") -- members
".", "./model_config.yaml", "./model_weights.ckpt", ... (recent releases write "w:" uncompressed).

Writes tests/data/nemo/tiny_nest.nemo (gzip) with NeMo key names of a NEST model: the
subsampling convs, one layer's attention / conv module / batch norm (int64 num_batches_tracked),
the decoder, the quantizer (float64 codebooks), the mask embedding and preprocessor buffers.
Tensor k (in the order of KEYS) of n elements holds arange(n) * 0.25 + k, cast to its dtype
and reshaped; the test recomputes the values from that rule.
Usage: /usr/bin/python3 tests/golden/make_nemo_fixture.py   (Debian python3-torch 1.13)
"""
import collections
import os
import tarfile
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "nemo")

KEYS = [  # name, shape, dtype
    ("preprocessor.featurizer.window", [8], torch.float32),
    ("preprocessor.featurizer.fb", [1, 4, 3], torch.float32),
    ("encoder.pre_encode.conv.0.weight", [4, 1, 3, 3], torch.float32),
    ("encoder.pre_encode.conv.0.bias", [4], torch.float32),
    ("encoder.pre_encode.conv.2.weight", [4, 1, 3, 3], torch.float32),
    ("encoder.pre_encode.conv.3.weight", [4, 4, 1, 1], torch.float32),
    ("encoder.pre_encode.out.weight", [6, 8], torch.float32),
    ("encoder.layers.0.self_attn.linear_q.weight", [6, 6], torch.float32),
    ("encoder.layers.0.self_attn.pos_bias_u", [2, 3], torch.float32),
    ("encoder.layers.0.conv.depthwise_conv.weight", [6, 1, 3], torch.float32),
    ("encoder.layers.0.conv.batch_norm.running_var", [6], torch.float32),
    ("encoder.layers.0.conv.batch_norm.num_batches_tracked", [], torch.int64),
    ("encoder.layers.0.norm_out.weight", [6], torch.float32),
    ("decoder.decoder_layers.0.weight", [5, 6, 1], torch.float32),
    ("quantizer.proj.weight", [2, 8], torch.float32),
    ("quantizer.codebooks", [1, 5, 2], torch.float64),
    ("mask_processor.mask_embedding", [4], torch.float32),
]

CONFIG = """sample_rate: 16000
encoder:
  _target_: nemo.collections.asr.modules.ConformerEncoder
  d_model: 6
  n_heads: 2
  n_layers: 1
decoder:
  num_classes: 5
"""


def state_dict():
    sd = collections.OrderedDict()
    for k, (name, shape, dtype) in enumerate(KEYS):
        n = 1
        for s in shape:
            n *= s
        sd[name] = (torch.arange(n, dtype=torch.float64) * 0.25 + k).to(dtype).reshape(shape)
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("encoder", {"version": 1})])
    return sd


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        torch.save(state_dict(), os.path.join(d, "model_weights.ckpt"))
        with open(os.path.join(d, "model_config.yaml"), "w") as f:
            f.write(CONFIG)
        with open(os.path.join(d, "tokenizer.vocab"), "w") as f:
            f.write("<unk>\n")
        path = os.path.join(OUT, "tiny_nest.nemo")
        with tarfile.open(path, "w:gz") as tar:
            tar.add(d, arcname=".")
    print("wrote", os.path.relpath(path), os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
