#!/usr/bin/python3
"""The Python side of bench/run_wav2vec2.sh: torchaudio 0.13's wav2vec2_model with a CTC head
(Debian python3-torch 1.13, the kernels trellis links), the same flags and measurements as
build/bin/bench_wav2vec2: inference (eval, no grad) and a fine-tuning step (frozen feature
extractor, CTC loss with zero_infinity, AdamW) on random waveforms; median ms over --steps.
--profile FILE: the measured fine-tuning updates under torch.autograd.profiler (with_flops,
record_shapes) with the scopes bench_wav2vec2 --profile records (trellis::forward around the model
and the CTC loss, trellis::backward; torch's own Optimizer.step#AdamW.step), written as a chrome
trace and FILE.flops (FLOPs per operator name) for bench/profile_train_step.py table; inference
is not run. bench/run_wav2vec2_profile.sh runs both sides."""
import argparse
import collections
import contextlib
import json
import statistics
import time

import torch
import torchaudio


def main():
    p = argparse.ArgumentParser(description=__doc__)
    for k, v in [("layers", 12), ("dim", 768), ("heads", 12), ("ffn", 3072), ("conv-dim", 512),
                 ("batch", 4), ("vocab", 32), ("steps", 5), ("warmup", 1), ("threads", 2),
                 ("seed", 1)]:
        p.add_argument("--" + k, type=int, default=v)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--profile", default="", help="chrome trace of the measured fine-tuning updates")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    c = a.conv_dim
    conv = [(c, 10, 5)] + [(c, 3, 2)] * 4 + [(c, 2, 2)] * 2
    model = torchaudio.models.wav2vec2_model(
        extractor_mode="group_norm", extractor_conv_layer_config=conv, extractor_conv_bias=False,
        encoder_embed_dim=a.dim, encoder_projection_dropout=0.0, encoder_pos_conv_kernel=128,
        encoder_pos_conv_groups=16, encoder_num_layers=a.layers, encoder_num_heads=a.heads,
        encoder_attention_dropout=0.0, encoder_ff_interm_features=a.ffn,
        encoder_ff_interm_dropout=0.0, encoder_dropout=0.0, encoder_layer_norm_first=False,
        encoder_layer_drop=0.0, aux_num_out=a.vocab)
    s = int(a.seconds * 16000)
    wav = torch.randn(a.batch, s)
    lengths = torch.full((a.batch,), s, dtype=torch.long)
    tgt_len = max(1, s // 16000 * 12)
    targets = torch.randint(1, a.vocab, (a.batch, tgt_len))
    n = sum(x.numel() for x in model.parameters())
    print(f"torchaudio wav2vec2_model: {n} params, batch {a.batch} x {s / 16000:.1f} s, "
          f"{torch.get_num_threads()} threads")
    infer, train = [], []
    model.eval()
    with torch.no_grad():
        for i in range(0 if a.profile else a.warmup + a.steps):
            t0 = time.perf_counter()
            model(wav, lengths)
            if i >= a.warmup:
                infer.append((time.perf_counter() - t0) * 1000)
    model.feature_extractor.requires_grad_(False)
    opt = torch.optim.AdamW([x for x in model.parameters() if x.requires_grad], lr=1e-5)
    model.train()
    prof = torch.autograd.profiler.profile(with_flops=True, record_shapes=True)
    scope = torch.autograd.profiler.record_function if a.profile else (
        lambda name: contextlib.nullcontext())
    for i in range(a.warmup + a.steps):
        if a.profile and i == a.warmup:
            prof.__enter__()
        t0 = time.perf_counter()
        opt.zero_grad()
        with scope("trellis::forward"):
            logits, out_lengths = model(wav, lengths)
            lp = logits.transpose(0, 1).log_softmax(-1)
            loss = torch.nn.functional.ctc_loss(lp, targets, out_lengths,
                                                torch.full((a.batch,), tgt_len, dtype=torch.long),
                                                blank=0, reduction="sum", zero_infinity=True)
        with scope("trellis::backward"):
            loss.backward()
        opt.step()
        if i >= a.warmup:
            train.append((time.perf_counter() - t0) * 1000)
    mt = statistics.median(train)
    if a.profile:
        prof.__exit__(None, None, None)
        prof.export_chrome_trace(a.profile)
        flops = collections.Counter()
        for e in prof.function_events:
            if e.flops:
                flops[e.name] += e.flops
        with open(a.profile + ".flops", "w") as f:
            json.dump(dict(flops), f)
        print(f"RESULT: fine-tuning step {mt:.0f} ms/update (under the profiler; inference not run)")
        return
    mi = statistics.median(infer)
    print(f"RESULT: inference {mi:.0f} ms/batch (RTF {mi / 1000 / (a.batch * s / 16000):.3f}), "
          f"fine-tuning step {mt:.0f} ms/update")


if __name__ == "__main__":
    main()
