#!/usr/bin/python3
"""WER/CER goldens for tests/core/generate/test_wer_golden.cpp, from fairseq's rules.

Reads tests/data/wer/pairs.tsv (reference TAB hypothesis; the first 20 are decodes of the
quickstart model, the rest exercise punctuation, case and symbols) and writes
tests/data/wer/expected.tsv: one line per option set with the corpus error count, the
reference length and the rate in percent.

The normalisation follows fairseq's scoring/wer.py (tokenizer none = whitespace split, then
tokens made only of Unicode punctuation (category P*) removed, then characters with spaces as
U+2581, then str.lower()); CER is ESPnet's (characters, spaces removed). The edit distance is
the textbook dynamic programme, written here independently of the C++ one.
Usage: /usr/bin/python3 tests/golden/make_wer_golden.py   (standard library only)
"""
import os
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "wer")


def levenshtein(a, b):
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return d[len(b)]


def tokens(text, remove_punct=False, lowercase=False, char_level=False, cer=False):
    words = text.split()
    if remove_punct:
        words = [w for w in words if not all(unicodedata.category(c).startswith("P") for c in w)]
    if char_level or cer:
        joined = ("" if cer else "\u2581").join(words)
        words = list(joined)
    if lowercase:
        words = [w.lower() for w in words]
    return words


CASES = {
    "none": {},
    "lowercase": {"lowercase": True},
    "remove_punct": {"remove_punct": True},
    "remove_punct+lowercase": {"remove_punct": True, "lowercase": True},
    "char_level": {"char_level": True},
    "cer": {"cer": True},
}


def main():
    pairs = []
    with open(os.path.join(DATA, "pairs.tsv"), encoding="utf-8") as f:
        for line in f:
            ref, hyp = line.rstrip("\n").split("\t")
            pairs.append((ref, hyp))
    with open(os.path.join(DATA, "expected.tsv"), "w", encoding="utf-8") as out:
        out.write("case\terrors\tref_length\trate\n")
        for name, opts in CASES.items():
            errors = length = 0
            for ref, hyp in pairs:
                r, h = tokens(ref, **opts), tokens(hyp, **opts)
                errors += levenshtein(r, h)
                length += len(r)
            out.write(f"{name}\t{errors}\t{length}\t{100.0 * errors / length:.6f}\n")


if __name__ == "__main__":
    main()
