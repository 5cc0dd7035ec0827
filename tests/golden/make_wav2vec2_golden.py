#!/usr/bin/python3
"""wav2vec2 fixtures for trellis, computed by torchaudio 0.13's wav2vec2_model itself (Debian
python3-torch 1.13 / python3-torchaudio 0.13, the kernels libtorch-dev links).

  /usr/bin/python3 tests/golden/make_wav2vec2_golden.py [--goldens tests/data/goldens/wav2vec2]
      [--out tests/data/wav2vec2]

1. goldens/wav2vec2/w2v2_small3.{model,io}.safetensors + .config.json: a third model layout in
   the format of the shared fixtures (README.md there): group-norm extractor with conv bias,
   post-LN, 3 layers of width 48, a 5-block extractor, pos-conv kernel 16 / 4 groups, 20 outputs;
   Hugging Face key names with the new weight-norm naming. Inputs are two seeded noise+chirp
   waveforms (9000 and 6000 samples).
2. out/w2v2_large_tiny.pytorch_model.bin: the shared w2v2_large_tiny weights re-saved with
   torch.save as an OrderedDict (what Hugging Face .bin files hold), and
   out/w2v2_large_tiny.fairseq.pt: the same weights under fairseq's fine-tuned names
   (w2v_encoder.w2v_model.*, w2v_encoder.proj.*) inside a fairseq-shaped checkpoint
   ({"args": argparse.Namespace, "cfg": {...}, "model": OrderedDict}), named by the map of
   docs/models.md ("Keys") written out independently below.
Regenerating gives byte-identical files.
"""
import argparse
import collections
import json
import os
import re
import struct

import numpy as np
import torch
import torchaudio

DT = {"F32": np.float32, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        buf = f.read()
    meta = header.pop("__metadata__", {})
    out = collections.OrderedDict()
    for name, h in header.items():
        b, e = h["data_offsets"]
        out[name] = torch.from_numpy(
            np.frombuffer(buf[b:e], dtype=DT[h["dtype"]]).reshape(h["shape"]).copy())
    return out, meta


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
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def torchaudio_to_hf(sd):
    out = collections.OrderedDict()
    for k, v in sd.items():
        k = re.sub(r"^feature_extractor\.", "wav2vec2.feature_extractor.", k)
        k = re.sub(r"^encoder\.feature_projection\.", "wav2vec2.feature_projection.", k)
        k = re.sub(r"^encoder\.transformer\.", "wav2vec2.encoder.", k)
        k = re.sub(r"^aux\.", "lm_head.", k)
        k = k.replace("conv.weight_g", "conv.parametrizations.weight.original0")
        k = k.replace("conv.weight_v", "conv.parametrizations.weight.original1")
        out[k] = v
    return out


def hf_to_fairseq(sd, layer_norm_mode):
    out = collections.OrderedDict()
    for k, v in sd.items():
        if k == "wav2vec2.masked_spec_embed":
            out["w2v_encoder.w2v_model.mask_emb"] = v
            continue
        if k.startswith("lm_head."):
            out["w2v_encoder.proj." + k[len("lm_head."):]] = v
            continue
        k = k[len("wav2vec2."):]
        k = re.sub(r"conv_layers\.(\d+)\.conv\.", r"conv_layers.\1.0.", k)
        k = re.sub(r"conv_layers\.(\d+)\.layer_norm\.",
                   r"conv_layers.\1.2.1." if layer_norm_mode else r"conv_layers.\1.2.", k)
        k = k.replace("feature_projection.layer_norm.", "layer_norm.")
        k = k.replace("feature_projection.projection.", "post_extract_proj.")
        k = k.replace("pos_conv_embed.conv.parametrizations.weight.original0", "pos_conv.0.weight_g")
        k = k.replace("pos_conv_embed.conv.parametrizations.weight.original1", "pos_conv.0.weight_v")
        k = k.replace("pos_conv_embed.conv.", "pos_conv.0.")
        k = re.sub(r"layers\.(\d+)\.attention\.", r"layers.\1.self_attn.", k)
        k = re.sub(r"layers\.(\d+)\.layer_norm\.", r"layers.\1.self_attn_layer_norm.", k)
        k = k.replace("feed_forward.intermediate_dense.", "fc1.")
        k = k.replace("feed_forward.output_dense.", "fc2.")
        out["w2v_encoder.w2v_model." + k] = v
    return out


def small3(goldens):
    torch.manual_seed(7)
    conv = [(40, 10, 5), (40, 3, 2), (40, 3, 2), (40, 2, 2), (40, 2, 2)]
    model = torchaudio.models.wav2vec2_model(
        extractor_mode="group_norm", extractor_conv_layer_config=conv, extractor_conv_bias=True,
        encoder_embed_dim=48, encoder_projection_dropout=0.0, encoder_pos_conv_kernel=16,
        encoder_pos_conv_groups=4, encoder_num_layers=3, encoder_num_heads=6,
        encoder_attention_dropout=0.0, encoder_ff_interm_features=96, encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.0, encoder_layer_norm_first=False, encoder_layer_drop=0.0, aux_num_out=20)
    with torch.no_grad():  # perturb the 1-D parameters (norms, biases) away from 1 / 0
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    model.eval()
    sd = torchaudio_to_hf(model.state_dict())
    sd["wav2vec2.masked_spec_embed"] = torch.rand(48)
    config = {"architectures": ["Wav2Vec2ForCTC"], "model_type": "wav2vec2", "hidden_size": 48,
              "num_hidden_layers": 3, "num_attention_heads": 6, "intermediate_size": 96,
              "hidden_act": "gelu", "layer_norm_eps": 1e-05, "feat_extract_norm": "group",
              "conv_dim": [c[0] for c in conv], "conv_kernel": [c[1] for c in conv],
              "conv_stride": [c[2] for c in conv], "conv_bias": True,
              "do_stable_layer_norm": False, "num_conv_pos_embeddings": 16,
              "num_conv_pos_embedding_groups": 4, "vocab_size": 20, "pad_token_id": 0}
    with open(os.path.join(goldens, "w2v2_small3.config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(os.path.join(goldens, "w2v2_small3.model.safetensors"), sd,
                      {"format": "pt", "hf_config": config})
    lengths = [9000, 6000]
    g = torch.Generator().manual_seed(11)
    waves = torch.zeros(2, max(lengths))
    for i, n in enumerate(lengths):
        t = torch.arange(n) / 16000.0
        waves[i, :n] = 0.3 * torch.sin(2 * np.pi * (200 + 900 * t) * t) + 0.05 * torch.randn(n, generator=g)
    io = collections.OrderedDict()
    io["batch.waveforms"] = waves
    io["batch.lengths"] = torch.tensor(lengths)
    with torch.no_grad():
        for i, n in enumerate(lengths):
            x = waves[i:i + 1, :n]
            logits, _ = model(x)
            feats, _ = model.feature_extractor(x, None)
            layers, _ = model.extract_features(x)
            io[f"single.utt{i}.extractor_features"] = feats[0]
            io[f"single.utt{i}.logits"] = logits[0]
            io[f"single.utt{i}.layer_outputs.last"] = layers[-1][0]
        logits, out_lengths = model(waves, torch.tensor(lengths))
        io["batch.logits"] = logits
        io["batch.out_lengths"] = out_lengths
        io["batch.logits_no_lengths"] = model(waves)[0]
    write_safetensors(os.path.join(goldens, "w2v2_small3.io.safetensors"), io,
                      {"torchaudio": torchaudio.__version__})


def pickles(goldens, out):
    sd, meta = read_safetensors(os.path.join(goldens, "w2v2_large_tiny.model.safetensors"))
    torch.save(sd, os.path.join(out, "w2v2_large_tiny.pytorch_model.bin"))
    ns = argparse.Namespace(arch="wav2vec_ctc", w2v_path="wav2vec_vox.pt", normalize=True,
                            mask_prob=0.5, layerdrop=0.1, feature_grad_mult=0.0)
    ckpt = {"args": ns, "cfg": {"model": {"_name": "wav2vec_ctc", "apply_mask": True}},
            "model": hf_to_fairseq(sd, layer_norm_mode=True), "optimizer_history": [
                {"criterion_name": "CtcCriterion", "optimizer_name": "FairseqAdam",
                 "num_updates": 20000}], "extra_state": {"epoch": 7, "best": None}}
    torch.save(ckpt, os.path.join(out, "w2v2_large_tiny.fairseq.pt"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--goldens", default="tests/data/goldens/wav2vec2")
    ap.add_argument("--out", default="tests/data/wav2vec2")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    small3(a.goldens)
    pickles(a.goldens, a.out)


if __name__ == "__main__":
    main()
