#!/usr/bin/python3
"""Writes tests/data/goldens/resampling/numpy_resampling.json: what fairseq's temperature
resampling (config `sampling_alpha`, docs/tasks.md) draws, from numpy itself.

- `draws`: numpy.random.RandomState([42, seed % 2**32, epoch]).choice(n, size, replace=...), the
  call of fairseq's ResamplingDataset.set_epoch (fairseq/data/resampling_dataset.py), run here
  with Debian's numpy 1.24 (the reference code for these numbers).
- `ratios`: SpeechToTextDatasetCreator.get_size_ratios (fairseq/data/audio/
  speech_to_text_dataset.py): per language pair p_i = frames_i / sum, q_i = p_i^alpha / sum_j p_j^alpha,
  ratio_i = q_i * sum / frames_i. fairseq is not installed here, so these lines restate that
  function (float64, the same operation order); the draws above are numpy's own.

  /usr/bin/python3 tests/golden/make_resampling_golden.py [OUT_DIR]
Regenerating gives a byte-identical file."""
import json
import math
import os
import sys
from collections import defaultdict

import numpy as np


def size_ratios(pairs, frames, alpha):
    lp_to_sz = defaultdict(int)
    for lp, f in zip(pairs, frames):
        lp_to_sz[lp] += f
    sz_sum = sum(lp_to_sz.values())
    prob = {k: v / sz_sum for k, v in lp_to_sz.items()}
    tgt = {k: v ** alpha for k, v in prob.items()}
    s = sum(tgt.values())
    tgt = {k: v / s for k, v in tgt.items()}
    ratio = {k: (tgt[k] * sz_sum) / v for k, v in lp_to_sz.items()}
    return [ratio[lp] for lp in pairs]


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data", "goldens", "resampling")
    os.makedirs(out_dir, exist_ok=True)
    draws = []
    for seed in (1, 7, 2**32 + 5):
        for epoch in (1, 2, 3):
            for n, ratio in ((1, 3.0), (7, 2.5), (300, 0.3), (300, 1.0), (1000, 1.7),
                             (70001, 0.002), (70001, 1.0005)):
                size = int(np.ceil(n * ratio))
                replace = ratio >= 1.0
                rng = np.random.RandomState([42, seed % 2**32, epoch])
                idx = rng.choice(n, size, replace=replace)
                case = {"seed": seed, "epoch": epoch, "n": n, "ratio": ratio, "size": size,
                        "replace": replace, "sum": int(idx.sum())}
                if size <= 1000:
                    case["indices"] = [int(i) for i in idx]
                else:  # the first and last 100 draws and the sum of all of them
                    case["head"] = [int(i) for i in idx[:100]]
                    case["tail"] = [int(i) for i in idx[-100:]]
                draws.append(case)
    ratios = []
    for pairs, frames, alpha in (
            (["en->de", "en->fr"], [1000, 9000], 0.5),
            (["en->de", "en->fr", "en->es"], [123457, 98765, 5555], 0.3),
            (["en->de", "en->de", "en->fr"], [400, 600, 4000], 0.5),
            (["en->de", "en->fr"], [1000, 9000], 2.0)):
        ratios.append({"pairs": pairs, "frames": frames, "alpha": alpha,
                       "ratios": size_ratios(pairs, frames, alpha)})
    assert all(math.isfinite(r) for c in ratios for r in c["ratios"])
    path = os.path.join(out_dir, "numpy_resampling.json")
    with open(path, "w") as f:
        json.dump({"numpy": np.__version__, "draws": draws, "ratios": ratios}, f,
                  separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
