#!/usr/bin/python3
"""Writes tests/data/goldens/batching/numpy_shuffle_order.json: upstream fairseq's training order
of one speech manifest with the data config's `shuffle: true`
(fairseq/data/audio/speech_to_text_dataset.py, SpeechToTextDataset.ordered_indices, called under
data_utils.numpy_seed(seed) by FairseqTask.get_batch_iterator):
    np.random.seed(seed); order = np.lexsort([np.random.permutation(n), -n_frames])
i.e. n_frames descending, ties in the order of a seeded random permutation. Computed with
Debian's numpy 1.24, the reference code for these numbers.
  /usr/bin/python3 tests/golden/make_shuffle_order_golden.py [OUT_DIR]
Regenerating gives a byte-identical file."""
import json
import os
import sys

import numpy as np


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data", "goldens", "batching")
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    gen = np.random.RandomState(2024)  # the inputs: n_frames with many ties
    for n, distinct in ((1, 1), (9, 3), (40, 5), (257, 12), (1000, 40)):
        n_frames = [int(v) for v in gen.randint(100, 100 + 7 * distinct, size=n) // 7 * 7]
        for seed in (1, 2, 12345):
            np.random.seed(seed)
            order = np.lexsort([np.random.permutation(n), [-v for v in n_frames]])
            cases.append({"seed": seed, "n_frames": n_frames,
                          "order": [int(i) for i in order]})
    path = os.path.join(out_dir, "numpy_shuffle_order.json")
    with open(path, "w") as f:
        json.dump({"numpy": np.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
