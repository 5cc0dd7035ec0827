#!/usr/bin/python3
"""Golden fixture: torchaudio 0.13's ConformerLayer, stored in upstream fairseq's layout.

Run with Debian's python3-torch / python3-torchaudio 1.13 (same ATen kernels as libtorch-dev):
    /usr/bin/python3 tests/models/make_torchaudio_conformer_golden.py \
        tests/data/goldens/conformer/torchaudio_up_conformer_layer.safetensors

torchaudio.models.conformer.ConformerLayer (abs / no positional encoding, nn.MultiheadAttention,
BatchNorm; its conv module has biases, config "conv_bias": true) computes the same function as fairseq's
ConformerEncoderLayer with attn_type None, so its weights are written under fairseq's keys
(`layer.*`, attention `fairseq_mha.self_attn.*`, in_proj split into q/k/v) and the file is read
by the same data-driven test as up_conformer_layer.safetensors (tests/models/
test_up_conformer_layer.cpp). Every 1-D parameter is perturbed and the BatchNorm running
statistics are set so that every term matters; eval mode.
"""
import json
import struct
import sys

import torch
from torchaudio.models.conformer import ConformerLayer

SEED, T, B, LENS, D, H, FFN, K = 7, 19, 3, [19, 13, 6], 64, 4, 128, 15


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    dtypes = {torch.float32: "F32", torch.int64: "I64", torch.bool: "BOOL"}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main(path):
    torch.manual_seed(SEED)
    layer = ConformerLayer(D, FFN, H, K, dropout=0.1)
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if p.dim() == 1:
                if "layer_norm" in name or name.endswith("ffn1.sequential.0.weight") or \
                        name.endswith("ffn2.sequential.0.weight") or \
                        name.endswith("conv_module.sequential.3.weight"):
                    p.copy_(1 + 0.1 * torch.randn_like(p))
                else:
                    p.add_(0.1 * torch.randn_like(p))
        bn = layer.conv_module.sequential[3]
        bn.running_mean.copy_(0.1 * torch.randn(D))
        bn.running_var.copy_(torch.rand(D) + 0.5)
    layer.eval()
    lens = torch.tensor(LENS)
    pad = torch.arange(T)[None, :] >= lens[:, None]
    x = torch.randn(T, B, D).masked_fill(pad.t()[:, :, None], 0.0)
    with torch.no_grad():
        y = layer(x, pad)

    sd = layer.state_dict()
    ffn = {"sequential.0": "layer_norm", "sequential.1": "w_1", "sequential.4": "w_2"}
    conv = {"layer_norm": "layer_norm", "sequential.0": "pointwise_conv1",
            "sequential.2": "depthwise_conv", "sequential.3": "batch_norm",
            "sequential.5": "pointwise_conv2"}
    out = {"x": x, "encoder_padding_mask": pad}
    for key, t in sd.items():
        mod, rest = key.split(".", 1)
        if mod in ("ffn1", "ffn2"):
            sub, leaf = rest.rsplit(".", 1)
            out[f"layer.{mod}.{ffn[sub]}.{leaf}"] = t
        elif mod == "conv_module":
            sub, leaf = rest.rsplit(".", 1)
            out[f"layer.conv_module.{conv[sub]}.{leaf}"] = t
        elif mod in ("self_attn_layer_norm", "final_layer_norm"):
            out[f"layer.{key}"] = t
        elif mod == "self_attn":
            if rest.startswith("in_proj"):
                leaf = rest.split("_")[-1]  # weight / bias
                for name, part in zip("qkv", t.chunk(3, 0)):
                    out[f"fairseq_mha.self_attn.{name}_proj.{leaf}"] = part
            else:
                out[f"fairseq_mha.self_attn.{rest}"] = t
        else:
            raise KeyError(key)
    out["fairseq_mha.output"] = y
    config = {"seed": SEED, "T": T, "B": B, "lens": LENS, "D": D, "H": H, "ffn": FFN, "K": K,
              "conv_bias": True}
    meta = {
        "config": json.dumps(config),
        "variants": json.dumps({"fairseq_mha": {"attn_type": None, "pos_enc_type": "abs"}}),
        "reference": f"torchaudio {__import__('torchaudio').__version__} "
                     "torchaudio.models.conformer.ConformerLayer, eval mode, weights renamed "
                     "to fairseq ConformerEncoderLayer keys (tests/models/"
                     "make_torchaudio_conformer_golden.py)",
        "layout": "x, outputs: T x B x C",
    }
    write_safetensors(path, out, meta)


if __name__ == "__main__":
    main(sys.argv[1])
