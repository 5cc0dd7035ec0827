#!/usr/bin/python3
"""wav2vec 2.0 pretraining fixtures for trellis (issue 17), computed with Debian's python3-torch
1.13 (the kernels libtorch-dev links) by fairseq's code, transcribed below from
fairseq/modules/gumbel_vector_quantizer.py (GumbelVectorQuantizer.forward),
fairseq/models/wav2vec/wav2vec2.py (Wav2Vec2Model.compute_preds, get_logits, get_extra_losses)
and fairseq/criterions/wav2vec_criterion.py (Wav2vecCriterion.forward, infonce): the same torch
calls in the same order, with the random draws (Gumbel noise, negative indices) fixed and stored.

  /usr/bin/python3 tests/golden/make_wav2vec2_pretraining_golden.py \
      [--out tests/data/goldens/wav2vec2_pretraining]

Each fixture (tiny shapes; the config in the metadata) holds:
  quantizer: q_in (B, M, C) input, vars, weight_proj.{weight,bias}, gumbel (B*M*G, V) noise,
    q_train / q_eval (B, M, vq) outputs, prob_perplexity, code_perplexity, temp (after
    num_updates updates of latent_temp);
  heads: project_q.{weight,bias}, final_proj.{weight,bias}, c (B, M, D) encoder output at the
    masked frames, negatives (B, M*K) int64 indices (as sample_negatives returns), y (B, M, F)
    = project_q(q_train), logits (1+K, B, M) = compute_preds, flat_logits (M*B, 1+K);
  criterion: features (B, C_f, T) extractor output, features_pen, contrastive (CE sum),
    diversity, feature_penalty (weighted, * sample_size), loss, sample_size, correct, count.
Fixture 1 makes two masked frames of an utterance identical, so some negatives equal their
positive (-inf logits).
The whole model (--out-model, default tests/data/goldens/wav2vec2_pretraining_model): a tiny
torchaudio 0.13 wav2vec2_model body (group-norm extractor, post-LN) plus the heads, saved under
Hugging Face Wav2Vec2ForPreTraining names (NAME.model.safetensors), and NAME.io.safetensors with
two waveforms, the fixed time mask, negatives and Gumbel noise, and fairseq's forward on them
(features_pen, logits (1+K, B, M), flat_logits, prob_perplexity, loss).
Regenerating gives byte-identical files.
"""
import argparse
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().contiguous().numpy()
        code = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[a.dtype]
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    header["__metadata__"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def quantize(x, vars_, weight_proj, groups, num_vars, curr_temp, training, gumbel):
    """fairseq GumbelVectorQuantizer.forward (time_first, combine_groups False, hard)."""
    result = {"num_vars": num_vars * groups}
    bsz, tsz, fsz = x.shape
    x = x.reshape(-1, fsz)
    x = weight_proj(x)
    x = x.view(bsz * tsz * groups, -1)
    with torch.no_grad():
        _, k = x.max(-1)
        hard_x = x.new_zeros(*x.shape).scatter_(-1, k.view(-1, 1), 1.0).view(bsz * tsz, groups, -1)
        hard_probs = torch.mean(hard_x.float(), dim=0)
        result["code_perplexity"] = torch.exp(
            -torch.sum(hard_probs * torch.log(hard_probs + 1e-7), dim=-1)).sum()
    avg_probs = torch.softmax(x.view(bsz * tsz, groups, -1).float(), dim=-1).mean(dim=0)
    result["prob_perplexity"] = torch.exp(
        -torch.sum(avg_probs * torch.log(avg_probs + 1e-7), dim=-1)).sum()
    result["temp"] = curr_temp
    if training:
        # F.gumbel_softmax(x.float(), tau=curr_temp, hard=True) with its noise given
        logits = x.float()
        gumbels = (logits + gumbel) / curr_temp
        y_soft = gumbels.softmax(-1)
        index = y_soft.max(-1, keepdim=True)[1]
        y_hard = torch.zeros_like(logits).scatter_(-1, index, 1.0)
        x = (y_hard - y_soft.detach() + y_soft).type_as(x)
    else:
        x = hard_x
    x = x.view(bsz * tsz, -1)
    x = x.unsqueeze(-1) * vars_
    x = x.view(bsz * tsz, groups, num_vars, -1)
    x = x.sum(-2)
    result["x"] = x.view(bsz, tsz, -1)
    return result


def sample_negatives_from_indices(y, neg_idxs, n_negatives):
    """fairseq Wav2Vec2Model.sample_negatives after the index draw (cross_sample_negatives 0)."""
    bsz, tsz, fsz = y.shape
    y = y.view(-1, fsz)
    negs = y[neg_idxs.view(-1)]
    return negs.view(bsz, tsz, n_negatives, fsz).permute(2, 0, 1, 3)


def draw_negative_indices(bsz, num, n_negatives, gen):
    """fairseq's index draw (sample_negatives, padding_count None)."""
    high = num
    tszs = torch.arange(num).unsqueeze(-1).expand(-1, n_negatives).flatten()
    neg_idxs = torch.randint(low=0, high=high - 1, size=(bsz, n_negatives * num), generator=gen)
    neg_idxs[neg_idxs >= tszs] += 1
    return neg_idxs + (torch.arange(bsz).unsqueeze(1) * high)


def compute_preds(x, y, negatives, logit_temp):
    neg_is_pos = (y == negatives).all(-1)
    y = y.unsqueeze(0)
    targets = torch.cat([y, negatives], dim=0)
    logits = torch.cosine_similarity(x.float(), targets.float(), dim=-1)
    logits = logits / logit_temp
    logits = logits.type_as(x)
    if neg_is_pos.any():
        logits[1:][neg_is_pos] = float("-inf")
    return logits


def make(out_dir, name, seed, cfg, duplicate):
    g = torch.Generator().manual_seed(seed)
    B, M, C, G, V, vq, D, Fd, K = (cfg[k] for k in ("B", "M", "C", "G", "V", "vq", "D", "F", "K"))
    T, Cf = cfg["T"], cfg["C_f"]
    max_t, min_t, decay = cfg["latent_temp"]
    temp = max(max_t * decay ** cfg["num_updates"], min_t)
    vars_ = torch.rand(1, G * V, vq // G, generator=g)
    weight_proj = torch.nn.Linear(C, G * V)
    project_q = torch.nn.Linear(vq, Fd)
    final_proj = torch.nn.Linear(D, Fd)
    with torch.no_grad():
        weight_proj.weight.copy_(torch.randn(G * V, C, generator=g))
        weight_proj.bias.copy_(torch.randn(G * V, generator=g) * 0.1)
        for lin in (project_q, final_proj):
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * 0.5)
            lin.bias.copy_(torch.randn(lin.bias.shape, generator=g) * 0.1)
    q_in = torch.randn(B, M, C, generator=g)
    c = torch.randn(B, M, D, generator=g)
    if duplicate:  # frames 1 and 3 of utterance 0 quantize alike -> equal targets
        q_in[0, 3] = q_in[0, 1]
    gumbel = -torch.empty(B * M * G, V).exponential_(generator=g).log()
    q_train = quantize(q_in, vars_, weight_proj, G, V, temp, True, gumbel)
    q_eval = quantize(q_in, vars_, weight_proj, G, V, temp, False, None)
    negatives = draw_negative_indices(B, M, K, g)
    if duplicate:  # make sure some negative of frame 1 is frame 3 (same target)
        negatives[0, 1 * K] = 3
    y = project_q(q_train["x"])
    negs = sample_negatives_from_indices(y, negatives, K)
    x = final_proj(c)
    logits = compute_preds(x, y, negs, cfg["logit_temp"])
    flat = logits.transpose(0, 2).reshape(-1, logits.size(0))  # get_logits
    features = torch.randn(B, Cf, T, generator=g)
    features_pen = features.float().pow(2).mean()
    # Wav2vecCriterion.forward, infonce, reduce=True
    target = flat.new_zeros(flat.size(0), dtype=torch.long)
    contrastive = F.cross_entropy(flat.float(), target, reduction="sum")
    sample_size = target.numel()
    extra = [(q_train["num_vars"] - q_train["prob_perplexity"]) / q_train["num_vars"], features_pen]
    loss = contrastive.clone()
    weighted = []
    for p, coef in zip(extra, cfg["loss_weights"]):
        p = coef * p.float() * sample_size
        loss = loss + p
        weighted.append(p)
    mx = flat.argmax(-1) == 0
    mn = flat.argmin(-1) == 0
    both = mx & mn
    correct = mx.long().sum() - both.long().sum()
    t = {
        "q_in": q_in, "vars": vars_, "weight_proj.weight": weight_proj.weight,
        "weight_proj.bias": weight_proj.bias, "gumbel": gumbel,
        "q_train": q_train["x"], "q_eval": q_eval["x"],
        "prob_perplexity": q_train["prob_perplexity"].reshape(()),
        "code_perplexity": q_train["code_perplexity"].reshape(()),
        "project_q.weight": project_q.weight, "project_q.bias": project_q.bias,
        "final_proj.weight": final_proj.weight, "final_proj.bias": final_proj.bias,
        "c": c, "negatives": negatives, "y": y, "logits": logits, "flat_logits": flat,
        "features": features, "features_pen": features_pen.reshape(()),
        "contrastive": contrastive.reshape(()), "diversity": weighted[0].reshape(()),
        "feature_penalty": weighted[1].reshape(()), "loss": loss.reshape(()),
        "temp": torch.tensor(temp, dtype=torch.float32),
        "correct": correct.reshape(()), "count": torch.tensor(mx.numel(), dtype=torch.int64),
    }
    t = {k: v.detach().float() if v.dtype == torch.float64 else v.detach() for k, v in t.items()}
    meta = dict(cfg)
    meta["temp"] = temp
    meta["sample_size"] = sample_size
    meta["neg_is_pos"] = int((y == negs).all(-1).sum())
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), t, {"config": meta})
    print(name, "loss", float(loss), "neg_is_pos", meta["neg_is_pos"], "temp", temp)


def make_model(out_dir, name, seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    conv = [(24, 10, 5), (24, 3, 2), (24, 3, 2)]
    D, G, V, vq, Fd, K = 32, 2, 6, 8, 12, 4
    body = torchaudio.models.wav2vec2_model(
        extractor_mode="group_norm", extractor_conv_layer_config=conv, extractor_conv_bias=False,
        encoder_embed_dim=D, encoder_projection_dropout=0.0, encoder_pos_conv_kernel=8,
        encoder_pos_conv_groups=4, encoder_num_layers=2, encoder_num_heads=4,
        encoder_attention_dropout=0.0, encoder_ff_interm_features=48, encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.0, encoder_layer_norm_first=False, encoder_layer_drop=0.0,
        aux_num_out=None)
    with torch.no_grad():
        for p in body.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn(p.shape, generator=g))
    body.train()  # dropouts are 0; train mode as in pretraining
    C = conv[-1][0]
    mask_emb = torch.rand(D, generator=g)
    vars_ = torch.rand(1, G * V, vq // G, generator=g)
    weight_proj = torch.nn.Linear(C, G * V)
    project_q = torch.nn.Linear(vq, Fd)
    final_proj = torch.nn.Linear(D, Fd)
    with torch.no_grad():
        weight_proj.weight.copy_(torch.randn(G * V, C, generator=g))
        weight_proj.bias.copy_(torch.randn(G * V, generator=g) * 0.1)
        for lin in (project_q, final_proj):
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * 0.3)
            lin.bias.copy_(torch.randn(lin.bias.shape, generator=g) * 0.1)
    B, S = 2, 4000
    t = torch.arange(S) / 16000.0
    wave = torch.stack([0.3 * torch.sin(2 * np.pi * (300 + 200 * i) * t) for i in range(B)])
    wave = wave + 0.05 * torch.randn(B, S, generator=g)
    # fairseq Wav2Vec2Model.forward (features_only=False, mask given)
    feats, _ = body.feature_extractor(wave, None)  # (B, T, C)
    T = feats.size(1)
    features_pen = feats.float().pow(2).mean()
    u = body.encoder.feature_projection.layer_norm(feats)
    x = body.encoder.feature_projection.projection(u)
    mask = torch.zeros(B, T, dtype=torch.bool)
    M = 9
    for b in range(B):
        mask[b, torch.randperm(T, generator=g)[:M]] = True
    x = x.clone()
    x[mask] = mask_emb
    c = body.encoder.transformer(x)
    y = u[mask].view(B, M, C)
    gumbel = -torch.empty(B * M * G, V).exponential_(generator=g).log()
    q = quantize(y, vars_, weight_proj, G, V, 2.0, True, gumbel)
    y = project_q(q["x"])
    negatives = draw_negative_indices(B, M, K, g)
    negs = sample_negatives_from_indices(y, negatives, K)
    xm = final_proj(c[mask].view(B, M, D))
    logits = compute_preds(xm, y, negs, 0.1)
    flat = logits.transpose(0, 2).reshape(-1, logits.size(0))
    target = flat.new_zeros(flat.size(0), dtype=torch.long)
    sample_size = target.numel()
    loss = F.cross_entropy(flat.float(), target, reduction="sum")
    loss = loss + 0.1 * ((q["num_vars"] - q["prob_perplexity"]) / q["num_vars"]) * sample_size
    loss = loss + 10.0 * features_pen * sample_size
    sd = {}
    for k, v in body.state_dict().items():
        k = k.replace("feature_extractor.", "wav2vec2.feature_extractor.", 1) \
            if k.startswith("feature_extractor.") else k
        k = k.replace("encoder.feature_projection.", "wav2vec2.feature_projection.")
        k = k.replace("encoder.transformer.", "wav2vec2.encoder.")
        sd[k] = v
    sd["wav2vec2.masked_spec_embed"] = mask_emb
    sd["quantizer.codevectors"] = vars_
    sd["quantizer.weight_proj.weight"] = weight_proj.weight
    sd["quantizer.weight_proj.bias"] = weight_proj.bias
    sd["project_q.weight"] = project_q.weight
    sd["project_q.bias"] = project_q.bias
    sd["project_hid.weight"] = final_proj.weight
    sd["project_hid.bias"] = final_proj.bias
    cfg = {"conv_feature_layers": "[(24, 10, 5)] + [(24, 3, 2)] * 2", "encoder_embed_dim": D,
           "encoder_ffn_embed_dim": 48, "encoder_layers": 2, "encoder_attention_heads": 4,
           "conv_pos": 8, "conv_pos_groups": 4, "latent_vars": V, "latent_groups": G,
           "latent_dim": vq, "final_dim": Fd, "num_negatives": K, "logit_temp": 0.1,
           "latent_temp": [2.0, 0.5, 0.999995], "loss_weights": [0.1, 10.0]}
    write_safetensors(os.path.join(out_dir, name + ".model.safetensors"), sd, {"format": "pt"})
    io = {"wave": wave, "time_mask": mask.to(torch.int64), "negatives": negatives,
          "gumbel": gumbel, "features_pen": features_pen.reshape(()),
          "prob_perplexity": q["prob_perplexity"].reshape(()), "logits": logits, "flat_logits": flat,
          "loss": loss.reshape(())}
    io = {k: v.detach() for k, v in io.items()}
    write_safetensors(os.path.join(out_dir, name + ".io.safetensors"), io, {"config": cfg})
    print(name, "loss", float(loss), "T", T)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data",
                                                  "goldens", "wav2vec2_pretraining"))
    ap.add_argument("--out-model", default=os.path.join(os.path.dirname(__file__), "..", "data",
                                                        "goldens", "wav2vec2_pretraining_model"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    base = {"B": 2, "M": 5, "C": 8, "G": 2, "V": 6, "vq": 8, "D": 12, "F": 6, "K": 4, "T": 9,
            "C_f": 8, "latent_temp": [2.0, 0.5, 0.999995], "num_updates": 1000,
            "logit_temp": 0.1, "loss_weights": [0.1, 10.0]}
    make(a.out, "w2v2_pretrain_small", 17, base, False)
    dup = dict(base, B=3, M=4, G=3, V=5, vq=9, K=3, num_updates=400000,
               latent_temp=[2.0, 0.1, 0.999995], loss_weights=[0.1, 0.0])
    make(a.out, "w2v2_pretrain_dup", 18, dup, True)
    os.makedirs(a.out_model, exist_ok=True)
    make_model(a.out_model, "w2v2_pretrain_tiny", 19)


if __name__ == "__main__":
    main()
