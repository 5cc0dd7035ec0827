#!/usr/bin/python3
"""The Python side of bench/run_nest.sh: one NEST pretraining update (NeMo's
EncDecDenoiseMaskedTokenPredModel) written in plain torch 1.13 from the equations of the NeMo
code (docs/models.md "Fast Conformer", docs/ssl.md), timed the way build/bin/bench_nest times
trellis's `nest` model. Per update, on a fixed synthetic batch of clean and noisy log-mel
features (B x T x 80, every utterance T frames, T % 16 == 0):

  targets   = RandomProjectionVectorQuantizer(clean)       frozen, 8 frames -> 640 -> 16 -> 8192 codes
              (l2 search as NeMo writes it: the norm of every difference, in float64;
              --quantizer-search matmul: |x|^2 + |c|^2 - 2 x.c instead)
  masked    = RandomBlockMasking(noisy)                    mask_prob 0.01, blocks of 40 frames
  log_probs = log_softmax(Conv1d(D, 8192, 1)(FastConformerEncoder(masked)))
  loss      = NLL over the positions whose 8 frames are > 80 % masked
  loss.backward(); AdamW(betas 0.9, 0.98, weight decay 1e-3).step()

Encoder: dw_striding x8 subsampler (256 channels, time masked before each conv), xscaling,
rel_pos attention (ESPnet "latest" shift, untied zero-initialised u/v biases, -10000 fill), FF x4
with Swish, conv module with GLU, padding zeroed before the depthwise conv, BatchNorm1d, dropouts
as NEST's yaml (0.1, pre-encoder 0.1, attention 0.1, embedding 0.0). The defaults are the small
preset (D 176, 4 heads, 16 layers, kernel 9). Prints ms per update, median over --steps after
--warmup-steps."""
import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn


class Subsampler(nn.Module):  # NeMo ConvSubsampling, dw_striding, factor 8
    def __init__(self, feat_in, channels, d):
        super().__init__()
        self.conv0 = nn.Conv2d(1, channels, 3, 2, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 2, 1, groups=channels)
        self.conv3 = nn.Conv2d(channels, channels, 1)
        self.conv5 = nn.Conv2d(channels, channels, 3, 2, 1, groups=channels)
        self.conv6 = nn.Conv2d(channels, channels, 1)
        f = feat_in
        for _ in range(3):
            f = (f - 1) // 2 + 1
        self.out = nn.Linear(channels * f, d)

    @staticmethod
    def mask(x, lengths):  # x: B x C x T x F; zero time steps >= length
        pad = torch.arange(x.size(2)).unsqueeze(0) >= lengths.unsqueeze(1)
        return x.masked_fill(pad[:, None, :, None], 0.0)

    def forward(self, x, lengths):  # x: B x T x F -> B x T' x D, lengths'
        step = lambda l: torch.div(l - 1, 2, rounding_mode="floor") + 1
        h = self.conv0(self.mask(x.unsqueeze(1), lengths))
        lengths = step(lengths)
        h = self.conv2(self.mask(torch.relu(h), lengths))
        lengths = step(lengths)
        h = torch.relu(self.conv3(self.mask(h, lengths)))
        h = self.conv5(self.mask(h, lengths))
        lengths = step(lengths)
        h = self.mask(torch.relu(self.conv6(self.mask(h, lengths))), lengths)
        b, _, t, _ = h.shape
        return self.out(h.transpose(1, 2).reshape(b, t, -1)), lengths


def rel_positions(t, d):  # 2T-1 x D, rows for relative positions T-1 .. -(T-1), interleaved sin/cos
    pos = torch.arange(t - 1, -t, -1, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * -(math.log(10000.0) / d))
    pe = torch.zeros(2 * t - 1, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class RelPosAttention(nn.Module):  # NeMo RelPositionMultiHeadAttention
    def __init__(self, d, heads, dropout_att, bias):
        super().__init__()
        self.h, self.dk = heads, d // heads
        self.linear_q = nn.Linear(d, d, bias=bias)
        self.linear_k = nn.Linear(d, d, bias=bias)
        self.linear_v = nn.Linear(d, d, bias=bias)
        self.linear_out = nn.Linear(d, d, bias=bias)
        self.linear_pos = nn.Linear(d, d, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(heads, self.dk))
        self.pos_bias_v = nn.Parameter(torch.zeros(heads, self.dk))
        self.dropout = nn.Dropout(dropout_att)

    def forward(self, x, mask, pos_emb):  # x: B x T x D; mask: B x 1 x T x T (True = masked)
        b, t, d = x.shape
        q = self.linear_q(x).view(b, t, self.h, self.dk)  # B x T x H x dk
        k = self.linear_k(x).view(b, t, self.h, self.dk).transpose(1, 2)
        v = self.linear_v(x).view(b, t, self.h, self.dk).transpose(1, 2)
        p = self.linear_pos(pos_emb).view(1, 2 * t - 1, self.h, self.dk).transpose(1, 2)
        ac = torch.matmul((q + self.pos_bias_u).transpose(1, 2), k.transpose(-2, -1))
        bd = torch.matmul((q + self.pos_bias_v).transpose(1, 2), p.transpose(-2, -1))
        bd = F.pad(bd, (1, 0)).view(b, self.h, 2 * t, t)[:, :, 1:].reshape(b, self.h, t, 2 * t - 1)
        scores = (ac + bd[..., :t]) / math.sqrt(self.dk)
        scores = scores.masked_fill(mask, -10000.0)
        attn = self.dropout(torch.softmax(scores, -1).masked_fill(mask, 0.0))
        return self.linear_out(torch.matmul(attn, v).transpose(1, 2).reshape(b, t, d))


class FeedForward(nn.Module):
    def __init__(self, d, ff, dropout, bias):
        super().__init__()
        self.linear1 = nn.Linear(d, ff, bias=bias)
        self.linear2 = nn.Linear(ff, d, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.linear2(self.dropout(F.silu(self.linear1(x))))


class ConvModule(nn.Module):
    def __init__(self, d, kernel, bias):
        super().__init__()
        self.pointwise_conv1 = nn.Conv1d(d, 2 * d, 1, bias=bias)
        self.depthwise_conv = nn.Conv1d(d, d, kernel, padding=(kernel - 1) // 2, groups=d, bias=bias)
        self.batch_norm = nn.BatchNorm1d(d)
        self.pointwise_conv2 = nn.Conv1d(d, d, 1, bias=bias)

    def forward(self, x, pad):  # x: B x T x D; pad: B x T
        h = F.glu(self.pointwise_conv1(x.transpose(1, 2)), dim=1)
        h = self.depthwise_conv(h.masked_fill(pad.unsqueeze(1), 0.0))
        return self.pointwise_conv2(F.silu(self.batch_norm(h))).transpose(1, 2)


class Layer(nn.Module):  # NeMo ConformerLayer
    def __init__(self, a):
        super().__init__()
        d = a.dim
        self.norm_feed_forward1 = nn.LayerNorm(d)
        self.feed_forward1 = FeedForward(d, 4 * d, a.dropout, True)
        self.norm_self_att = nn.LayerNorm(d)
        self.self_attn = RelPosAttention(d, a.heads, a.dropout_att, True)
        self.norm_conv = nn.LayerNorm(d)
        self.conv = ConvModule(d, a.kernel, True)
        self.norm_feed_forward2 = nn.LayerNorm(d)
        self.feed_forward2 = FeedForward(d, 4 * d, a.dropout, True)
        self.norm_out = nn.LayerNorm(d)
        self.dropout = nn.Dropout(a.dropout)

    def forward(self, x, att_mask, pad, pos_emb):
        r = x + 0.5 * self.dropout(self.feed_forward1(self.norm_feed_forward1(x)))
        r = r + self.dropout(self.self_attn(self.norm_self_att(r), att_mask, pos_emb))
        r = r + self.dropout(self.conv(self.norm_conv(r), pad))
        r = r + 0.5 * self.dropout(self.feed_forward2(self.norm_feed_forward2(r)))
        return self.norm_out(r)


class Encoder(nn.Module):  # NeMo ConformerEncoder (rel_pos, xscaling)
    def __init__(self, a):
        super().__init__()
        self.d = a.dim
        self.pre_encode = Subsampler(a.feat_in, a.sub_channels, a.dim)
        self.layers = nn.ModuleList(Layer(a) for _ in range(a.layers))
        self.dropout_pre_encoder = nn.Dropout(a.dropout)
        self.dropout_emb = nn.Dropout(0.0)

    def forward(self, x, lengths):  # x: B x T x F -> B x T' x D
        x, lengths = self.pre_encode(x, lengths)
        t = x.size(1)
        x = self.dropout_pre_encoder(x * math.sqrt(self.d))
        pos_emb = self.dropout_emb(rel_positions(t, self.d))
        pad = torch.arange(t).unsqueeze(0) >= lengths.unsqueeze(1)  # B x T'
        att_mask = (pad.unsqueeze(1) | pad.unsqueeze(2)).unsqueeze(1)  # B x 1 x T' x T'
        for layer in self.layers:
            x = layer(x, att_mask, pad, pos_emb)
        return x, lengths


class Quantizer(nn.Module):  # NeMo RandomProjectionVectorQuantizer, frozen
    def __init__(self, feat_in, combine, code_dim, classes, books, search="nemo"):
        super().__init__()
        self.combine, self.books, self.code_dim, self.search = combine, books, code_dim, search
        self.proj = nn.Linear(feat_in * combine, books * code_dim, bias=False)
        nn.init.xavier_normal_(self.proj.weight)
        cb = torch.randn(books, classes, code_dim, dtype=torch.float64)
        self.codebooks = nn.Parameter(F.normalize(cb, dim=-1), requires_grad=False)
        self.proj.weight.requires_grad_(False)

    @torch.no_grad()
    def forward(self, feats):  # B x T x F -> tokens B x T/c x G
        b, t, f = feats.shape
        x = self.proj(feats.reshape(b, t // self.combine, f * self.combine))
        x = F.normalize(x.view(b, -1, self.books, self.code_dim), dim=-1).double()
        if self.search == "matmul":  # |x|^2 + |c|^2 - 2 x.c (not NeMo's code; for comparison)
            dist = x.pow(2).sum(-1, keepdim=True) + self.codebooks.pow(2).sum(-1) \
                - 2 * torch.einsum("btgd,gcd->btgc", x, self.codebooks)
        else:  # NeMo's: the norm of every difference, B x T' x G x C x code_dim in float64
            dist = (x.unsqueeze(3) - self.codebooks[None, None]).norm(dim=-1)
        return dist.argmin(-1)


class BlockMasking(nn.Module):  # NeMo RandomBlockMasking, allow_overlap, frozen embedding
    def __init__(self, feat_in, mask_prob, block, max_ratio=0.8):
        super().__init__()
        self.mask_prob, self.block, self.max_ratio = mask_prob, block, max_ratio
        self.mask_embedding = nn.Parameter(torch.randn(feat_in) * 0.1, requires_grad=False)

    def forward(self, feats, lengths, gen):  # B x T x F -> masked, frame mask B x T (float)
        b, t, _ = feats.shape
        mask = torch.zeros(b, t)
        for i in range(b):
            n = int(lengths[i])
            if self.block >= self.max_ratio * n:
                mask[i, :8] = 1
                continue
            count = n - self.block
            num = int(torch.binomial(torch.tensor(float(count)), torch.tensor(self.mask_prob),
                                     generator=gen))
            for s in torch.randperm(count, generator=gen)[:num].tolist():
                mask[i, s:min(s + self.block, t)] = 1
        m = mask.unsqueeze(-1)
        return feats * (1 - m) + self.mask_embedding * m, mask


class Nest(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.encoder = Encoder(a)
        self.decoder = nn.Conv1d(a.dim, a.num_classes, 1)  # MultiSoftmaxDecoder, 1 book
        nn.init.xavier_uniform_(self.decoder.weight)
        self.quantizer = Quantizer(a.feat_in, 8, 16, a.num_classes, 1, a.quantizer_search)
        self.mask_processor = BlockMasking(a.feat_in, 0.01, 40)

    def forward(self, clean, noisy, lengths, gen):
        targets = self.quantizer(clean)  # B x T' x 1
        masked, frame_mask = self.mask_processor(noisy, lengths, gen)
        enc, enc_len = self.encoder(masked, lengths)
        logits = self.decoder(enc.transpose(1, 2)).transpose(1, 2)  # B x T' x C
        log_probs = logits.log_softmax(-1).unsqueeze(-1)  # B x T' x C x G
        return log_probs, targets, frame_mask


def mlm_loss(log_probs, targets, frame_mask, combine=8, threshold=0.8):  # NeMo MultiMLMLoss
    b, t = frame_mask.shape
    sel = frame_mask.view(b, t // combine, combine).mean(-1) > threshold  # B x T'
    sel = sel[:, : log_probs.size(1)]
    loss = 0.0
    for g in range(log_probs.size(-1)):
        loss = loss + F.nll_loss(log_probs[..., g][sel], targets[..., g][sel])
    return loss / log_probs.size(-1), int(sel.sum())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    for k, v in [("layers", 16), ("dim", 176), ("heads", 4), ("kernel", 9), ("sub-channels", 256),
                 ("feat-in", 80), ("num-classes", 8192), ("batch", 4), ("frames", 0),
                 ("steps", 5), ("warmup-steps", 1), ("threads", 2), ("seed", 1)]:
        p.add_argument("--" + k, type=int, default=v)
    p.add_argument("--quantizer-search", choices=["nemo", "matmul"], default="nemo",
                   help="l2 code search: NeMo's norm of all differences, or the matmul expansion")
    p.add_argument("--profile", default="", help="chrome trace of the last update (legacy profiler)")
    for k, v in [("seconds", 8.0), ("lr", 1e-3), ("dropout", 0.1), ("dropout-att", 0.1)]:
        p.add_argument("--" + k, type=float, default=v)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t = a.frames or int(round(a.seconds * 100))
    t -= t % 16  # NeMo's pad_to 16
    model = Nest(a)
    clean = torch.randn(a.batch, t, a.feat_in)
    noisy = clean + 0.3 * torch.randn(a.batch, t, a.feat_in)
    lengths = torch.full((a.batch,), t, dtype=torch.long)
    gen = torch.Generator().manual_seed(a.seed)
    params = [x for x in model.parameters() if x.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.98), eps=1e-8, weight_decay=1e-3)
    print(f"python reference nest: torch {torch.__version__}, {sum(x.numel() for x in params)} "
          f"trained params, {a.layers}x D={a.dim} H={a.heads} K={a.kernel}, batch {a.batch} x {t} "
          f"frames ({t / 100:.2f} s), {torch.get_num_threads()} threads", flush=True)
    model.train()
    times = []
    for i in range(a.warmup_steps + a.steps):
        prof = None
        if a.profile and i == a.warmup_steps + a.steps - 1:
            prof = torch.autograd.profiler.profile()
            prof.__enter__()
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        log_probs, targets, frame_mask = model(clean, noisy, lengths, gen)
        loss, n = mlm_loss(log_probs, targets, frame_mask)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3, c3 = time.perf_counter(), time.process_time()
        if prof is not None:
            prof.__exit__(None, None, None)
            prof.export_chrome_trace(a.profile)
        ms, fwd, step = (t3 - t0) * 1000, (t1 - t0) * 1000, (t3 - t2) * 1000
        print(f"{'warmup' if i < a.warmup_steps else 'step'} {i}: {ms:.0f} ms (fwd+loss {fwd:.0f}, "
              f"bwd {ms - fwd - step:.0f}, opt {step:.0f}), loss {loss.item():.3f} over {n} positions",
              flush=True)
        if i >= a.warmup_steps:
            times.append((ms, fwd, step, (c3 - c0) * 1000))
    med = lambda k: statistics.median(x[k] for x in times)
    tot = [x[0] for x in times]
    print(f"RESULT: {med(0):.0f} ms/update median (min {min(tot):.0f}, max {max(tot):.0f}) over "
          f"{len(times)} updates | fwd+loss {med(1):.0f}, opt {med(2):.0f} | CPU {med(3):.0f} ms/update "
          f"median (all threads)")


if __name__ == "__main__":
    main()
