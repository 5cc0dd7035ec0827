#!/usr/bin/python3
"""Fast Conformer fixtures for trellis: NeMo's ConformerEncoder (dw_striding subsampling, rel_pos
attention) written out in plain PyTorch 1.13 from NeMo's equations (NeMo itself is not installed
here); module and parameter names are NeMo's, so the state dict keys are NeMo's keys.

  /usr/bin/python3 tests/golden/make_fastconformer_golden.py [--out tests/data/goldens/fastconformer]

Writes, per configuration, <name>.safetensors with
  x [B, T, F] float32 features (batch-major, zero-padded), lengths [B] int64,
  encoder.* the weights under NeMo's keys (random, fixed seed; BatchNorm running statistics,
    LayerNorm affine and pos_bias_u/v perturbed so that none is trivial),
  out.subsampler [B, T', D], out.subsampler_lengths [B]: encoder.pre_encode alone,
  out.encoder [B, D, T'] (NeMo's layout), out.encoder_lengths [B]: the whole encoder, eval mode,
  out.encoder_train [B, D, T']: the same in training mode without dropout (BatchNorm with the
    batch's statistics over every frame, padded ones included, as NeMo's BatchNorm1d),
  metadata "config": the sizes and switches.
Configurations: "bias" (xscaling, use_bias, batch_norm) and "nobias" (no xscaling, no bias,
conv_norm_type layer_norm). Regenerating gives byte-identical files.
"""
import argparse
import json
import math
import os

import numpy as np
import torch
from torch import nn


# ---- dw_striding subsampling (NeMo ConvSubsampling + MaskedConvSequential) ----------------------
def calc_length(lengths, padding=2, kernel=3, stride=2, repeat=1):
    for _ in range(repeat):
        lengths = torch.floor((lengths.to(torch.float) + padding - kernel) / stride + 1.0)
    return lengths


class MaskedConvSequential(nn.Sequential):
    def forward(self, x, lengths):
        x = x.unsqueeze(1)  # B x 1 x T x F
        cur = lengths.clone().float()
        mask = self._mask(x, cur.long())
        for layer in self:
            x = x * mask.unsqueeze(1)  # zero time steps >= current length before every layer
            x = layer(x)
            if isinstance(layer, nn.Conv2d) and layer.stride != (1, 1):
                cur = calc_length(cur, padding=2 * layer.padding[0], kernel=layer.kernel_size[0],
                                  stride=layer.stride[0])
                mask = self._mask(x, cur.long())
        x = x * mask.unsqueeze(1)
        return x, cur.long()

    @staticmethod
    def _mask(x, lengths):
        b, _, t, f = x.shape
        m = torch.arange(t).expand(b, t) < lengths.unsqueeze(1)
        return m.unsqueeze(-1).expand(b, t, f).to(x.dtype)


class ConvSubsampling(nn.Module):
    def __init__(self, feat_in, feat_out, conv_channels):
        super().__init__()
        act = nn.ReLU()
        c = conv_channels
        self.conv = MaskedConvSequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1), act,
            nn.Conv2d(c, c, 3, stride=2, padding=1, groups=c), nn.Conv2d(c, c, 1), act,
            nn.Conv2d(c, c, 3, stride=2, padding=1, groups=c), nn.Conv2d(c, c, 1), act)
        out_len = int(calc_length(torch.tensor(float(feat_in)), repeat=3))
        self.out = nn.Linear(c * out_len, feat_out)

    def forward(self, x, lengths):
        x, lengths = self.conv(x, lengths)
        b, c, t, f = x.size()
        return self.out(x.transpose(1, 2).reshape(b, t, -1)), lengths


# ---- rel_pos encoding and attention --------------------------------------------------------------
class RelPositionalEncoding(nn.Module):
    def __init__(self, d_model, xscale, max_len=5000):
        super().__init__()
        self.d_model = d_model
        self.xscale = xscale
        positions = torch.arange(max_len - 1, -max_len, -1, dtype=torch.float32).unsqueeze(1)
        pe = torch.zeros(positions.size(0), d_model)
        div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                        * -(math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(positions * div)
        pe[:, 1::2] = torch.cos(positions * div)
        self.register_buffer("pe", pe.unsqueeze(0), persistent=False)

    def forward(self, x):
        if self.xscale:
            x = x * self.xscale
        n = x.size(1)
        center = self.pe.size(1) // 2 + 1
        return x, self.pe[:, center - n:center + n - 1]


class RelPositionMultiHeadAttention(nn.Module):
    def __init__(self, n_head, n_feat, use_bias):
        super().__init__()
        self.d_k = n_feat // n_head
        self.s_d_k = math.sqrt(self.d_k)
        self.h = n_head
        self.linear_q = nn.Linear(n_feat, n_feat, bias=use_bias)
        self.linear_k = nn.Linear(n_feat, n_feat, bias=use_bias)
        self.linear_v = nn.Linear(n_feat, n_feat, bias=use_bias)
        self.linear_out = nn.Linear(n_feat, n_feat, bias=use_bias)
        self.linear_pos = nn.Linear(n_feat, n_feat, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(self.h, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.zeros(self.h, self.d_k))

    @staticmethod
    def rel_shift(x):
        b, h, qlen, pos_len = x.size()
        x = torch.nn.functional.pad(x, pad=(1, 0))
        x = x.view(b, h, -1, qlen)
        return x[:, :, 1:].view(b, h, qlen, pos_len)

    def forward(self, x, mask, pos_emb):
        b = x.size(0)
        q = self.linear_q(x).view(b, -1, self.h, self.d_k)  # B x T x H x d
        k = self.linear_k(x).view(b, -1, self.h, self.d_k).transpose(1, 2)
        v = self.linear_v(x).view(b, -1, self.h, self.d_k).transpose(1, 2)
        p = self.linear_pos(pos_emb).view(pos_emb.size(0), -1, self.h, self.d_k).transpose(1, 2)
        q_u = (q + self.pos_bias_u).transpose(1, 2)
        q_v = (q + self.pos_bias_v).transpose(1, 2)
        bd = self.rel_shift(torch.matmul(q_v, p.transpose(-2, -1)))
        ac = torch.matmul(q_u, k.transpose(-2, -1))
        bd = bd[:, :, :, :ac.size(-1)]
        scores = (ac + bd) / self.s_d_k
        mask = mask.unsqueeze(1)
        scores = scores.masked_fill(mask, -10000.0)
        attn = torch.softmax(scores, dim=-1).masked_fill(mask, 0.0)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, -1, self.h * self.d_k)
        return self.linear_out(out)


# ---- layer ---------------------------------------------------------------------------------------
class ConformerFeedForward(nn.Module):
    def __init__(self, d_model, d_ff, use_bias):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff, bias=use_bias)
        self.linear2 = nn.Linear(d_ff, d_model, bias=use_bias)

    def forward(self, x):
        x = self.linear1(x)
        return self.linear2(x * torch.sigmoid(x))


class ConformerConvolution(nn.Module):
    def __init__(self, d_model, kernel, use_bias, norm_type):
        super().__init__()
        self.norm_type = norm_type
        self.pointwise_conv1 = nn.Conv1d(d_model, 2 * d_model, 1, bias=use_bias)
        self.depthwise_conv = nn.Conv1d(d_model, d_model, kernel, padding=(kernel - 1) // 2,
                                        groups=d_model, bias=use_bias)
        self.batch_norm = nn.BatchNorm1d(d_model) if norm_type == "batch_norm" else nn.LayerNorm(d_model)
        self.pointwise_conv2 = nn.Conv1d(d_model, d_model, 1, bias=use_bias)

    def forward(self, x, pad_mask):
        x = self.pointwise_conv1(x.transpose(1, 2))
        x = nn.functional.glu(x, dim=1)
        x = x.masked_fill(pad_mask.unsqueeze(1), 0.0)
        x = self.depthwise_conv(x)
        if self.norm_type == "layer_norm":
            x = self.batch_norm(x.transpose(1, 2)).transpose(1, 2)
        else:
            x = self.batch_norm(x)
        x = x * torch.sigmoid(x)
        return self.pointwise_conv2(x).transpose(1, 2)


class ConformerLayer(nn.Module):
    def __init__(self, d_model, n_heads, kernel, use_bias, norm_type):
        super().__init__()
        self.fc_factor = 0.5
        self.norm_feed_forward1 = nn.LayerNorm(d_model)
        self.feed_forward1 = ConformerFeedForward(d_model, 4 * d_model, use_bias)
        self.norm_self_att = nn.LayerNorm(d_model)
        self.self_attn = RelPositionMultiHeadAttention(n_heads, d_model, use_bias)
        self.norm_conv = nn.LayerNorm(d_model)
        self.conv = ConformerConvolution(d_model, kernel, use_bias, norm_type)
        self.norm_feed_forward2 = nn.LayerNorm(d_model)
        self.feed_forward2 = ConformerFeedForward(d_model, 4 * d_model, use_bias)
        self.norm_out = nn.LayerNorm(d_model)

    def forward(self, x, att_mask, pos_emb, pad_mask):
        residual = x
        x = self.feed_forward1(self.norm_feed_forward1(x))
        residual = residual + x * self.fc_factor
        x = self.self_attn(self.norm_self_att(residual), att_mask, pos_emb)
        residual = residual + x
        x = self.conv(self.norm_conv(residual), pad_mask)
        residual = residual + x
        x = self.feed_forward2(self.norm_feed_forward2(residual))
        residual = residual + x * self.fc_factor
        return self.norm_out(residual)


class ConformerEncoder(nn.Module):
    def __init__(self, feat_in, d_model, n_layers, n_heads, kernel, channels, xscaling, use_bias,
                 norm_type):
        super().__init__()
        self.pre_encode = ConvSubsampling(feat_in, d_model, channels)
        self.pos_enc = RelPositionalEncoding(d_model, math.sqrt(d_model) if xscaling else None)
        self.layers = nn.ModuleList(
            [ConformerLayer(d_model, n_heads, kernel, use_bias, norm_type) for _ in range(n_layers)])

    def forward(self, audio_signal, length):  # B x F x T as NeMo
        x, length = self.pre_encode(audio_signal.transpose(1, 2), length)
        x, pos_emb = self.pos_enc(x)
        t = x.size(1)
        valid = torch.arange(t).expand(length.size(0), -1) < length.unsqueeze(-1)
        att = valid.unsqueeze(1).repeat([1, t, 1])
        att = ~torch.logical_and(att, att.transpose(1, 2))
        pad_mask = ~valid
        for layer in self.layers:
            x = layer(x, att, pos_emb, pad_mask)
        return x.transpose(1, 2), length


# ---- fixtures ------------------------------------------------------------------------------------
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


def make(out_dir, name, seed, xscaling, use_bias, norm_type):
    cfg = dict(F=16, D=32, layers=2, heads=4, K=9, channels=8, B=2, lengths=[50, 37],
               xscaling=xscaling, use_bias=use_bias, conv_norm_type=norm_type)
    torch.manual_seed(seed)
    enc = ConformerEncoder(cfg["F"], cfg["D"], cfg["layers"], cfg["heads"], cfg["K"],
                           cfg["channels"], xscaling, use_bias, norm_type)
    with torch.no_grad():
        for k, p in enc.named_parameters():
            if k.endswith("pos_bias_u") or k.endswith("pos_bias_v"):
                p.normal_(0.0, 0.1)
            elif p.dim() == 1 and ("norm" in k):
                p.add_(torch.randn_like(p) * 0.1)
        for mod in enc.modules():
            if isinstance(mod, nn.BatchNorm1d):
                mod.running_mean.normal_(0.0, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
                mod.num_batches_tracked.fill_(7)
    enc.eval()
    lengths = torch.tensor(cfg["lengths"], dtype=torch.int64)
    T = int(lengths.max())
    x = torch.randn(cfg["B"], T, cfg["F"])
    x = x * (torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)
    with torch.no_grad():
        sub, sub_len = enc.pre_encode(x, lengths)
        out, out_len = enc(x.transpose(1, 2), lengths)
        state = {k: v.clone() for k, v in enc.state_dict().items()}
        enc.train()
        out_train, _ = enc(x.transpose(1, 2), lengths)
        enc.load_state_dict(state)  # the running statistics as they were
    tensors = {"x": x, "lengths": lengths}
    for k, v in enc.state_dict().items():
        tensors["encoder." + k] = v
    tensors.update({"out.subsampler": sub, "out.subsampler_lengths": sub_len,
                    "out.encoder": out, "out.encoder_lengths": out_len,
                    "out.encoder_train": out_train})
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), tensors, {"config": cfg})
    print(name, "subsampled", list(sub.shape), sub_len.tolist(), "out", list(out.shape))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data",
                                                  "goldens", "fastconformer"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    make(a.out, "fastconformer_bias", 11, True, True, "batch_norm")
    make(a.out, "fastconformer_nobias", 12, False, False, "layer_norm")


if __name__ == "__main__":
    main()
