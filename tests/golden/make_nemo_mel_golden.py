#!/usr/bin/python3
"""Goldens for trellis's NeMo mel front end (core/data/nemo_mel.h): an independent reference in
plain torch 1.13 / torchaudio 0.13 (Debian python3-torch, python3-torchaudio) of NeMo's
FilterbankFeatures.forward (nemo/collections/asr/parts/preprocessing/features.py, 2025-09),
eval mode (no dither), run on one zero-padded batch of several lengths the way NeMo does:

  seq_len = S // hop; x[0] kept, x[t] -= preemph * x[t-1], zero at t >= S; torch.stft(n_fft, hop,
  win, center=True, pad_mode="constant", hann_window(win, periodic=False)); |X|^2;
  fb @ P with fb = torchaudio.functional.melscale_fbanks(norm="slaney", mel_scale="slaney")
  (checked here against a numpy transcription of librosa.filters.mel(norm="slaney"), librosa
  not being installed); log(x + 2^-24); per-feature mean / unbiased std + 1e-5 over the valid
  frames; frames >= seq_len zeroed; T padded to a multiple of pad_to.

  /usr/bin/python3 tests/golden/make_nemo_mel_golden.py [--out tests/data/goldens/nemo_mel]

Audio: espeak-ng speech converted with sox to 16 kHz 16-bit (pcm / 32768), cut to several
lengths, and seeded Gaussian noise. Writes nemo_mel.safetensors: per case `<case>.samples`
[N_case] F32 (the input in [-1, 1]), `<case>.features` [T_case, n_mels] F32 (the valid frames,
reference run in float64) and `fb_slaney` [80, 257] F32 (the filterbank NeMo uses, librosa's
float32 values). Metadata: `cases` (JSON list of {name, options}), `batch` (the cases run as one
padded batch), `batch_padded_width` (its T after pad_to), `f32_vs_f64_maxabs` (the same
reference run in float32, as NeMo runs it, against float64), `fb_torchaudio_vs_librosa_maxabs`,
`atol`. Regenerating gives byte-identical files.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import tempfile

import numpy as np
import torch
import torchaudio

TEXT = "Seven bright foxes."
DEFAULT = dict(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, n_mels=80, preemph=0.97,
               lowfreq=0.0, highfreq=0.0, log_zero_guard_value=2.0 ** -24, normalize_per_feature=True,
               pad_to=16)


def speech(rate, workdir):
    raw, out = os.path.join(workdir, "raw.wav"), os.path.join(workdir, f"s{rate}.raw")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "175", "-w", raw, TEXT], check=True)
    subprocess.run(["sox", "-D", raw, "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw",
                    out], check=True)
    return np.fromfile(out, dtype="<i2")


def librosa_slaney_mel(sr, n_fft, n_mels, fmin, fmax):
    """numpy transcription of librosa.filters.mel(htk=False, norm='slaney', dtype=float32)."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0

    def hz_to_mel(f):
        return min_log_mel + np.log(f / min_log_hz) / logstep if f >= min_log_hz else f / f_sp

    def mel_to_hz(m):
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def nemo_reference(waves, o, dtype):
    """waves: list of 1-D float64 numpy arrays -> (features [B, n_mels, T_pad], seq_len [B])."""
    lengths = torch.tensor([len(w) for w in waves])
    x = torch.zeros(len(waves), int(lengths.max()), dtype=dtype)
    for i, w in enumerate(waves):
        x[i, :len(w)] = torch.from_numpy(w).to(dtype)
    seq_len = torch.div(lengths, o["hop_length"], rounding_mode="floor")
    if o["preemph"]:
        timemask = torch.arange(x.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        x = torch.cat((x[:, :1], x[:, 1:] - o["preemph"] * x[:, :-1]), dim=1)
        x = x.masked_fill(~timemask, 0.0)
    window = torch.hann_window(o["win_length"], periodic=False, dtype=dtype)
    spec = torch.stft(x, n_fft=o["n_fft"], hop_length=o["hop_length"], win_length=o["win_length"], center=True,
                      pad_mode="constant", window=window, return_complex=True)
    power = torch.view_as_real(spec).pow(2).sum(-1).sqrt().pow(2.0)  # [B, n_fft/2+1, frames]
    highfreq = o["highfreq"] or o["sample_rate"] / 2
    fb = librosa_slaney_mel(o["sample_rate"], o["n_fft"], o["n_mels"], o["lowfreq"], highfreq)
    feats = torch.matmul(torch.from_numpy(fb).to(dtype), power)
    feats = torch.log(feats + o["log_zero_guard_value"])
    if o["normalize_per_feature"]:
        mean = torch.zeros(feats.shape[:2], dtype=dtype)
        std = torch.zeros(feats.shape[:2], dtype=dtype)
        for i in range(feats.shape[0]):
            mean[i] = feats[i, :, :seq_len[i]].mean(dim=1)
            std[i] = feats[i, :, :seq_len[i]].std(dim=1)
        feats = (feats - mean.unsqueeze(2)) / (std + 1e-5).unsqueeze(2)
    mask = torch.arange(feats.shape[-1]).unsqueeze(0) >= seq_len.unsqueeze(1)
    feats = feats.masked_fill(mask.unsqueeze(1), 0.0)
    if o["pad_to"] > 0 and feats.shape[-1] % o["pad_to"]:
        feats = torch.nn.functional.pad(feats, (0, o["pad_to"] - feats.shape[-1] % o["pad_to"]), value=0.0)
    return feats, seq_len


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dtype = {np.dtype("<f4"): "F32", np.dtype("<i2"): "I16"}[arr.dtype]
        b = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--out", default=os.path.join(here, "..", "data", "goldens", "nemo_mel"))
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        pcm = speech(16000, tmp)
    wave = pcm.astype(np.float64) / 32768.0
    rng = np.random.RandomState(0)
    noise = (0.05 * rng.randn(4000)).astype(np.float32).astype(np.float64)
    n = len(wave)
    # The default batch: the whole utterance, a cut that is not a multiple of the hop, one that
    # is, a very short one (3 frames) and the noise; run as one zero-padded batch.
    batch = {
        "full": wave,
        "cut_not_hop_multiple": wave[1000:1000 + 160 * 57 + 77],
        "cut_hop_multiple": wave[3000:3000 + 160 * 40],
        "very_short": wave[5000:5000 + 3 * 160 + 20],
        "noise": noise,
    }
    # Non-default options, one utterance each.
    extra = {
        "opts_64mel_win320_band_nonorm": (wave[:8000], dict(DEFAULT, n_mels=64, win_length=320, n_fft=512,
                                                            lowfreq=60.0, highfreq=7000.0,
                                                            normalize_per_feature=False)),
        "opts_nopreemph_hop128": (wave[2000:9000], dict(DEFAULT, preemph=0.0, hop_length=128)),
    }

    fb_librosa = librosa_slaney_mel(16000, 512, 80, 0.0, 8000.0)
    fb_ta = torchaudio.functional.melscale_fbanks(257, 0.0, 8000.0, 80, 16000, norm="slaney",
                                                  mel_scale="slaney").T.numpy()
    fb_diff = float(np.abs(fb_ta.astype(np.float64) - fb_librosa).max())
    assert fb_diff < 1e-6, fb_diff

    tensors = {"fb_slaney": fb_librosa.astype("<f4")}
    cases, f32_vs_f64 = [], {}
    waves = list(batch.values())
    f64, seq_len = nemo_reference(waves, DEFAULT, torch.float64)
    f32, _ = nemo_reference(waves, DEFAULT, torch.float32)
    f32_vs_f64["default_batch"] = float((f32.double() - f64).abs().max())
    # The batch's padded width and that NeMo's masking left zeros past each valid length.
    padded_width = int(f64.shape[-1])
    assert all(float(f64[i, :, seq_len[i]:].abs().max()) == 0.0 for i in range(len(waves)) if seq_len[i] < padded_width)
    for i, (name, w) in enumerate(batch.items()):
        tensors[f"{name}.samples"] = w.astype("<f4")
        tensors[f"{name}.features"] = f64[i, :, :seq_len[i]].T.numpy().astype("<f4")
        cases.append({"name": name, "options": DEFAULT})
    for name, (w, o) in extra.items():
        g64, sl = nemo_reference([w], o, torch.float64)
        g32, _ = nemo_reference([w], o, torch.float32)
        f32_vs_f64[name] = float((g32.double() - g64).abs().max())
        tensors[f"{name}.samples"] = w.astype("<f4")
        tensors[f"{name}.features"] = g64[0, :, :sl[0]].T.numpy().astype("<f4")
        cases.append({"name": name, "options": o})
    meta = {
        "cases": json.dumps(cases, sort_keys=True),
        "batch": json.dumps(list(batch.keys())),
        "batch_padded_width": str(padded_width),
        "atol": "1e-4",
        "f32_vs_f64_maxabs": json.dumps(f32_vs_f64, sort_keys=True),
        "fb_torchaudio_vs_librosa_maxabs": repr(fb_diff),
        "reference": f"torch {torch.__version__}, torchaudio {torchaudio.__version__}, float64",
        "text": TEXT,
    }
    write_safetensors(os.path.join(a.out, "nemo_mel.safetensors"), tensors, meta)
    for k, v in tensors.items():
        print(f"{k:40s} {str(v.dtype):8s} {list(v.shape)}")
    print("f32 vs f64:", f32_vs_f64, "fb torchaudio vs librosa:", fb_diff)


if __name__ == "__main__":
    main()
