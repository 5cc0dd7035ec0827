#!/usr/bin/python3
"""How much of NEST's masked-token loss a model could get without looking at its input: the
unigram entropy (bits) and the share of the most frequent token of the random-projection
targets that a NEST checkpoint's frozen quantizer gives a folder of audio. A pretraining run
whose masked-token loss sits at this entropy and whose accuracy sits at this share has only
learnt the token prior (docs/ssl.md, "Demonstration").

  /usr/bin/python3 bench/nest_token_prior.py CHECKPOINT AUDIO_DIR [--max-files 300]

CHECKPOINT: a trellis NEST checkpoint (checkpoint_*.pt; torch.load reads it). The features are
NeMo's log-mel front end in eval mode (no dither), computed by the independent reference in
tests/golden/make_nemo_mel_golden.py; tokens as the quantizer does (8 frames stacked, projected,
L2-normalised, nearest code). Needs Debian's python3-torch and python3-torchaudio.
"""
import argparse
import glob
import os
import sys

import torch
import torchaudio

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
from make_nemo_mel_golden import DEFAULT, nemo_reference  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("audio_dir")
    ap.add_argument("--max-files", type=int, default=300)
    a = ap.parse_args()
    model = torch.load(a.checkpoint, map_location="cpu")["model"]
    proj = model["quantizer.proj.weight"].double()  # (G*D, 8*80)
    books = model["quantizer.codebooks"].double()  # (G, C, D)
    G, C, D = books.shape
    steps = proj.shape[1] // DEFAULT["n_mels"]
    files = sorted(glob.glob(os.path.join(a.audio_dir, "*.wav")))[: a.max_files]
    if not files:
        sys.exit(f"{a.audio_dir}: no .wav files")
    counts = torch.zeros(G, C, dtype=torch.float64)
    for f in files:
        wave = torchaudio.load(f)[0][0].double().numpy()
        feats, lengths = nemo_reference([wave], DEFAULT, torch.float64)  # (1, 80, T), (1)
        x = feats[0, :, : int(lengths[0])].t()  # (T, 80)
        x = x[: x.shape[0] // steps * steps].reshape(-1, steps * x.shape[1])  # (T/8, 640)
        z = torch.nn.functional.normalize((x @ proj.t()).view(-1, G, D), dim=-1)  # (T/8, G, D)
        for g in range(G):
            counts[g] += torch.bincount(torch.cdist(z[:, g], books[g]).argmin(-1), minlength=C)
    for g in range(G):
        p = counts[g] / counts[g].sum()
        nz = p[p > 0]
        print(f"book {g}: {int(counts[g].sum())} tokens from {len(files)} files, "
              f"{int((counts[g] > 0).sum())} of {C} classes seen, unigram entropy "
              f"{float(-(nz * nz.log2()).sum()):.2f} bits, most frequent token {100 * float(p.max()):.1f}%")


if __name__ == "__main__":
    main()
