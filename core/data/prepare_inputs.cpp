#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "core/data/commonvoice.h"
#include "core/data/manifest.h"
#include "core/data/nemo_manifest.h"
#include "core/data/prepare.h"
#include "core/error.h"

namespace trellis {

namespace fs = std::filesystem;

namespace {

bool is_audio_file(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".wav" || e == ".flac" || e == ".mp3" || e == ".ogg" || e == ".opus";
}

std::string read_text_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), {});
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// A folder of audio files; transcripts from `transcripts.tsv` (name<TAB>text, name = file name
// or stem) or `<stem>.txt` next to each file.
std::vector<SourceUtterance> read_dir(const std::string& dir) {
  TRELLIS_CHECK(fs::is_directory(dir), DataError, "{}: not a directory", dir);
  std::map<std::string, std::string> table;
  fs::path tsv = fs::path(dir) / "transcripts.tsv";
  if (fs::exists(tsv)) {
    std::ifstream in(tsv, std::ios::binary);
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      size_t t = line.find('\t');
      TRELLIS_CHECK(t != std::string::npos, DataError, "{}:{}: expected 'file<TAB>text'",
                    tsv.string(), n);
      table[line.substr(0, t)] = line.substr(t + 1);
    }
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && is_audio_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<SourceUtterance> out;
  for (const auto& f : files) {
    SourceUtterance u;
    u.id = f.stem().string();
    u.audio = fs::absolute(f).string();
    u.where = f.string();
    fs::path txt = f;
    txt.replace_extension(".txt");
    std::string rel = fs::relative(f, dir).string();
    if (table.count(rel))
      u.text = table[rel];
    else if (table.count(f.filename().string()))
      u.text = table[f.filename().string()];
    else if (table.count(u.id))
      u.text = table[u.id];
    else if (fs::exists(txt))
      u.text = read_text_file(txt);
    else
      throw DataError(fmt::format("{}: no transcript ({} or a line in {})", f.string(),
                                  txt.string(), tsv.string()));
    out.push_back(std::move(u));
  }
  TRELLIS_CHECK(!out.empty(), DataError, "{}: no audio files (.wav .flac .mp3 .ogg .opus)", dir);
  return out;
}

std::vector<SourceUtterance> read_one(const PrepareOptions& o, const std::string& path) {
  std::vector<SourceUtterance> out;
  if (o.input_format == "dir") return read_dir(path);
  if (o.input_format == "nemo") {
    for (const auto& e : read_nemo_manifest(path)) {
      SourceUtterance u;
      u.id = fs::path(e.audio_filepath).stem().string();
      if (e.offset > 0) u.id += fmt::format("_{}", static_cast<int64_t>(e.offset * 1000));
      u.audio = e.audio_filepath;
      u.offset = e.offset;
      u.duration = e.duration;
      u.text = e.text;
      u.where = fmt::format("{}:{}", path, e.line);
      out.push_back(std::move(u));
    }
    return out;
  }
  if (o.input_format == "tsv" || o.input_format == "commonvoice") {
    for (const auto& r : read_audio_text_table(path, o.clips_dir)) {
      SourceUtterance u;
      u.id = r.id;
      u.audio = r.audio;
      u.text = r.text;
      u.speaker = r.speaker;
      u.src_text = r.src_text;
      u.where = fmt::format("{}:{}", path, r.line);
      out.push_back(std::move(u));
    }
    return out;
  }
  throw ConfigError(
      fmt::format("--input-format '{}': expected tsv, nemo, commonvoice or dir", o.input_format));
}

}  // namespace

std::vector<SourceUtterance> read_prepare_inputs(const PrepareOptions& o) {
  TRELLIS_CHECK(!o.inputs.empty(), ConfigError, "--input: no input given");
  TRELLIS_CHECK(o.volume.empty() || o.volume.size() == 1 || o.volume.size() == o.inputs.size(),
                ConfigError, "--volume: give one fraction or one per input ({} inputs)",
                o.inputs.size());
  std::vector<SourceUtterance> all;
  std::set<std::string> ids;
  for (size_t k = 0; k < o.inputs.size(); ++k) {
    auto utts = read_one(o, o.inputs[k]);
    double vol = o.volume.empty() ? 1.0 : o.volume.size() == 1 ? o.volume[0] : o.volume[k];
    TRELLIS_CHECK(vol > 0 && vol <= 1, ConfigError, "--volume {} for {}: expected (0, 1]", vol,
                  o.inputs[k]);
    if (vol < 1) {
      // Seeded random subset of round(n * vol) utterances, kept in input order.
      std::vector<size_t> idx(utts.size());
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      std::mt19937 g(o.seed + static_cast<uint32_t>(k));
      std::shuffle(idx.begin(), idx.end(), g);
      idx.resize(static_cast<size_t>(std::llround(static_cast<double>(utts.size()) * vol)));
      std::sort(idx.begin(), idx.end());
      std::vector<SourceUtterance> kept;
      for (size_t i : idx) kept.push_back(std::move(utts[i]));
      utts = std::move(kept);
    }
    for (auto& u : utts) {
      u.input = static_cast<int>(k);
      std::string id = u.id;
      for (int n = 1; !ids.insert(id).second; ++n) id = fmt::format("{}_{}", u.id, n);
      u.id = id;
      all.push_back(std::move(u));
    }
  }
  return all;
}

}  // namespace trellis
