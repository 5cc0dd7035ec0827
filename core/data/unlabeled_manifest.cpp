#include "core/data/unlabeled_manifest.h"

#include <sndfile.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/data/audio_reader.h"
#include "core/data/data_config.h"
#include "core/data/manifest.h"
#include "core/data/nemo_manifest.h"
#include "core/error.h"
#include "core/io/zip_archive.h"
#include "core/strings.h"

namespace trellis {

namespace fs = std::filesystem;

namespace {

bool is_audio_path(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".wav" || ext == ".flac" || ext == ".ogg" || ext == ".mp3" || ext == ".sph";
}

bool parse_count(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  size_t pos = 0;
  try {
    out = std::stoll(s, &pos);
  } catch (...) {
    return false;
  }
  return pos == s.size() && out >= 0;
}

// `p` against `base` when the file exists there (NeMo's and the noise lists' rule).
std::string resolve(const std::string& p, const fs::path& base) {
  if (fs::path(p).is_relative() && !base.empty() && fs::exists(base / p))
    return (base / p).string();
  return p;
}

std::string stem_id(const std::string& path) { return fs::path(path).stem().string(); }

}  // namespace

int64_t audio_file_samples(const std::string& path, int sample_rate) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  TRELLIS_CHECK(f != nullptr, DataError, "{}: cannot open audio: {}", path, sf_strerror(nullptr));
  sf_close(f);
  TRELLIS_CHECK(info.samplerate > 0, DataError, "{}: no sample rate in the header", path);
  if (info.samplerate == sample_rate) return static_cast<int64_t>(info.frames);
  return std::llround(static_cast<double>(info.frames) * sample_rate / info.samplerate);
}

NFramesUnit n_frames_unit_beside(const std::string& tsv_path) {
  const fs::path config = fs::path(tsv_path).parent_path() / "config.yaml";
  if (!fs::is_regular_file(config)) return NFramesUnit::kFrames10ms;
  const DataConfig c = DataConfig::load(config.string());
  return c.use_audio_input || c.is_input_waveform ? NFramesUnit::kSamples
                                                  : NFramesUnit::kFrames10ms;
}

UnlabeledManifest read_unlabeled_tsv(const std::string& path, int sample_rate,
                                     NFramesUnit n_frames_unit) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open manifest", path);
  UnlabeledManifest m;
  m.path = path;
  const fs::path base = fs::path(path).parent_path();
  std::string line;
  int64_t lineno = 0;
  std::map<std::string, size_t> col;
  size_t ncols = 0;
  fs::path wav2vec_root;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineno == 1) {
      if (line.rfind("\xEF\xBB\xBF", 0) == 0) line = line.substr(3);
      TRELLIS_CHECK(!line.empty(), DataError, "{}:1: empty first line", path);
      if (line.find('\t') == std::string::npos && line != "audio") {  // wav2vec: a root folder
        m.kind = "wav2vec";
        m.sizes_from = "n_samples";
        wav2vec_root = resolve(line, base);
        TRELLIS_CHECK(fs::is_directory(wav2vec_root), DataError,
                      "{}:1: '{}' is neither a header with an 'audio' column nor an existing "
                      "audio root folder (wav2vec manifest)",
                      path, line);
        continue;
      }
      m.kind = "tsv";
      std::vector<std::string> head = split_all(line, '\t');
      ncols = head.size();
      for (size_t i = 0; i < head.size(); ++i) col.emplace(head[i], i);
      TRELLIS_CHECK(col.count("audio"), DataError, "{}:1: no 'audio' column (header: {})", path,
                    fmt::join(head, ", "));
      if (col.count("n_samples")) {
        m.sizes_from = "n_samples";
      } else if (col.count("n_frames")) {
        if (n_frames_unit == NFramesUnit::kAuto) n_frames_unit = n_frames_unit_beside(path);
        m.sizes_from = n_frames_unit == NFramesUnit::kSamples ? "n_frames (samples)"
                                                              : "n_frames (10 ms frames)";
      } else {
        m.sizes_from = "header";
      }
      continue;
    }
    if (trim(line).empty()) continue;
    std::vector<std::string> f = split_all(line, '\t');
    UnlabeledEntry e;
    e.line = lineno;
    if (m.kind == "wav2vec") {
      TRELLIS_CHECK(f.size() == 2, DataError,
                    "{}:{}: expected `path<TAB>num_samples` (wav2vec manifest), found {} fields",
                    path, lineno, f.size());
      e.audio = (wav2vec_root / f[0]).string();
      e.id = stem_id(f[0]);
      TRELLIS_CHECK(parse_count(f[1], e.num_samples), DataError,
                    "{}:{}: num_samples '{}' is not a non-negative integer", path, lineno, f[1]);
    } else {
      TRELLIS_CHECK(f.size() == ncols, DataError,
                    "{}:{}: expected {} tab-separated fields, found {}", path, lineno, ncols,
                    f.size());
      const std::string audio = f[col.at("audio")];
      TRELLIS_CHECK(!audio.empty(), DataError, "{}:{}: empty audio field", path, lineno);
      AudioRef ref = parse_audio_field(audio);
      TRELLIS_CHECK(ref.kind != AudioRef::Kind::kNpy, DataError,
                    "{}:{}: '{}' holds stored features; pretraining needs the audio (clean and "
                    "noisy features are computed from the waveform)",
                    path, lineno, audio);
      if (ref.kind == AudioRef::Kind::kAudioFile) ref.path = resolve(ref.path, base);
      e.audio = ref.spec();
      e.id = col.count("id") ? f[col.at("id")] : stem_id(ref.path);
      auto count = [&](const char* name, int64_t scale) {
        const std::string& v = f[col.at(name)];
        int64_t n = 0;
        TRELLIS_CHECK(parse_count(v, n), DataError,
                      "{}:{}: {} '{}' is not a non-negative integer (sample '{}')", path, lineno,
                      name, v, e.id);
        return n * scale;
      };
      if (col.count("n_samples")) {
        e.num_samples = count("n_samples", 1);
      } else if (col.count("n_frames")) {
        e.num_samples =
            count("n_frames", n_frames_unit == NFramesUnit::kSamples ? 1 : sample_rate / 100);
      } else {
        TRELLIS_CHECK(ref.kind == AudioRef::Kind::kAudioFile, DataError,
                      "{}:{}: '{}' is a byte range: give its size in an n_samples or n_frames "
                      "column",
                      path, lineno, audio);
        try {
          e.num_samples = audio_file_samples(e.audio, sample_rate);
        } catch (const DataError& err) {
          throw DataError(fmt::format("{}:{}: {}", path, lineno, err.what()));
        }
      }
    }
    m.entries.push_back(std::move(e));
  }
  TRELLIS_CHECK(lineno > 0, DataError, "{}: empty manifest", path);
  TRELLIS_CHECK(!m.entries.empty(), DataError, "{}: the manifest has no samples", path);
  return m;
}

UnlabeledManifest read_unlabeled_json(const std::string& path, int sample_rate) {
  UnlabeledManifest m;
  m.path = path;
  m.kind = "json";
  m.sizes_from = "duration";
  for (NemoEntry& n : read_nemo_manifest(path)) {
    UnlabeledEntry e;
    e.line = n.line;
    e.audio = n.audio_filepath;
    e.id = stem_id(n.audio_filepath);
    e.offset_s = n.offset;
    e.duration_s = n.duration;
    if (n.duration >= 0) {
      e.num_samples = static_cast<int64_t>(std::floor(n.duration * sample_rate));
    } else {
      m.sizes_from = "header";
      try {
        e.num_samples = audio_file_samples(e.audio, sample_rate) -
                        static_cast<int64_t>(std::floor(n.offset * sample_rate));
      } catch (const DataError& err) {
        throw DataError(fmt::format("{}:{}: {}", path, n.line, err.what()));
      }
      TRELLIS_CHECK(e.num_samples > 0, DataError, "{}:{}: offset {} s is past the end of '{}'",
                    path, n.line, n.offset, e.audio);
    }
    m.entries.push_back(std::move(e));
  }
  TRELLIS_CHECK(!m.entries.empty(), DataError, "{}: the manifest has no samples", path);
  return m;
}

UnlabeledManifest list_unlabeled_folder(const std::string& dir, int sample_rate) {
  UnlabeledManifest m;
  m.path = dir;
  m.kind = "folder";
  m.sizes_from = "header";
  std::vector<std::string> files;
  for (const auto& e :
       fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink)) {
    if (e.is_regular_file() && is_audio_path(e.path())) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  TRELLIS_CHECK(!files.empty(), DataError, "{}: no audio files (.wav .flac .ogg .mp3 .sph) found",
                dir);
  for (const std::string& f : files) {
    UnlabeledEntry e;
    e.audio = f;
    fs::path rel = fs::relative(f, dir);
    e.id = (rel.parent_path() / rel.stem()).generic_string();
    e.num_samples = audio_file_samples(f, sample_rate);
    m.entries.push_back(std::move(e));
  }
  return m;
}

UnlabeledManifest find_unlabeled_manifest(const std::string& data_root, const std::string& name,
                                          int sample_rate, NFramesUnit n_frames_unit) {
  const fs::path root(data_root);
  const fs::path tsv = root / (name + ".tsv"), json = root / (name + ".json"), dir = root / name;
  if (fs::is_regular_file(tsv)) return read_unlabeled_tsv(tsv.string(), sample_rate, n_frames_unit);
  if (fs::is_regular_file(json)) return read_unlabeled_json(json.string(), sample_rate);
  if (fs::is_directory(dir)) return list_unlabeled_folder(dir.string(), sample_rate);
  throw DataError(fmt::format("dataset not found: none of {}, {} or the folder {}/ exists (split "
                              "'{}')",
                              tsv.string(), json.string(), dir.string(), name));
}

std::vector<float> read_unlabeled_audio(const UnlabeledEntry& e, int sample_rate) {
  Audio a;
  AudioRef ref = parse_audio_field(e.audio);
  if (ref.kind == AudioRef::Kind::kByteRange) {
    std::vector<uint8_t> bytes = read_byte_range(ref.path, static_cast<uint64_t>(ref.offset),
                                                 static_cast<uint64_t>(ref.length));
    a = decode_audio_bytes(bytes.data(), bytes.size(), sample_rate, e.audio);
  } else {
    a = read_audio(e.audio, sample_rate);
  }
  if (e.offset_s <= 0 && e.duration_s < 0) return std::move(a.samples);
  const auto n = static_cast<int64_t>(a.samples.size());
  const auto begin = static_cast<int64_t>(std::llround(e.offset_s * sample_rate));
  TRELLIS_CHECK(begin < n, DataError, "{}: offset {} s is past the end ({} samples)", e.audio,
                e.offset_s, n);
  int64_t end = n;
  if (e.duration_s >= 0)
    end = std::min(n, begin + static_cast<int64_t>(std::floor(e.duration_s * sample_rate)));
  return std::vector<float>(a.samples.begin() + begin, a.samples.begin() + end);
}

}  // namespace trellis
