#!/usr/bin/python3
"""The Python side of bench/run_wav2vec2_pretrain.sh: one wav2vec 2.0 pretraining update of the
base preset in PyTorch 1.13 (Debian python3-torch, the kernels trellis links): torchaudio 0.13's
wav2vec2_model body (group-norm extractor, post-LN, dropouts 0.1) and, in plain torch, what
fairseq's Wav2Vec2Model adds for pretraining (the same equations as
tests/golden/make_wav2vec2_pretraining_golden.py): feature gradient x 0.1, feature penalty,
span masking (fairseq's compute_mask_indices: 0.65 x 10, at least 2 spans, the same count per
row), mask_emb, dropout_features, the Gumbel quantizer (2 groups x 320, hard straight-through),
project_q, final_proj, 100 negatives from the other masked frames of the utterance, cosine logits
/ 0.1, InfoNCE sum + 0.1 x diversity + 10 x feature penalty, backward, Adam (fairseq's: decoupled
weight decay 0.01, (0.9, 0.98), eps 1e-6 = torch AdamW). Random waveforms; median ms over
--steps after --warmup. Flags as build/bin/bench_wav2vec2 --mode pretrain."""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio


class GradMultiply(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.new(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def compute_mask_indices(bsz, sz, mask_prob, mask_length, min_masks, rng):
    """fairseq's compute_mask_indices (static lengths, overlaps allowed, same count per row)."""
    mask = np.full((bsz, sz), False)
    idcs = []
    for _ in range(bsz):
        num_mask = max(min_masks, int(mask_prob * sz / float(mask_length) + rng.random()))
        min_len = mask_length
        if sz - min_len <= num_mask:
            min_len = sz - num_mask - 1
        start = rng.choice(sz - min_len, num_mask, replace=False)
        idc = (start[:, None] + np.arange(mask_length)[None, :]).reshape(-1)
        idcs.append(np.unique(idc[idc < sz]))
    m = min(len(i) for i in idcs)
    for b, idc in enumerate(idcs):
        if len(idc) > m:
            idc = rng.choice(idc, m, replace=False)
        mask[b, idc] = True
    return mask


class Pretraining(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        c = a.conv_dim
        conv = [(c, 10, 5)] + [(c, 3, 2)] * 4 + [(c, 2, 2)] * 2
        self.body = torchaudio.models.wav2vec2_model(
            extractor_mode="group_norm", extractor_conv_layer_config=conv,
            extractor_conv_bias=False, encoder_embed_dim=a.dim, encoder_projection_dropout=0.1,
            encoder_pos_conv_kernel=128, encoder_pos_conv_groups=16, encoder_num_layers=a.layers,
            encoder_num_heads=a.heads, encoder_attention_dropout=0.1,
            encoder_ff_interm_features=a.ffn, encoder_ff_interm_dropout=0.0, encoder_dropout=0.1,
            encoder_layer_norm_first=False, encoder_layer_drop=a.layerdrop, aux_num_out=None)
        self.G, self.V, self.final_dim, self.K = 2, 320, 256, 100
        self.mask_emb = torch.nn.Parameter(torch.FloatTensor(a.dim).uniform_())
        self.dropout_features = torch.nn.Dropout(0.1)
        self.vars = torch.nn.Parameter(torch.rand(1, self.G * self.V, self.final_dim // self.G))
        self.weight_proj = torch.nn.Linear(c, self.G * self.V)
        torch.nn.init.normal_(self.weight_proj.weight, mean=0, std=1)
        torch.nn.init.zeros_(self.weight_proj.bias)
        self.project_q = torch.nn.Linear(self.final_dim, self.final_dim)
        self.final_proj = torch.nn.Linear(a.dim, self.final_dim)
        self.rng = np.random.default_rng(1)

    def quantize(self, x, temp):
        """fairseq GumbelVectorQuantizer.forward in training (time_first, hard)."""
        bsz, tsz, fsz = x.shape
        G, V = self.G, self.V
        x = self.weight_proj(x.reshape(-1, fsz)).view(bsz * tsz * G, -1)
        with torch.no_grad():
            _, k = x.max(-1)
            hard_x = x.new_zeros(*x.shape).scatter_(-1, k.view(-1, 1), 1.0).view(bsz * tsz, G, -1)
            hard_probs = torch.mean(hard_x.float(), dim=0)
            code_ppl = torch.exp(-torch.sum(hard_probs * torch.log(hard_probs + 1e-7), dim=-1)).sum()
        avg_probs = torch.softmax(x.view(bsz * tsz, G, -1).float(), dim=-1).mean(dim=0)
        prob_ppl = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-7), dim=-1)).sum()
        x = F.gumbel_softmax(x.float(), tau=temp, hard=True).type_as(x)
        x = x.view(bsz * tsz, -1).unsqueeze(-1) * self.vars
        x = x.view(bsz * tsz, G, V, -1).sum(-2).view(bsz, tsz, -1)
        return x, prob_ppl, code_ppl

    def forward(self, wav, temp):
        feats, _ = self.body.feature_extractor(wav, None)  # (B, T, C)
        feats = GradMultiply.apply(feats, 0.1)
        features_pen = feats.float().pow(2).mean()
        u = self.body.encoder.feature_projection.layer_norm(feats)
        x = self.body.encoder.feature_projection.projection(u)
        x = self.body.encoder.feature_projection.dropout(x)
        B, T, _ = x.shape
        mask = torch.from_numpy(compute_mask_indices(B, T, 0.65, 10, 2, self.rng))
        x = x.clone()
        x[mask] = self.mask_emb.to(x.dtype)
        c = self.body.encoder.transformer(x)
        M = int(mask[0].sum())
        y = self.dropout_features(u)[mask].view(B, M, -1)
        q, prob_ppl, _ = self.quantize(y, temp)
        y = self.project_q(q)  # (B, M, F)
        with torch.no_grad():  # fairseq sample_negatives
            tszs = torch.arange(M).unsqueeze(-1).expand(-1, self.K).flatten()
            neg_idxs = torch.randint(low=0, high=M - 1, size=(B, self.K * M))
            neg_idxs[neg_idxs >= tszs] += 1
            neg_idxs = neg_idxs + (torch.arange(B).unsqueeze(1) * M)
        negs = y.reshape(-1, y.size(-1))[neg_idxs.view(-1)]
        negs = negs.view(B, M, self.K, -1).permute(2, 0, 1, 3)  # (K, B, M, F)
        xm = self.final_proj(c[mask].view(B, M, -1))
        neg_is_pos = (y == negs).all(-1)
        targets = torch.cat([y.unsqueeze(0), negs], dim=0)
        logits = torch.cosine_similarity(xm.float(), targets.float(), dim=-1) / 0.1
        logits = logits.type_as(xm)
        if neg_is_pos.any():
            logits[1:][neg_is_pos] = float("-inf")
        flat = logits.transpose(0, 2).reshape(-1, logits.size(0))
        target = flat.new_zeros(flat.size(0), dtype=torch.long)
        n = target.numel()
        loss = F.cross_entropy(flat.float(), target, reduction="sum")
        loss = loss + 0.1 * ((self.G * self.V - prob_ppl) / (self.G * self.V)) * n
        loss = loss + 10.0 * features_pen * n
        with torch.no_grad():
            mx, mn = flat.argmax(-1) == 0, flat.argmin(-1) == 0
            correct = int(mx.sum()) - int((mx & mn).sum())
        return loss, n, correct


def main():
    p = argparse.ArgumentParser(description=__doc__)
    for k, v in [("layers", 12), ("dim", 768), ("heads", 12), ("ffn", 3072), ("conv-dim", 512),
                 ("batch", 4), ("vocab", 32), ("steps", 5), ("warmup", 1), ("threads", 2),
                 ("seed", 1)]:
        p.add_argument("--" + k, type=int, default=v)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--layerdrop", type=float, default=0.0)
    p.add_argument("--mode", default="pretrain", choices=["pretrain"])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = Pretraining(a)
    s = int(a.seconds * 16000)
    wav = torch.randn(a.batch, s)
    n = sum(x.numel() for x in model.parameters())
    print(f"torch 1.13 + torchaudio wav2vec 2.0 pretraining: {n} params, batch {a.batch} x "
          f"{s / 16000:.1f} s, {torch.get_num_threads()} threads")
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.98), eps=1e-6,
                            weight_decay=0.01)
    model.train()
    steps, fwd = [], []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        temp = max(2.0 * 0.999995 ** i, 0.5)
        loss, masked, correct = model(wav, temp)
        t_fwd = (time.perf_counter() - t0) * 1000
        loss.backward()
        opt.step()
        if i >= a.warmup:
            steps.append((time.perf_counter() - t0) * 1000)
            fwd.append(t_fwd)
    print(f"last step: {masked} masked frames, loss {float(loss) / masked / np.log(2):.3f} bits, "
          f"accuracy {correct / masked:.3f}")
    print(f"RESULT: forward+loss {statistics.median(fwd):.0f} ms, "
          f"pretraining step {statistics.median(steps):.0f} ms/update")


if __name__ == "__main__":
    main()
