#pragma once
// The entry points of trellis's fuzz targets (docs/reliability.md, "Fuzzing"): one per reader
// of outside bytes. Each takes the fuzzer's bytes, hands them to the reader the way trellis
// reads such a file, and touches what the reader returns. A trellis::Error (DataError,
// ConfigError, ...) is the reader refusing the input: expected. Anything else (another
// exception, a crash, a sanitizer report, a hang) is a bug.
//
// Used by the libFuzzer binaries bench/fuzz/fuzz_<name>.cpp (built by bench/fuzz/run_fuzz.sh)
// and by tests/core/io/test_fuzz_regressions.cpp, which replays tests/data/fuzz_regressions/.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config_file.h"
#include "core/data/audio_reader.h"
#include "core/data/commonvoice.h"
#include "core/data/data_config.h"
#include "core/data/manifest.h"
#include "core/data/nemo_manifest.h"
#include "core/error.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/io/tar_reader.h"
#include "core/io/torch_pickle.h"
#include "core/io/zip_archive.h"
#include "core/nemo_checkpoint.h"

namespace trellis::fuzz {

// The bytes as a file named like the real thing (readers pick formats by extension), one per
// process and extension, rewritten for every input.
inline std::string scratch_file(const uint8_t* data, size_t size, const std::string& ext) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/trellis_fuzz_" +
                           std::to_string(::getpid()) + ext;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  if (!out) throw std::runtime_error("cannot write the fuzz scratch file " + path);
  return path;
}

inline std::string text(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs `f`; a trellis::Error is a refusal and ends it, anything else propagates.
template <class F>
void refusal_ok(F&& f) {
  try {
    f();
  } catch (const trellis::Error&) {
  }
}

// fairseq TSV manifest: the rows, and each row's audio field split as the loaders do.
inline void tsv_manifest(const uint8_t* d, size_t n) {
  Manifest m = parse_tsv_manifest(text(d, n), "fuzz.tsv");
  for (const ManifestRow& r : m.rows) refusal_ok([&] { (void)parse_audio_field(r.audio).spec(); });
}

inline void nemo_json(const uint8_t* d, size_t n) {
  (void)read_nemo_manifest(scratch_file(d, n, ".json"));
}

// Common Voice: the same bytes as TSV (no quoting) and as CSV (RFC 4180 quoting).
inline void common_voice(const uint8_t* d, size_t n) {
  const std::string tsv = scratch_file(d, n, ".tsv");
  refusal_ok([&] { (void)read_audio_text_table(tsv, "", '\t'); });
  (void)read_audio_text_table(tsv, "", ',');
}

inline void data_config(const uint8_t* d, size_t n) {
  (void)DataConfig::parse(text(d, n), "fuzz_config.yaml");
}

// --config FILE: as YAML (by extension) and as TOML.
inline void config_file(const uint8_t* d, size_t n) {
  refusal_ok([&] { (void)read_config_file(scratch_file(d, n, ".yaml")); });
  (void)read_config_file(scratch_file(d, n, ".toml"));
}

// Stored zip (fbank80.zip, .npz): the directory, every entry's bytes, every .npy inside.
inline void stored_zip(const uint8_t* d, size_t n) {
  const std::string path = scratch_file(d, n, ".zip");
  for (const ZipEntry& e : list_zip(path)) (void)read_byte_range(path, e.offset, e.size);
  (void)read_npz(path);
}

inline void npy(const uint8_t* d, size_t n) { (void)decode_npy(d, n, "fuzz.npy"); }

inline void safetensors(const uint8_t* d, size_t n) {
  SafeTensorsFile f(scratch_file(d, n, ".safetensors"));
  for (const std::string& name : f.names()) (void)f.get(name).to_double();
}

// The pickle machine on the raw bytes, then the same bytes as a torch.save file (zip or legacy).
inline void torch_pickle(const uint8_t* d, size_t n) {
  refusal_ok([&] {
    PickleRef v = unpickle(d, n, "fuzz.pkl");
    struct Release {
      PickleRef v;
      ~Release() { release_pickle(v); }
    } release{v};
    (void)v->repr(400);
    (void)collect_tensors(*v);
  });
  TorchPickleFile f(scratch_file(d, n, ".pt"));
  (void)f.tensors();
  (void)f.root().repr(400);
}

// The audio reader: the first line is the spec's suffix (":OFFSET:LENGTH" or empty), the rest
// the file; also decoded from memory.
inline void audio(const uint8_t* d, size_t n) {
  const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(d, '\n', n));
  const size_t head = nl ? size_t(nl - d) : 0, skip = nl ? head + 1 : 0;
  refusal_ok([&] { (void)decode_audio_bytes(d + skip, n - skip, 16000, "fuzz.wav"); });
  const std::string path = scratch_file(d + skip, n - skip, ".wav");
  (void)read_audio(path + text(d, head), 16000);
}

// NeMo .nemo: a tar (plain or compressed) with model_config.yaml and model_weights.ckpt.
inline void nemo_tar(const uint8_t* d, size_t n) {
  const std::string path = scratch_file(d, n, ".nemo");
  refusal_ok([&] { (void)list_tar(path); });
  (void)read_nemo_checkpoint(path);
}

struct Target {
  const char* name;
  void (*run)(const uint8_t*, size_t);
};

inline const std::vector<Target>& targets() {
  static const std::vector<Target> t = {
      {"tsv_manifest", tsv_manifest}, {"nemo_json", nemo_json},
      {"common_voice", common_voice}, {"data_config", data_config},
      {"config_file", config_file},   {"stored_zip", stored_zip},
      {"npy", npy},                   {"safetensors", safetensors},
      {"torch_pickle", torch_pickle}, {"audio", audio},
      {"nemo_tar", nemo_tar}};
  return t;
}

// Runs target `name` on one input; 0 always (libFuzzer's convention). Throws std::logic_error
// for an unknown name; a reader's non-trellis exception propagates (libFuzzer: a crash).
inline int run(const std::string& name, const uint8_t* data, size_t size) {
  for (const Target& t : targets()) {
    if (name == t.name) {
      refusal_ok([&] { t.run(data, size); });
      return 0;
    }
  }
  throw std::logic_error("no fuzz target named " + name);
}

}  // namespace trellis::fuzz
