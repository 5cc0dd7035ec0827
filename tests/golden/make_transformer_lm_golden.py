#!/usr/bin/python3
"""Goldens for --arch transformer_lm: fairseq's TransformerLanguageModel forward written out in
plain torch 1.13 (fairseq itself is not installed): sinusoidal or learned positions from
make_positions, embed scale sqrt(D), post- or pre-norm decoder layers without encoder
attention (causal self-attention with key padding, scaling head_dim^-0.5), ReLU or GELU FFN,
final layer norm for pre-norm, output projection (shared with the embedding or not).

Writes tests/data/goldens/transformer_lm/<name>.safetensors: "w.<fairseq key>" weights,
"tokens" (B, L) int64 right-padded with pad=1, "logits" (B, L, V) float32; metadata "config".
Usage: /usr/bin/python3 tests/golden/make_transformer_lm_golden.py [OUT_DIR]
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

PAD = 1


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().contiguous().numpy()
        code = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[a.dtype]
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    header["__metadata__"] = {k: json.dumps(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def sinusoidal(num, dim, pad):  # fairseq SinusoidalPositionalEmbedding.get_embedding
    half = dim // 2
    emb = math.log(10000) / (half - 1)
    emb = torch.exp(torch.arange(half, dtype=torch.float) * -emb)
    emb = torch.arange(num, dtype=torch.float).unsqueeze(1) * emb.unsqueeze(0)
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=1)
    if dim % 2 == 1:
        emb = torch.cat([emb, torch.zeros(num, 1)], dim=1)
    emb[pad, :] = 0
    return emb


def make_positions(tokens, pad):  # fairseq.utils.make_positions
    mask = tokens.ne(pad).int()
    return (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + pad


def attention(x, w, p, heads, key_pad):  # x (L, B, D); fairseq MultiheadAttention, self
    L, B, D = x.shape
    hd = D // heads
    q = F.linear(x, w[p + "q_proj.weight"], w[p + "q_proj.bias"]) * hd ** -0.5
    k = F.linear(x, w[p + "k_proj.weight"], w[p + "k_proj.bias"])
    v = F.linear(x, w[p + "v_proj.weight"], w[p + "v_proj.bias"])
    q = q.contiguous().view(L, B * heads, hd).transpose(0, 1)
    k = k.contiguous().view(L, B * heads, hd).transpose(0, 1)
    v = v.contiguous().view(L, B * heads, hd).transpose(0, 1)
    s = torch.bmm(q, k.transpose(1, 2))  # (B*H, L, L)
    s = s + torch.triu(torch.full((L, L), float("-inf")), 1).unsqueeze(0)
    s = s.view(B, heads, L, L).masked_fill(key_pad.unsqueeze(1).unsqueeze(2), float("-inf"))
    a = F.softmax(s.view(B * heads, L, L).float(), dim=-1)
    o = torch.bmm(a, v).transpose(0, 1).contiguous().view(L, B, D)
    return F.linear(o, w[p + "out_proj.weight"], w[p + "out_proj.bias"])


def forward(w, tokens, c):
    D = c["D"]
    ln = lambda x, p: F.layer_norm(x, (D,), w[p + ".weight"], w[p + ".bias"], 1e-5)
    act = F.relu if c["activation_fn"] == "relu" else F.gelu
    pos = make_positions(tokens, PAD)
    if c["learned_pos"]:
        pe = F.embedding(pos, w["decoder.embed_positions.weight"])
    else:
        pe = sinusoidal(c["max_positions"] + PAD + 1, D, PAD)[pos]
    x = math.sqrt(D) * F.embedding(tokens, w["decoder.embed_tokens.weight"]) + pe
    x = x.transpose(0, 1)
    key_pad = tokens.eq(PAD)
    pre = c["normalize_before"]
    for i in range(c["layers"]):
        p = f"decoder.layers.{i}."
        r = x
        if pre:
            x = ln(x, p + "self_attn_layer_norm")
        x = r + attention(x, w, p + "self_attn.", c["heads"], key_pad)
        if not pre:
            x = ln(x, p + "self_attn_layer_norm")
        r = x
        if pre:
            x = ln(x, p + "final_layer_norm")
        x = F.linear(act(F.linear(x, w[p + "fc1.weight"], w[p + "fc1.bias"])), w[p + "fc2.weight"],
                     w[p + "fc2.bias"])
        x = r + x
        if not pre:
            x = ln(x, p + "final_layer_norm")
    if pre:
        x = ln(x, "decoder.layer_norm")
    x = x.transpose(0, 1)
    out = w["decoder.embed_tokens.weight"] if c["share"] else w["decoder.output_projection.weight"]
    return F.linear(x, out)


def make(out_dir, name, seed, **cfg):
    c = dict(V=11, D=16, F=24, layers=2, heads=4, max_positions=32, activation_fn="relu",
             normalize_before=False, learned_pos=False, share=False)
    c.update(cfg)
    torch.manual_seed(seed)
    D, Fd, V = c["D"], c["F"], c["V"]
    r = lambda *s: torch.randn(*s) * 0.3
    w = {"decoder.embed_tokens.weight": r(V, D)}
    w["decoder.embed_tokens.weight"][PAD] = 0
    if c["learned_pos"]:
        w["decoder.embed_positions.weight"] = r(c["max_positions"] + PAD + 1, D)
        w["decoder.embed_positions.weight"][PAD] = 0
    for i in range(c["layers"]):
        p = f"decoder.layers.{i}."
        for n in ["q_proj", "k_proj", "v_proj", "out_proj"]:
            w[p + f"self_attn.{n}.weight"] = r(D, D)
            w[p + f"self_attn.{n}.bias"] = r(D)
        for n in ["self_attn_layer_norm", "final_layer_norm"]:
            w[p + n + ".weight"] = 1 + r(D)
            w[p + n + ".bias"] = r(D)
        w[p + "fc1.weight"], w[p + "fc1.bias"] = r(Fd, D), r(Fd)
        w[p + "fc2.weight"], w[p + "fc2.bias"] = r(D, Fd), r(D)
    if c["normalize_before"]:
        w["decoder.layer_norm.weight"], w["decoder.layer_norm.bias"] = 1 + r(D), r(D)
    if not c["share"]:
        w["decoder.output_projection.weight"] = r(V, D)
    tokens = torch.tensor([[2, 5, 7, 3, 9, 4, 10], [2, 6, 6, 8, 1, 1, 1]])
    with torch.no_grad():
        logits = forward(w, tokens, c)
    t = {"w." + k: v for k, v in w.items()}
    t["tokens"], t["logits"] = tokens, logits.float()
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), t, {"config": c})


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "data", "goldens", "transformer_lm")
    os.makedirs(out, exist_ok=True)
    make(out, "post_relu_sinusoidal", 1)
    make(out, "pre_gelu_learned_shared", 2, activation_fn="gelu", normalize_before=True,
         learned_pos=True, share=True)
