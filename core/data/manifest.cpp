#include "core/data/manifest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"

namespace trellis {

namespace {

bool parse_int64(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  size_t pos = 0;
  try {
    out = std::stoll(s, &pos);
  } catch (...) {
    return false;
  }
  return pos == s.size();
}

const char* kKnown[] = {"id",      "audio",    "n_frames", "tgt_text",
                        "speaker", "src_text", "src_lang", "tgt_lang"};

}  // namespace

bool Manifest::has_column(const std::string& name) const {
  return std::find(columns.begin(), columns.end(), name) != columns.end();
}

Manifest read_tsv_manifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open manifest", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_tsv_manifest(ss.str(), path);
}

Manifest parse_tsv_manifest(const std::string& text, const std::string& path) {
  Manifest m;
  m.path = path;
  std::istringstream in(text);
  std::string line;
  int64_t lineno = 0;
  std::map<std::string, size_t> col;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // universal newlines
    if (lineno == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line = line.substr(3);  // BOM
    if (m.columns.empty()) {
      TRELLIS_CHECK(!line.empty(), DataError, "{}:{}: empty header line", path, lineno);
      m.columns = split_all(line, '\t');
      for (size_t i = 0; i < m.columns.size(); ++i) {
        TRELLIS_CHECK(col.emplace(m.columns[i], i).second, DataError,
                      "{}:{}: duplicate column '{}' in header", path, lineno, m.columns[i]);
      }
      for (const char* req : {"id", "audio", "n_frames", "tgt_text"}) {
        TRELLIS_CHECK(col.count(req), DataError, "{}:{}: missing required column '{}' (header: {})",
                      path, lineno, req, fmt::join(m.columns, ", "));
      }
      continue;
    }
    if (line.empty()) continue;  // csv.DictReader skips blank rows
    std::vector<std::string> f = split_all(line, '\t');
    std::string id = col.at("id") < f.size() ? f[col.at("id")] : "?";
    TRELLIS_CHECK(f.size() == m.columns.size(), DataError,
                  "{}:{}: expected {} tab-separated fields, found {} (sample '{}')", path, lineno,
                  m.columns.size(), f.size(), id);
    ManifestRow r;
    r.line = lineno;
    auto get = [&](const char* name) -> std::string {
      auto it = col.find(name);
      return it == col.end() ? std::string() : f[it->second];
    };
    r.id = get("id");
    r.audio = get("audio");
    r.tgt_text = get("tgt_text");
    r.speaker = get("speaker");
    r.src_text = get("src_text");
    r.src_lang = get("src_lang");
    r.tgt_lang = get("tgt_lang");
    std::string nf = get("n_frames");
    TRELLIS_CHECK(parse_int64(nf, r.n_frames) && r.n_frames >= 0, DataError,
                  "{}:{}: n_frames '{}' is not a non-negative integer (sample '{}')", path, lineno,
                  nf, r.id);
    TRELLIS_CHECK(!r.id.empty(), DataError, "{}:{}: empty id", path, lineno);
    TRELLIS_CHECK(!r.audio.empty(), DataError, "{}:{}: empty audio field (sample '{}')", path,
                  lineno, r.id);
    for (size_t i = 0; i < m.columns.size(); ++i) {
      if (std::find(std::begin(kKnown), std::end(kKnown), m.columns[i]) == std::end(kKnown))
        r.extra[m.columns[i]] = f[i];
    }
    m.rows.push_back(std::move(r));
  }
  TRELLIS_CHECK(!m.columns.empty(), DataError, "{}: empty manifest (no header line)", path);
  return m;
}

void write_tsv_manifest(const std::string& path, const std::vector<ManifestRow>& rows,
                        std::vector<std::string> columns) {
  if (columns.empty()) {
    columns = {"id", "audio", "n_frames", "tgt_text", "speaker"};
    for (const char* opt : {"src_text", "src_lang", "tgt_lang"}) {
      bool any = std::any_of(rows.begin(), rows.end(), [&](const ManifestRow& r) {
        return !(std::string(opt) == "src_text"   ? r.src_text
                 : std::string(opt) == "src_lang" ? r.src_lang
                                                  : r.tgt_lang)
                    .empty();
      });
      if (any) columns.push_back(opt);
    }
  }
  std::ofstream out(path, std::ios::binary);
  TRELLIS_CHECK(out.good(), DataError, "{}: cannot write manifest", path);
  out << fmt::format("{}\n", fmt::join(columns, "\t"));
  for (const auto& r : rows) {
    for (size_t i = 0; i < columns.size(); ++i) {
      const std::string& c = columns[i];
      std::string v;
      if (c == "id")
        v = r.id;
      else if (c == "audio")
        v = r.audio;
      else if (c == "n_frames")
        v = std::to_string(r.n_frames);
      else if (c == "tgt_text")
        v = r.tgt_text;
      else if (c == "speaker")
        v = r.speaker;
      else if (c == "src_text")
        v = r.src_text;
      else if (c == "src_lang")
        v = r.src_lang;
      else if (c == "tgt_lang")
        v = r.tgt_lang;
      else if (r.extra.count(c))
        v = r.extra.at(c);
      TRELLIS_CHECK(v.find_first_of("\t\n\r") == std::string::npos, DataError,
                    "{}: field '{}' of sample '{}' holds a tab or newline, which the TSV format "
                    "cannot represent",
                    path, c, r.id);
      out << (i ? "\t" : "") << v;
    }
    out << '\n';
  }
  TRELLIS_CHECK(out.good(), DataError, "{}: write failed", path);
}

std::string AudioRef::spec() const {
  if (kind == Kind::kByteRange) return fmt::format("{}:{}:{}", path, offset, length);
  return path;
}

AudioRef parse_audio_field(const std::string& audio, const std::string& audio_root) {
  auto join = [&](const std::string& p) {
    return audio_root.empty() ? p : (std::filesystem::path(audio_root) / p).string();
  };
  AudioRef ref;
  std::string lower = audio;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  for (const char* ext : {".npy", ".wav", ".flac", ".ogg", ".mp3", ".opus", ".zip"}) {
    if (ends_with(lower, ext)) {
      ref.kind = std::string(ext) == ".npy" ? AudioRef::Kind::kNpy : AudioRef::Kind::kAudioFile;
      ref.path = join(audio);
      return ref;
    }
  }
  // path:offset:length (the path itself may contain ':').
  size_t c2 = audio.rfind(':');
  size_t c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : audio.rfind(':', c2 - 1);
  if (c1 != std::string::npos) {
    int64_t off = 0, len = 0;
    std::string so = audio.substr(c1 + 1, c2 - c1 - 1), sl = audio.substr(c2 + 1);
    if (parse_int64(so, off) && parse_int64(sl, len)) {
      TRELLIS_CHECK(off >= 0 && len > 0, DataError,
                    "invalid byte range in audio path '{}' (offset {}, length {})", audio, off,
                    len);
      ref.kind = AudioRef::Kind::kByteRange;
      ref.path = join(audio.substr(0, c1));
      ref.offset = off;
      ref.length = len;
      return ref;
    }
  }
  TRELLIS_CHECK(audio.find(':') == std::string::npos, DataError,
                "invalid audio path '{}': expected a file or 'archive.zip:OFFSET:LENGTH'", audio);
  ref.kind = AudioRef::Kind::kAudioFile;
  ref.path = join(audio);
  return ref;
}

}  // namespace trellis
