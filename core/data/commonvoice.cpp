#include "core/data/commonvoice.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"

namespace trellis {

namespace fs = std::filesystem;

std::vector<std::string> split_csv_line(const std::string& line, char delim,
                                        const std::string& where) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"' && cur.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == delim) {
      out.push_back(cur);
      cur.clear();
      was_quoted = false;
    } else {
      cur += c;
    }
  }
  TRELLIS_CHECK(!quoted, DataError, "{}: unterminated quoted field", where);
  out.push_back(cur);
  return out;
}

static std::vector<std::string> split_plain(const std::string& line, char delim) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = line.find(delim, start);
    out.push_back(line.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

static std::string resolve_clip(const std::string& p, const fs::path& table_dir,
                                const std::string& clips_dir) {
  std::vector<fs::path> cands;
  if (fs::path(p).is_absolute()) cands.push_back(p);
  if (!clips_dir.empty()) cands.push_back(fs::path(clips_dir) / p);
  cands.push_back(table_dir / "clips" / p);
  cands.push_back(table_dir / p);
  cands.push_back(p);
  std::error_code ec;  // a path too long for the file system is simply not there
  for (const auto& c : cands) {
    if (fs::is_regular_file(c, ec)) return c.string();
    fs::path mp3 = c;
    mp3 += ".mp3";
    if (fs::is_regular_file(mp3, ec)) return mp3.string();
  }
  return cands.front().string();  // reported when read
}

std::vector<AudioTextRow> read_audio_text_table(const std::string& path,
                                                const std::string& clips_dir, char delim) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open", path);
  if (delim == 0) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    delim = ext == ".csv" ? ',' : '\t';
  }
  const fs::path dir = fs::path(path).parent_path();
  std::vector<AudioTextRow> rows;
  std::map<std::string, size_t> col;
  std::vector<std::string> header;
  std::string line;
  int64_t lineno = 0;
  auto find_col = [&](std::initializer_list<const char*> names) -> int {
    for (const char* n : names)
      if (col.count(n)) return static_cast<int>(col[n]);
    return -1;
  };
  int c_audio = -1, c_text = -1, c_id = -1, c_spk = -1, c_src = -1;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineno == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line = line.substr(3);
    std::string where = fmt::format("{}:{}", path, lineno);
    if (header.empty()) {
      header = delim == ',' ? split_csv_line(line, delim, where) : split_plain(line, delim);
      for (size_t i = 0; i < header.size(); ++i) {
        std::string h = header[i];
        std::transform(h.begin(), h.end(), h.begin(), ::tolower);
        col.emplace(h, i);
      }
      c_audio =
          find_col({"path", "audio", "file", "filename", "audio_filepath", "wav", "file_name"});
      c_text = find_col(
          {"sentence", "tgt_text", "text", "transcript", "transcription", "sentence_text"});
      c_id = find_col({"id"});
      c_spk = find_col({"client_id", "speaker", "speaker_id"});
      c_src = find_col({"src_text"});
      TRELLIS_CHECK(c_audio >= 0 && c_text >= 0, DataError,
                    "{}: header needs an audio column (path, file, filename, audio) and a text "
                    "column (sentence, text, transcript); found: {}",
                    where, fmt::join(header, ", "));
      continue;
    }
    if (line.empty()) continue;
    auto f = delim == ',' ? split_csv_line(line, delim, where) : split_plain(line, delim);
    TRELLIS_CHECK(f.size() == header.size(), DataError, "{}: expected {} fields, found {}{}", where,
                  header.size(), f.size(), delim == '\t' ? " (tab-separated, no quoting)" : "");
    AudioTextRow r;
    r.line = lineno;
    const std::string& a = f[static_cast<size_t>(c_audio)];
    TRELLIS_CHECK(!a.empty(), DataError, "{}: empty audio path", where);
    r.audio = resolve_clip(a, dir, clips_dir);
    r.text = f[static_cast<size_t>(c_text)];
    r.id = c_id >= 0 ? f[static_cast<size_t>(c_id)] : fs::path(a).stem().string();
    if (c_spk >= 0) r.speaker = f[static_cast<size_t>(c_spk)];
    if (c_src >= 0) r.src_text = f[static_cast<size_t>(c_src)];
    rows.push_back(std::move(r));
  }
  TRELLIS_CHECK(!header.empty(), DataError, "{}: empty file (no header)", path);
  return rows;
}

}  // namespace trellis
