#!/usr/bin/python3
"""Goldens for trellis's Kaldi fbank with non-default options, computed by
torchaudio.compliance.kaldi.fbank itself (Debian python3-torchaudio 0.13, torch 1.13).

  /usr/bin/python3 tests/golden/make_fbank_golden.py [--out tests/data/goldens/fbank_extra]

Audio: espeak-ng speech converted with sox to 16 kHz and 8 kHz mono 16-bit. Writes
fbank_extra.safetensors with, per case, `<case>.fbank` [T, D] F32, computed by torchaudio in
float64 (its float32 run differs from it by up to ~4e-3 in near-silent frames, where log energies
near the floor amplify float32 rounding; metadata `f32_vs_f64_maxabs` records it); the inputs `wave16k.pcm_int16`
and `wave8k.pcm_int16` [N] I16 (the float waveform fed to fbank is pcm, i.e. Kaldi's int16 scale);
metadata `fbank_options` = {case: torchaudio kwargs}, `fbank_input` = {case: input tensor},
`atol`. Also gcmvn_numpy.npz (np.savez: mean = [0, 1, 2, 3], std = [1, 2, 4, 8]) to test reading
NumPy's own npz files. Regenerating gives byte-identical files.
"""
import argparse
import json
import os
import struct
import subprocess
import tempfile

import numpy as np
import torch
import torchaudio

TEXT = "Seven bright foxes."

CASES = {
    # name: (input, kwargs)
    "bins40_hamming_nosnip": ("wave16k", dict(num_mel_bins=40, window_type="hamming", snip_edges=False)),
    "energy_povey": ("wave16k", dict(num_mel_bins=80, use_energy=True, energy_floor=0.0)),
    "energy_htk_windowed": ("wave16k", dict(num_mel_bins=64, use_energy=True, htk_compat=True,
                                            raw_energy=False, energy_floor=1.0)),
    "hanning_magnitude_nodc": ("wave16k", dict(num_mel_bins=80, window_type="hanning", use_power=False,
                                               remove_dc_offset=False, preemphasis_coefficient=0.0)),
    "blackman_band_20ms": ("wave16k", dict(num_mel_bins=48, window_type="blackman", frame_length=20.0,
                                           frame_shift=8.0, low_freq=64.0, high_freq=-400.0,
                                           subtract_mean=True)),
    "8k_rect_nopow2": ("wave8k", dict(num_mel_bins=23, window_type="rectangular", sample_frequency=8000.0,
                                      round_to_power_of_two=False, snip_edges=False)),
}


def speech(rate, workdir):
    raw, out = os.path.join(workdir, "raw.wav"), os.path.join(workdir, f"s{rate}.raw")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "175", "-w", raw, TEXT], check=True)
    subprocess.run(["sox", "-D", raw, "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw",
                    out], check=True)
    return np.fromfile(out, dtype="<i2")


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
    p.add_argument("--out", default=os.path.join(here, "..", "data", "goldens", "fbank_extra"))
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        waves = {"wave16k": speech(16000, tmp), "wave8k": speech(8000, tmp)}
    tensors = {f"{k}.pcm_int16": v for k, v in waves.items()}
    options, inputs, f32_vs_f64 = {}, {}, {}
    for name, (inp, kw) in CASES.items():
        kw = dict(kw)
        kw.setdefault("sample_frequency", 16000.0)
        kw["dither"] = 0.0
        w = torch.from_numpy(waves[inp].astype(np.float64)).unsqueeze(0)
        feats = torchaudio.compliance.kaldi.fbank(w, **kw)  # float64: the exact answer
        feats32 = torchaudio.compliance.kaldi.fbank(w.float(), **kw)  # what fairseq's prep gets
        f32_vs_f64[name] = float((feats32.double() - feats).abs().max())
        tensors[f"{name}.fbank"] = feats.numpy().astype("<f4")
        options[name], inputs[name] = kw, f"{inp}.pcm_int16"
    meta = {
        "fbank_options": json.dumps(options, sort_keys=True),
        "fbank_input": json.dumps(inputs, sort_keys=True),
        "atol": "1e-3",
        "fbank_dtype": "float64 (torchaudio run on float64 input, rounded to float32)",
        "f32_vs_f64_maxabs": json.dumps(f32_vs_f64, sort_keys=True),
        "fbank_call": "torchaudio.compliance.kaldi.fbank(pcm_int16 as float32 (1xN), **fbank_options[case])",
        "reference": f"torch {torch.__version__}, torchaudio {torchaudio.__version__}",
        "text": TEXT,
    }
    write_safetensors(os.path.join(a.out, "fbank_extra.safetensors"), tensors, meta)
    np.savez(os.path.join(a.out, "gcmvn_numpy.npz"), mean=np.arange(4, dtype=np.float32),
             std=np.array([1, 2, 4, 8], dtype=np.float32))
    for k, v in tensors.items():
        print(f"{k:40s} {str(v.dtype):8s} {list(v.shape)}")


if __name__ == "__main__":
    main()
