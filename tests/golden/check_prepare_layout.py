#!/usr/bin/python3
"""Reads a `prepare` output folder the way fairseq does and prints what it sees.

Mirrors fairseq's reader: the TSV with csv.DictReader(delimiter='\\t', quoting=QUOTE_NONE),
`path.zip:OFFSET:LENGTH` read as a byte range and parsed as .npy with numpy, the data config
with yaml, and targets encoded with sentencepiece when the Python module exists (skipped
otherwise). Prints one line per row: `id n_frames rows cols [n_tokens]`; exits 1 on mismatch.
Usage: check_prepare_layout.py DATA_ROOT SPLIT
"""
import csv
import io
import os
import sys

import numpy as np


def main():
    root, split = sys.argv[1], sys.argv[2]
    with open(os.path.join(root, split + ".tsv"), newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quotechar=None, doublequote=False,
                                lineterminator="\n", quoting=csv.QUOTE_NONE)
        rows = list(reader)
    cfg = {}
    try:
        import yaml
        with open(os.path.join(root, "config.yaml")) as f:
            cfg = yaml.load(f, Loader=yaml.FullLoader)
    except ImportError:
        pass
    spm = None
    try:
        import sentencepiece
        model = (cfg.get("bpe_tokenizer") or {}).get("sentencepiece_model")
        if model:
            spm = sentencepiece.SentencePieceProcessor(model_file=model)
    except ImportError:
        print("# sentencepiece module not available: token counts skipped")
    bad = 0
    for r in rows:
        path, *extra = r["audio"].split(":")
        assert len(extra) in (0, 2), "Invalid path: " + r["audio"]
        if extra:
            offset, length = int(extra[0]), int(extra[1])
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(length)
            assert data[:2] == b"\x93N", "not an npy entry: " + r["audio"]
            feats = np.load(io.BytesIO(data))
        else:
            feats = np.load(path) if path.endswith(".npy") else None
        shape = feats.shape if feats is not None else (int(r["n_frames"]), 0)
        line = "%s %s %d %d" % (r["id"], r["n_frames"], shape[0], shape[1])
        if spm is not None:
            line += " %d" % len(spm.encode(r["tgt_text"], out_type=str))
        if feats is not None and shape[0] != int(r["n_frames"]):
            bad += 1
            line += " MISMATCH"
        print(line)
    gcmvn = os.path.join(root, "gcmvn.npz")
    if os.path.exists(gcmvn):
        z = np.load(gcmvn)
        print("gcmvn", z["mean"].shape[0], z["std"].shape[0])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
