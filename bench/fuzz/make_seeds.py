#!/usr/bin/python3
"""Writes the seed corpora bench/fuzz/corpus/<target>/ (committed; run again only to change
them): small valid inputs of each reader, a few hundred bytes to a few KiB each.
Run with Debian's /usr/bin/python3 (numpy, torch 1.13) from the repository root."""
import io
import json
import os
import pickle
import shutil
import struct
import sys
import tarfile
import wave
import zipfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "bench", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def npy_bytes(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def stored_zip(members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for n, d in members:
            z.writestr(n, d)
    return b.getvalue()


def wav_bytes(n=64, rate=16000, channels=1, width=2):
    b = io.BytesIO()
    with wave.open(b, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes((k * 37) % 256 for k in range(n * channels * width)))
    return b.getvalue()


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    put("tsv_manifest", "fbank.tsv",
        "id\taudio\tn_frames\ttgt_text\tspeaker\n"
        "utt1\tfbank80.zip:42:1280\t4\thello world\tspk1\n"
        "utt2\twav/utt2.flac\t16000\tsecond \"quoted\" line\tspk2\n")
    put("tsv_manifest", "st.tsv",
        "id\taudio\tn_frames\tsrc_text\ttgt_text\tsrc_lang\ttgt_lang\textra\n"
        "a\tx.npy\t10\tbonjour\thello\tfr\ten\t1\n\n")
    put("nemo_json", "manifest.json",
        '{"audio_filepath": "a.wav", "duration": 1.5, "text": "hello"}\n'
        '{"audio_filepath": "/abs/b.flac", "duration": 2, "offset": 0.5, "text": "w\\u00f6rld", '
        '"lang": "de"}\n')
    put("common_voice", "validated.tsv",
        "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\n"
        "abc123\tcommon_voice_en_1.mp3\tA sentence.\t2\t0\t\t\n")
    put("common_voice", "table.csv",
        'id,audio,text,speaker\nu1,clips/u1.wav,"a, quoted ""text""",s1\nu2,u2.wav,plain,s2\n')
    put("data_config", "config.yaml",
        "vocab_filename: dict.txt\nbpe_tokenizer: {bpe: sentencepiece, sentencepiece_model: spm.model}\n"
        "input_channels: 1\ninput_feat_per_channel: 80\nsampling_alpha: 1\n"
        "specaugment: {freq_mask_F: 27, freq_mask_N: 2, time_mask_N: 2, time_mask_T: 100, "
        "time_mask_p: 1, time_wrap_W: 0}\n"
        "transforms:\n  '*': [utterance_cmvn]\n  _train: [utterance_cmvn, specaugment]\n"
        "global_cmvn: {stats_npz_path: gcmvn.npz}\n")
    put("config_file", "flat.yaml", "max_tokens: 40000\nlr: [0.002]\nfp16: true\narch: conformer\n")
    put("config_file", "nested.yaml",
        "common:\n  seed: 3\n  log_interval: 10\noptimization:\n  max_update: 100\n  lr: [1e-3, 2e-3]\n")
    put("config_file", "config.toml",
        'arch = "conformer"\n[optimization]\nmax_update = 100\nlr = [0.001]\n[common]\nfp16 = false\n')
    feats = np.arange(12, dtype=np.float32).reshape(3, 4)
    put("npy", "f4.npy", npy_bytes(feats))
    put("npy", "f2.npy", npy_bytes(np.array([1.5, -2], dtype=np.float16)))
    put("npy", "i8.npy", npy_bytes(np.array(7, dtype=np.int64)))
    put("npy", "u1_3d.npy", npy_bytes(np.zeros((2, 1, 3), dtype=np.uint8)))
    put("stored_zip", "fbank.zip", stored_zip([("u1.npy", npy_bytes(feats)),
                                               ("u2.npy", npy_bytes(feats[:1]))]))
    put("stored_zip", "npz.zip", stored_zip([("x.npy", npy_bytes(np.ones(3, np.float64)))]))
    header = {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
              "b": {"dtype": "I64", "shape": [1], "data_offsets": [16, 24]},
              "__metadata__": {"config": "{\"x\": 1}"}}
    h = json.dumps(header).encode()
    put("safetensors", "two.safetensors",
        struct.pack("<Q", len(h)) + h + struct.pack("<4f", 1, 2, 3, 4) + struct.pack("<q", -5))
    h = json.dumps({"h": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}).encode()
    put("safetensors", "bf16.safetensors", struct.pack("<Q", len(h)) + h + bytes(6))
    for name in ["state_dict.pt", "legacy_ckpt.pt"]:
        with open(os.path.join(ROOT, "tests", "data", "torch_pickle", name), "rb") as f:
            put("torch_pickle", name, f.read())
    b = io.BytesIO()
    torch.save({"w": torch.arange(6.0).reshape(2, 3), "n": torch.tensor([1, 2])}, b)
    put("torch_pickle", "small_zip.pt", b.getvalue())
    b = io.BytesIO()
    torch.save({"w": torch.ones(2, 2).t()}, b, _use_new_zipfile_serialization=False)
    put("torch_pickle", "small_legacy.pt", b.getvalue())
    put("torch_pickle", "p0.pkl", pickle.dumps({"a": [1, -2.5, None, True], "b": (1,)}, protocol=0))
    put("torch_pickle", "p4.pkl", pickle.dumps({"k": b"\x01", "s": {1, 2}, "big": 1 << 70}, protocol=4))
    put("audio", "plain.wav", b"\n" + wav_bytes())
    put("audio", "stereo24.wav", b"\n" + wav_bytes(32, 8000, 2, 3))
    wav = wav_bytes()
    put("audio", "range.zip", (":%d:%d\n" % (30 + 5, len(wav))).encode() +
        stored_zip([("a.wav", wav)]))
    with open(os.path.join(ROOT, "tests", "data", "nemo", "tiny_nest.nemo"), "rb") as f:
        put("nemo_tar", "tiny_nest.nemo", f.read())
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz") as t:
        for n, d in [("./model_config.yaml", b"sample_rate: 16000\n"),
                     ("./model_weights.ckpt", open(os.path.join(OUT, "torch_pickle",
                                                                "small_zip.pt"), "rb").read())]:
            info = tarfile.TarInfo(n)
            info.size = len(d)
            t.addfile(info, io.BytesIO(d))
    put("nemo_tar", "gz.nemo", b.getvalue())


if __name__ == "__main__":
    sys.exit(main())
